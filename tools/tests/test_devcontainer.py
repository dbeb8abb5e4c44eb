""".devcontainer/: a laptop that cannot install anything opens the repository in a dev container
(VS Code, GitHub Codespaces). Its configuration names only what the repository has, and a stage
accepts the host name and origin Codespaces forwards when DJANGO_ALLOWED_HOSTS is set as the
container sets it."""

import json
import re
import shlex
import shutil
import subprocess
import time

import doctor
import pytest
import redis
import websockets
from chat_client import connect_via, http_get, recv_json, say
from conftest import missing
from servers import StageServer, free_port, redis_answers
from stages import ROOT, STAGES

# One worker: the module's server (or clone) is started once.
pytestmark = pytest.mark.xdist_group("devcontainer")
FOLDER = ROOT / ".devcontainer"
INSTALL_SCRIPT = ROOT / "tools" / "install-system-deps.sh"
FORWARDED = "x-8000.app.github.dev"  # <codespace name>-<port>.app.github.dev


def load_jsonc(path):
    """devcontainer.json allows // comments; this file keeps them on their own lines."""
    text = "\n".join(
        line for line in path.read_text().splitlines() if not line.lstrip().startswith("//")
    )
    return json.loads(text)


@pytest.fixture(scope="module")
def config():
    return load_jsonc(FOLDER / "devcontainer.json")


def installed_by_the_image(program):
    """The dev container's Dockerfile runs tools/install-system-deps.sh: what it installs."""
    script = INSTALL_SCRIPT.read_text()
    return f"command -v {program} " in script


def test_the_image_is_built_from_files_the_repository_has(config):
    build = config["build"]
    dockerfile = FOLDER / build["dockerfile"]
    context = (FOLDER / build["context"]).resolve()
    assert dockerfile.is_file() and context == ROOT
    text = dockerfile.read_text()
    for source in re.findall(r"^COPY\s+(\S+)\s+\S+", text, re.M):
        assert (context / source).exists(), f"{dockerfile.name} copies a missing {source}"
    assert "install-system-deps.sh" in text
    for program in ("uv", "redis-server", "chromium", "chromedriver"):
        assert installed_by_the_image(program), program


def test_post_create_command_installs_the_locked_environment(config):
    command = shlex.split(config["postCreateCommand"])
    assert command[:2] == ["uv", "sync"] and "--frozen" in command
    assert installed_by_the_image("uv")
    assert (ROOT / "pyproject.toml").is_file() and (ROOT / "uv.lock").is_file()
    dry = subprocess.run(
        [shutil.which("uv"), *command[1:], "--dry-run"], cwd=ROOT, capture_output=True, text=True
    )
    assert dry.returncode == 0, dry.stderr


@pytest.mark.redis
def test_post_start_command_starts_redis(config):
    command = shlex.split(config["postStartCommand"])
    assert command[0] == "redis-server" and installed_by_the_image("redis-server")
    if shutil.which("redis-server") is None:
        missing("redis")
    # The container's own command, on a free port instead of 6379 (which may be taken here).
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    subprocess.run([*command, "--port", str(port), "--bind", "127.0.0.1"], check=True)
    try:
        deadline = time.monotonic() + 10
        while not redis_answers(url, timeout=0.5) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert redis_answers(url)
        # redis.env (REDIS_URL=redis://localhost:6379/0) reaches it at the default port.
        assert "6379" not in command
    finally:
        with redis.Redis.from_url(url, socket_timeout=2) as r:
            r.shutdown(nosave=True)  # quiet when it never started


def test_every_stage_port_is_forwarded_and_labelled(config):
    ports = config["forwardPorts"]
    assert ports == doctor.DEFAULT_PORTS  # runserver's 8000, then one port per stage
    attributes = config["portsAttributes"]
    assert sorted(int(p) for p in attributes) == ports
    assert attributes["8000"]["label"].startswith("runserver")
    compose = doctor.compose_ports()
    for number, stage in enumerate(STAGES, start=1):
        port = 8000 + number
        assert attributes[str(port)]["label"] == f"{stage} (runserver {port})"
        assert (ROOT / stage / "manage.py").is_file()
        assert compose[port] == f"part{number}"  # the same port docker compose gives it


def test_container_env_allows_the_forwarded_host_names(config):
    hosts = config["containerEnv"]["DJANGO_ALLOWED_HOSTS"].split()
    assert {"localhost", "127.0.0.1", ".app.github.dev"} <= set(hosts)


@pytest.fixture(scope="module")
def stage_in_container(config):
    env = {"DJANGO_ALLOWED_HOSTS": config["containerEnv"]["DJANGO_ALLOWED_HOSTS"]}
    server = StageServer("part3_async", extra_env=env).start()
    yield server
    server.stop()


def get(server, host):
    return http_get(server, "/chat/lobby/", headers={"Host": host}, timeout=5)[0]


def codespaces_socket(server, origin):
    """A WebSocket to the stage whose URL (so Host) is the forwarded name; traffic to 127.0.0.1."""
    return connect_via("127.0.0.1", server.port, FORWARDED, "/ws/chat/lobby/", origin=origin)


async def test_a_stage_serves_the_codespaces_host_and_origin(stage_in_container):
    server = stage_in_container
    assert get(server, FORWARDED) == 200
    assert get(server, f"127.0.0.1:{server.port}") == 200  # VS Code's own forward: localhost
    assert get(server, "x-8000.app.github.dev.evil.example") == 400
    async with codespaces_socket(server, f"https://{FORWARDED}") as ws:
        await say(ws, "from a codespace")
        assert await recv_json(ws) == {"message": "from a codespace"}


async def test_an_origin_outside_app_github_dev_is_refused(stage_in_container):
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with codespaces_socket(stage_in_container, "https://app.github.dev.evil.example"):
            pass
    assert refused.value.response.status_code == 403
