"""docker-compose.yml: valid, wired the way the workshop needs, and every server it declares works.

No Docker engine is needed: each stage service's own command and environment run here as real
processes (the image's venv is this venv; the compose Redis is a local redis-server), from a
directory laid out like the container's working directory.
"""

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import websockets
import yaml  # PyYAML, installed with mkdocs (docs group)
from chat_client import keep_talking, socket_path
from servers import free_port, port_is_closed, wait_until
from stages import GENERATED, ROOT, STAGES

pytestmark = pytest.mark.slow  # see pyproject: `uv run pytest -m slow`

IN_CI = os.environ.get("CI", "").lower() == "true"
COMPOSE_FILE = ROOT / "docker-compose.yml"
STAGE_PORTS = {f"part{i}": (stage, 8000 + i) for i, stage in enumerate(STAGES, start=1)}
SCALE_PORTS = {"part3-scale-a": 8031, "part3-scale-b": 8032}


@pytest.fixture(scope="module")
def compose():
    # ${VAR:-default} read as compose reads it with VAR unset.
    return yaml.safe_load(re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", COMPOSE_FILE.read_text()))


def compose_command():
    """The compose CLI available here: Compose v2 (`docker compose`) or Debian's docker-compose."""
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_cli_accepts_the_file():
    cli = compose_command()
    if cli is None:
        message = "needs docker-compose: apt-get install docker-compose (or Docker Compose v2)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    profiles = ["--profile", "scale", "--profile", "tests"]
    result = subprocess.run(
        [*cli, "-f", str(COMPOSE_FILE), *profiles, "config", "-q"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


def stage_of(service):
    """The stage folder a service serves, read from its `.../manage.py` argument."""
    script = next(arg for arg in service["command"] if arg.endswith("/manage.py"))
    return script.split("/")[0]


def assert_stage_service(service, stage, host_port):
    assert service["command"] == [
        "uv",
        "run",
        "python",
        f"{stage}/manage.py",
        "runserver",
        "0.0.0.0:8000",
    ]
    assert service["ports"] == [f"{host_port}:8000"]
    assert service["depends_on"] == {"redis": {"condition": "service_healthy"}}
    env = service["environment"]
    assert urlsplit(env["REDIS_URL"]).hostname == "redis"
    assert {"localhost", "127.0.0.1"} <= set(env["DJANGO_ALLOWED_HOSTS"].split())
    assert service["working_dir"] == "/app"
    # Docker's init as PID 1 passes `docker compose stop`'s SIGTERM to the command (see below).
    assert service["init"] is True


def test_compose_wires_redis_stages_scaling_and_tests(compose):
    services = compose["services"]
    redis = services["redis"]
    assert redis["image"].startswith("redis:7")
    assert "redis-cli" in redis["healthcheck"]["test"]
    assert "profiles" not in redis
    assert "127.0.0.1:6379:6379" in redis["ports"]  # for stages run on the host with uv

    for name, (stage, port) in STAGE_PORTS.items():
        service = services[name]
        assert_stage_service(service, stage, port)
        assert "profiles" not in service
        # Edits on the host must reach the container: the stage folder is mounted in place.
        assert f"./{stage}:/app/{stage}" in service["volumes"]

    for name, port in SCALE_PORTS.items():
        service = services[name]
        assert_stage_service(service, "part3_async", port)
        assert service["profiles"] == ["scale"]

    tests = services["tests"]
    assert tests["profiles"] == ["tests"]
    assert tests["command"] == ["uv", "run", "pytest"]
    assert tests["environment"]["CI"] == "true"
    assert tests["init"] is True


def test_dockerfile_uses_the_shared_install_script_and_keeps_the_venv_out_of_app():
    dockerfile = (ROOT / "Dockerfile").read_text()
    base = next(line for line in dockerfile.splitlines() if line.startswith("FROM "))
    assert base.split()[1].startswith(("python:3.11-slim", "python:3.12-slim"))
    assert "bash tools/install-system-deps.sh" in dockerfile
    assert "uv sync --frozen" in dockerfile
    assert "UV_PROJECT_ENVIRONMENT=/opt/venv" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and "**/db.sqlite3" in ignored


class LocalService:
    """A compose service run here as a real process, laid out like its container.

    Bind-mounted folders are copied to their container paths under a temporary /app; a service
    with no mount gets the stage folder the image holds. 0.0.0.0:8000 becomes a free loopback
    port and the compose Redis the local redis-server. With as_compose_runs_it the command runs
    as written (`uv run`, on this venv as the image's); otherwise `uv run python` becomes this
    venv's python with --noreload, which serves the same at half the startup CPU.
    """

    def __init__(self, name, service, redis_url, as_compose_runs_it=False):
        self.name = name
        self.service = service
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.ws_base = f"ws://localhost:{self.port}"
        self.origin = f"http://localhost:{self.port}"
        self.redis_url = redis_url
        self.as_compose_runs_it = as_compose_runs_it
        self.proc = None

    def start(self):
        self.tmp = Path(tempfile.mkdtemp(prefix=f"compose-{self.name}-"))
        workdir = self.tmp / self.service["working_dir"].lstrip("/")
        mounts = [v.split(":")[:2] for v in self.service.get("volumes", [])]
        if not mounts:
            stage = stage_of(self.service)
            mounts = [(f"./{stage}", f"/app/{stage}")]
        for source, target in mounts:
            shutil.copytree(
                ROOT / source,
                self.tmp / target.lstrip("/"),
                ignore=shutil.ignore_patterns(*GENERATED),
            )

        command = list(self.service["command"])
        assert command[:3] == ["uv", "run", "python"]
        command[command.index("0.0.0.0:8000")] = f"127.0.0.1:{self.port}"
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("REDIS_URL", "DJANGO_ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE")
        }
        if self.as_compose_runs_it:
            # `uv run` and the autoreloader, as in the container: the project files beside the
            # stage, this venv as the image's (UV_PROJECT_ENVIRONMENT), and never a sync.
            for name in ("pyproject.toml", "uv.lock"):
                shutil.copy(ROOT / name, workdir / name)
            command[0] = shutil.which("uv")
            env.update(UV_PROJECT_ENVIRONMENT=sys.prefix, UV_NO_SYNC="1", UV_OFFLINE="1")
        else:
            command = [sys.executable, *command[3:], "--noreload"]
        env.update(self.service["environment"])
        compose_redis = urlsplit(env["REDIS_URL"])
        local = urlsplit(self.redis_url)
        env["REDIS_URL"] = urlunsplit(compose_redis._replace(netloc=local.netloc))
        env["PYTHONUNBUFFERED"] = "1"

        self.log_path = self.tmp / "server.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            command,
            cwd=workdir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def get(self, path, host="localhost"):
        request = urllib.request.Request(self.base + path, headers={"Host": f"{host}:{self.port}"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def wait_ready(self, timeout=90):
        def serves():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_path.read_text()}")
            try:
                return self.get("/chat/") == 200
            except OSError:
                return False

        wait_until(serves, timeout, f"{self.name} on port {self.port}")

    def stop(self):
        """The whole process group: SIGTERM, then SIGKILL for anything left after 5 s."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        if self.proc:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self._log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture
def local_services(request, compose, redis_url):
    """The services named by the test's parameter, started together, each test its own."""
    running = {}
    try:
        for name in request.param:
            running[name] = LocalService(name, compose["services"][name], redis_url).start()
        for service in running.values():
            service.wait_ready()
        yield running
    finally:
        for service in running.values():
            service.stop()


@pytest.mark.parametrize("local_services", [list(SCALE_PORTS)], indirect=True, ids=["scale"])
async def test_scaling_example_shares_rooms_through_redis(local_services):
    a, b = local_services["part3-scale-a"], local_services["part3-scale-b"]
    room = f"scale{os.getpid()}"
    async with (
        websockets.connect(f"{a.ws_base}/ws/chat/{room}/", origin=a.origin) as on_a,
        websockets.connect(f"{b.ws_base}/ws/chat/{room}/", origin=b.origin) as on_b,
    ):
        await on_a.send(json.dumps({"message": "from a"}))
        assert json.loads(await asyncio.wait_for(on_b.recv(), 10)) == {"message": "from a"}
        await on_b.send(json.dumps({"message": "from b"}))
        assert json.loads(await asyncio.wait_for(on_a.recv(), 10)) == {"message": "from a"}
        assert json.loads(await asyncio.wait_for(on_a.recv(), 10)) == {"message": "from b"}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", list(STAGE_PORTS))
async def test_stage_service_serves_the_host_and_stops_when_docker_signals_it(
    compose, redis_url, name
):
    """The service run as compose runs it (its own `uv run` command, autoreloader on).

    A browser on the host gets in, and nothing else does. Then `docker compose stop` with people
    chatting: Docker's init (PID 1, `init: true`) sends SIGTERM to the command's own process,
    `uv run`, and to nothing else; the whole server must be gone within 5 s, well inside the
    10 s Docker waits before it kills."""
    if shutil.which("uv") is None:
        message = "needs uv on PATH: https://docs.astral.sh/uv/"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    server = LocalService(name, compose["services"][name], redis_url, as_compose_runs_it=True)
    server.start()
    try:
        server.wait_ready()
        assert server.get("/chat/") == 200
        assert server.get("/chat/lobby/") == 200
        # DJANGO_ALLOWED_HOSTS is what lets the host's browser in, and nothing else.
        assert server.get("/chat/", host="evil.example") == 400
        room = socket_path(f"compose {name}")
        async with websockets.connect(server.ws_base + room, origin=server.origin) as ws:
            await ws.send(json.dumps({"message": f"hello from {name}"}))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert reply == {"message": f"hello from {name}"}
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            async with websockets.connect(server.ws_base + room, origin="http://evil.example"):
                pass
        assert refused.value.response.status_code == 403

        sockets = [
            await websockets.connect(server.ws_base + room, origin=server.origin, proxy=None)
            for _ in range(5)
        ]
        received = dict.fromkeys(sockets, 0)
        talkers = [asyncio.create_task(keep_talking(ws, received)) for ws in sockets]
        while min(received.values()) < 5:
            await asyncio.sleep(0.02)
        started = time.monotonic()
        os.kill(server.proc.pid, signal.SIGTERM)  # uv's pid only, as Docker's init sends it
        while server.proc.poll() is None and time.monotonic() - started < 6:
            await asyncio.sleep(0.02)
        took = time.monotonic() - started
        await asyncio.wait_for(asyncio.gather(*talkers), 10)
        print(f"\n{name}: `uv run` exited {server.proc.returncode} {took:.2f} s after SIGTERM")
        assert server.proc.returncode is not None, f"still running {took:.0f} s after SIGTERM"
        assert took < 5
        assert port_is_closed(server.port), "a server process outlived `uv run`"
    finally:
        server.stop()
