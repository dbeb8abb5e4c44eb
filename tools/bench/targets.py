"""The servers the benchmark compares: stage copies under daphne or uvicorn, and the bare server.

Each stage server runs from its own copy of the stage folder. Layer choices other than the stage's
own are made by a settings module written into the copy (mysite/bench_settings.py), which imports
the stage's settings and overrides CHANNEL_LAYERS; the "before the change" targets also restore
Channels' own dispatch in the copy's consumer. The stage folders themselves are never touched.
"""

import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from servers import StageServer, free_port, wait_until
from stages import GENERATED, ROOT

BENCH_SETTINGS = '''\
"""Benchmark-only overrides, written into a copy of the stage by tools/bench/targets.py."""
import os

from mysite.settings import *  # noqa: F403

_layer = os.environ["BENCH_LAYER"]
# The stage's own capacity unless a target asks for another one.
_stage_capacity = CHANNEL_LAYERS["default"].get("CONFIG", {}).get("capacity", 100)  # noqa: F405
_capacity = int(os.environ.get("BENCH_CAPACITY") or _stage_capacity)
if _layer == "memory":
    CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels.layers.InMemoryChannelLayer",
        "CONFIG": {"capacity": _capacity},
    }}
elif _layer == "redis":
    CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [{"address": os.environ["REDIS_URL"], "socket_timeout": 15}],
            "capacity": _capacity,
        },
    }}
elif _layer == "pubsub":
    CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [{"address": os.environ["REDIS_URL"], "socket_timeout": 15}]},
    }}
else:
    raise ValueError(f"unknown BENCH_LAYER {_layer!r}")
'''


# Undoes the change shipped in part3 (see docs/benchmark.md), in a copy: without ChatConsumer's own
# dispatch, AsyncConsumer.dispatch runs again, which (channels 4.2+) awaits aclose_old_connections()
# before every handler, a hop through the one sync thread for each message in and delivery out.
CHANNELS_DISPATCH_PATCH = """

del ChatConsumer.dispatch  # benchmark: Channels' own dispatch, with its sync-thread hop
"""


def copy_stage(stage, parent, channels_dispatch=False):
    """Copy a stage folder (without generated files) into parent and add the bench settings."""
    workdir = Path(parent) / stage
    shutil.copytree(ROOT / stage, workdir, ignore=shutil.ignore_patterns(*GENERATED))
    (workdir / "mysite" / "bench_settings.py").write_text(BENCH_SETTINGS)
    if channels_dispatch:
        consumers = workdir / "chat" / "consumers.py"
        if "async def dispatch" not in consumers.read_text():
            raise ValueError(f"{stage}'s ChatConsumer has no dispatch of its own to remove")
        with open(consumers, "a") as f:
            f.write(CHANNELS_DISPATCH_PATCH)
    return workdir


class UvicornStageServer(StageServer):
    """The same stage copy, served by uvicorn (uvloop + httptools) instead of daphne's runserver."""

    workers = 1

    def command(self):
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "mysite.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-access-log",
            "--log-level",
            "warning",
            "--workers",
            str(self.workers),
        ]


class BareServer:
    """tools/bench/bare_server.py as its own process."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.origin = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def _listens(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"bare server exited with {self.proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def start(self, timeout=15):
        script = Path(__file__).with_name("bare_server.py")
        self.proc = subprocess.Popen(
            [sys.executable, str(script), "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(self._listens, timeout, f"bare server on port {self.port}")
        return self

    def log(self):
        return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def make_server(target, redis_url, parent=None):
    """A not-yet-started server for a target dict (server, stage, layer, capacity,
    channels_dispatch)."""
    if target["server"] == "bare":
        return BareServer()
    parent = parent or tempfile.mkdtemp(prefix="bench-")
    workdir = copy_stage(
        target["stage"],
        Path(parent) / target["name"],
        channels_dispatch=target.get("channels_dispatch", False),
    )
    env = {}
    layer, capacity = target["layer"], target.get("capacity")
    # The stage's own settings already give memory, or Redis core when REDIS_URL is set.
    if layer == "pubsub" or capacity is not None:
        env = {"DJANGO_SETTINGS_MODULE": "mysite.bench_settings", "BENCH_LAYER": layer}
        if capacity is not None:
            env["BENCH_CAPACITY"] = str(capacity)
    url = redis_url if layer in ("redis", "pubsub") else None
    cls = UvicornStageServer if target["server"] == "uvicorn" else StageServer
    server = cls(target["stage"], redis_url=url, workdir=workdir, extra_env=env)
    server.workers = target.get("workers", 1)
    return server
