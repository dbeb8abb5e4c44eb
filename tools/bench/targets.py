"""The servers the benchmark compares: stage copies under daphne or uvicorn, and the bare server.

Each stage server runs from its own copy of the stage folder, as the stage ships. A target's
`tuning` applies the diffs in tools/bench/tuning/ to the copy (the same diffs docs/benchmark.md
shows a reader), and the pub/sub layer is chosen by a settings module written into the copy
(mysite/bench_settings.py). The stage folders themselves are never touched.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import stages
from servers import OWN_GROUP, StageServer, end_group, free_port, listens, wait_until
from unified_diff import apply_to_folder

TUNING_DIR = Path(__file__).resolve().parent / "tuning"
# In the order they are applied: each is a unified diff against part3_async, from the repo root.
TUNING = {"dispatch": TUNING_DIR / "dispatch.diff", "capacity": TUNING_DIR / "capacity.diff"}

PUBSUB_SETTINGS = '''\
"""Benchmark only, written into a copy by tools/bench/targets.py: the pub/sub layer."""
import os

from mysite.settings import *  # noqa: F403

CHANNEL_LAYERS = {"default": {
    "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
    "CONFIG": {"hosts": [{"address": os.environ["REDIS_URL"], "socket_timeout": 15}]},
}}
'''


def tuned_copy(stage, parent, tuning=()):
    """Copy a stage folder (without generated files), add the bench settings, apply tuning."""
    workdir = Path(parent) / stage
    stages.copy_stage(stage, workdir)
    (workdir / "mysite" / "bench_settings.py").write_text(PUBSUB_SETTINGS)
    for name in TUNING:  # always in the same order, whatever order the target lists them
        if name in tuning:
            apply_to_folder(TUNING[name].read_text(), workdir, stage, TUNING[name].name)
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
        return listens(self.port)

    def start(self, timeout=15):
        script = Path(__file__).with_name("bare_server.py")
        self.proc = subprocess.Popen(
            [sys.executable, str(script), "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            **OWN_GROUP,
        )
        wait_until(self._listens, timeout, f"bare server on port {self.port}")
        return self

    def log(self):
        return ""

    def stop(self):
        end_group(self.proc)


def make_server(target, redis_url, parent=None):
    """A not-yet-started server for a target dict (server, stage, layer, tuning, workers)."""
    if target["server"] == "bare":
        return BareServer()
    parent = parent or tempfile.mkdtemp(prefix="bench-")
    workdir = tuned_copy(
        target["stage"], Path(parent) / target["name"], tuning=target.get("tuning", ())
    )
    layer = target["layer"]
    # The stage's own settings give the in-memory layer, or Redis core when REDIS_URL is set.
    env = {"DJANGO_SETTINGS_MODULE": "mysite.bench_settings"} if layer == "pubsub" else {}
    url = redis_url if layer in ("redis", "pubsub") else None
    cls = UvicornStageServer if target["server"] == "uvicorn" else StageServer
    server = cls(target["stage"], redis_url=url, workdir=workdir, extra_env=env)
    server.workers = target.get("workers", 1)
    return server
