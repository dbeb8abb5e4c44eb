"""docker-compose.yml: valid, wired the way the workshop needs, and every server it declares works.

No Docker engine is needed: each stage service's own command and environment run here as real
processes (the image's venv is this venv; the compose Redis is a local redis-server), from a
directory laid out like the container's working directory.
"""

import asyncio
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import compose_smoke
import pytest
import redis
import websockets
import yaml  # PyYAML, installed with mkdocs (docs group)
from chat_client import connect, http_get, keep_talking, socket_path
from conftest import missing
from servers import StageServer, listens
from stages import ROOT, STAGES, copy_stage

pytestmark = pytest.mark.slow  # see pyproject: `uv run pytest -m slow`

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
        missing("docker-compose")
    profiles = ["--profile", "scale", "--profile", "tests", "--profile", "learner"]
    result = subprocess.run(
        [*cli, "-f", str(COMPOSE_FILE), *profiles, "config", "-q"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


def stage_of(service):
    """The stage folder a service serves: its working directory, /app/STAGE."""
    return service["working_dir"].removeprefix("/app/")


SERVE = [
    "sh",
    "-c",
    "python manage.py migrate --noinput && exec python manage.py runserver 0.0.0.0:8000",
]


def assert_stage_service(service, stage, host_port):
    # The slim stage image: its venv's python on PATH, no uv.
    assert service["build"] == {"context": ".", "target": "stage"}
    assert service["image"] == "channels-chat-tutorial:latest"
    # The learner's two commands: migrate (the stage's tables, so a stale sessionid cookie or
    # part4's history finds them), then runserver.
    assert service["command"] == SERVE
    assert service["ports"] == [f"{host_port}:8000"]
    assert service["depends_on"] == {"redis": {"condition": "service_healthy"}}
    env = service["environment"]
    assert urlsplit(env["REDIS_URL"]).hostname == "redis"
    assert {"localhost", "127.0.0.1"} <= set(env["DJANGO_ALLOWED_HOSTS"].split())
    # Its own folder, so the server runs as that folder's owner (tools/run-as-owner.sh).
    assert service["working_dir"] == f"/app/{stage}"
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
    assert "REDIS_URL" not in tests["environment"]  # the tests start their own redis-server

    learner = services["learner"]
    assert learner["profiles"] == ["learner"]
    assert learner["command"] == ["bash"]
    assert urlsplit(learner["environment"]["REDIS_URL"]).hostname == "redis"
    assert learner["depends_on"] == {"redis": {"condition": "service_healthy"}}
    assert learner["ports"] == ["8000:8000"]  # runserver's default port, with --service-ports
    for service in (tests, learner):
        assert service["build"] == {"context": ".", "target": "tests"}
        assert service["image"] == "channels-chat-tutorial-tests:latest"
        assert service["volumes"] == [".:/app"] and service["working_dir"] == "/app"
        assert service["init"] is True


class ComposeService(StageServer):
    """A compose service run here as a real process, laid out like its container.

    Bind-mounted folders are copied to their container paths under a temporary /app; a service
    with no mount gets the stage folder the image holds. Its command runs as written, with this
    venv's python as the image's venv python and a free loopback port for 0.0.0.0:8000; its
    environment too, with the local redis-server as the compose Redis. Clients come as the host's
    browser does, to localhost. With as_compose_runs_it the autoreloader is on, as in compose;
    otherwise --noreload, which serves the same at half the startup CPU.
    """

    def __init__(self, name, service, redis_url, as_compose_runs_it=False):
        env = dict(service["environment"])
        compose_redis = urlsplit(env["REDIS_URL"])
        env["REDIS_URL"] = urlunsplit(compose_redis._replace(netloc=urlsplit(redis_url).netloc))
        super().__init__(stage_of(service), extra_env=env, reload=as_compose_runs_it, name=name)
        self.service = service
        self.base_url = self.origin = f"http://localhost:{self.port}"
        self.ws_url = f"ws://localhost:{self.port}"

    def launch(self):
        if self.workdir is None:
            self._tmp = tempfile.mkdtemp(prefix=f"compose-{self.name}-")
            app = Path(self._tmp)
            mounts = [v.split(":")[:2] for v in self.service.get("volumes", [])]
            for source, target in mounts or [(f"./{self.stage}", f"/app/{self.stage}")]:
                copy_stage(source, app / target.lstrip("/"))
            self.workdir = app / self.service["working_dir"].lstrip("/")
        return super().launch()

    def migrate_command(self):
        return None  # the command migrates first, as compose runs it

    def command(self):
        shell, flag, script = self.service["command"]
        assert [shell, flag, script] == SERVE
        migrate, serve = (shlex.split(part) for part in script.split(" && exec "))
        migrate[0] = serve[0] = sys.executable
        serve[serve.index("0.0.0.0:8000")] = f"127.0.0.1:{self.port}"
        if not self.reload:
            serve.append("--noreload")
        return [shell, flag, f"{shlex.join(migrate)} && exec {shlex.join(serve)}"]

    def status(self, path, host="localhost"):
        return http_get(self, path, headers={"Host": f"{host}:{self.port}"})[0]


@pytest.fixture
def local_services(request, compose, redis_url):
    """The services named by the test's parameter, started together, each test its own."""
    running = {}
    try:
        for name in request.param:
            running[name] = ComposeService(name, compose["services"][name], redis_url).launch()
        for service in running.values():
            service.wait_ready(90)
        yield running
    finally:
        for service in running.values():
            service.stop()


@pytest.mark.parametrize("local_services", [list(SCALE_PORTS)], indirect=True, ids=["scale"])
async def test_scaling_example_shares_rooms_through_redis(local_services):
    """What tools/compose_smoke.py --scale checks against `docker compose --profile scale up`."""
    a, b = local_services["part3-scale-a"], local_services["part3-scale-b"]
    assert await compose_smoke.check_scale(a, b) == (
        True,
        "a message sent on either server reached the socket on the other",
    )


async def test_the_smoke_check_fails_a_stage_that_broadcasts_without_the_compose_redis(
    stage_servers, redis_url
):
    """A part2 on the in-memory layer broadcasts, but not through Redis: compose_smoke says so."""
    server = stage_servers("part2_groups", "memory")
    client = redis.Redis.from_url(redis_url)
    try:
        ok, seen = await compose_smoke.check_stage("part2_groups", server, client)
    finally:
        client.close()
    assert (ok, seen.split(":")[0]) == (False, "no new group appeared in Redis")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", list(STAGE_PORTS))
async def test_stage_service_serves_the_host_and_stops_when_docker_signals_it(
    compose, redis_url, name
):
    """The service run as compose runs it (its own command, autoreloader on).

    A browser on the host gets in, and nothing else does. Then `docker compose stop` with people
    chatting: Docker's init (PID 1, `init: true`) sends SIGTERM to the command's own process,
    the autoreloader's parent, and to nothing else; the whole server must be gone within 5 s,
    well inside the 10 s Docker waits before it kills."""
    server = ComposeService(name, compose["services"][name], redis_url, as_compose_runs_it=True)
    try:
        server.start(timeout=90)
        assert server.status("/chat/") == 200
        assert server.status("/chat/lobby/") == 200
        # DJANGO_ALLOWED_HOSTS is what lets the host's browser in, and nothing else.
        assert server.status("/chat/", host="evil.example") == 400
        # What tools/compose_smoke.py checks on each port `docker compose up` publishes.
        stage = compose_smoke.published()[name][0]
        client = redis.Redis.from_url(redis_url)
        try:
            ok, seen = await compose_smoke.check_stage(stage, server, client)
        finally:
            client.close()
        assert ok, seen
        room = socket_path(f"compose {name}")
        async with connect(server, room) as ws:
            await ws.send(json.dumps({"message": f"hello from {name}"}))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert reply == {"message": f"hello from {name}"}
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            async with connect(server, room, origin="http://evil.example"):
                pass
        assert refused.value.response.status_code == 403

        sockets = [await connect(server, room) for _ in range(5)]
        received = dict.fromkeys(sockets, 0)
        talkers = [asyncio.create_task(keep_talking(ws, received)) for ws in sockets]
        while min(received.values()) < 5:
            await asyncio.sleep(0.02)
        started = time.monotonic()
        os.kill(server.proc.pid, signal.SIGTERM)  # the command's pid only, as Docker's init
        while server.proc.poll() is None and time.monotonic() - started < 6:
            await asyncio.sleep(0.02)
        took = time.monotonic() - started
        await asyncio.wait_for(asyncio.gather(*talkers), 10)
        print(f"\n{name}: runserver exited {server.proc.returncode} {took:.2f} s after SIGTERM")
        assert server.proc.returncode is not None, f"still running {took:.0f} s after SIGTERM"
        assert took < 5
        assert not listens(server.port), "the server child outlived the autoreloader"
    finally:
        server.stop()
