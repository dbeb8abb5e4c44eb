"""tools/offline_kit.py: the kit for this platform installs the tutorial with no network at all
(empty uv cache, every connection refused, --offline) and part1 serves a page and an echo.

Slow (it downloads this platform's wheels from PyPI once, then pip's cache serves them, and
builds the docs): run with `uv run pytest -m slow`.
"""

import os
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import websockets
from chat_client import recv_json, say
from servers import free_port, wait_until
from stages import ROOT

pytestmark = pytest.mark.slow

KIT_TOOL = ROOT / "tools" / "offline_kit.py"


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and the repository's history (the kit holds a git archive)")
    out = tmp_path_factory.mktemp("kit") / "kit"
    done = subprocess.run(
        [sys.executable, str(KIT_TOOL), "--platforms", "this", "--pythons", "this", str(out)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    print(done.stdout)
    return out


def this_key():
    sys.path.insert(0, str(ROOT / "tools"))
    import offline_kit

    return offline_kit.this_platform()


def test_the_kit_holds_what_its_readme_names(kit):
    key = this_key()
    uv = kit / "uv" / key / ("uv.exe" if key.startswith("windows") else "uv")
    assert os.access(uv, os.X_OK)
    assert any(kit.glob("wheels/django-5.2.*.whl")) and not any(kit.glob("wheels/*.tar.gz"))
    assert "--hash=sha256:" in (kit / "requirements.txt").read_text()
    assert (kit / "docs-site" / "index.html").is_file()
    with zipfile.ZipFile(kit / "repo.zip") as repo:
        assert "channels-chat-tutorial/part1_echo/manage.py" in repo.namelist()
    english, korean = (kit / "README.md").read_text(), (kit / "README.ko.md").read_text()
    for readme in (english, korean):
        assert f"KIT/uv/{key}/uv" in readme or f"KIT\\uv\\{key}\\uv.exe" in readme
        assert "pip install --offline --no-index -f KIT" in readme
    assert "오프라인" in korean


def closed_port_url():
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="module")
def installed(kit, tmp_path_factory):
    """The README's steps in a fresh folder: no uv cache, no uv config, every connection
    refused (the proxies are a closed loopback port), --offline."""
    home = tmp_path_factory.mktemp("laptop")
    with zipfile.ZipFile(kit / "repo.zip") as repo:
        repo.extractall(home)
    project = home / "channels-chat-tutorial"
    uv = home / "uv"
    shutil.copy(kit / "uv" / this_key() / "uv", uv)
    uv.chmod(0o755)
    nowhere = closed_port_url()
    python_dir = str(Path(sys.base_prefix) / "bin")  # "Python installed beforehand"
    env = {
        "PATH": os.pathsep.join([python_dir, "/usr/bin", "/bin"]),
        "HOME": str(home),
        "UV_CACHE_DIR": str(home / "empty-cache"),
        "UV_NO_CONFIG": "1",
        "HTTP_PROXY": nowhere,
        "HTTPS_PROXY": nowhere,
        "ALL_PROXY": nowhere,
    }
    # The index itself unreachable too while installing. Not for `uv run`: another index than
    # the lock's reads to uv as a changed project, so it would resolve again (a laptop has none).
    install_env = {**env, "UV_INDEX_URL": f"{nowhere}/simple"}

    def run(*args, check=True, env=env):
        done = subprocess.run(
            [str(uv), *args], cwd=project, env=env, capture_output=True, text=True, timeout=300
        )
        if check:
            assert done.returncode == 0, done.stdout + done.stderr
        return done

    run("venv", "--offline", "--no-python-downloads", env=install_env)
    requirements = str(kit / "requirements.txt")
    wheels = str(kit / "wheels")
    run(
        "pip",
        "install",
        "--offline",
        "--no-index",
        "-f",
        wheels,
        "-r",
        requirements,
        env=install_env,
    )
    assert not any((home / "empty-cache").rglob("*.whl.part"))
    return project, env, run


def test_the_installed_environment_is_exactly_the_lock(installed):
    _, _, run = installed
    # The repository's own doctor compares every package with uv.lock, markers and all.
    done = run("run", "--offline", "python", "tools/doctor.py", "--only", "env", "--lang", "en")
    assert "✓ project environment matches uv.lock" in done.stdout, done.stdout


def test_the_network_really_is_out_of_reach(installed):
    """The control: the same setup cannot fetch a package that the kit does not hold."""
    _, env, run = installed
    done = run("pip", "install", "six", check=False, env={**env, "UV_HTTP_RETRIES": "0"})
    assert done.returncode != 0
    assert "Connection refused" in done.stderr, done.stderr


async def test_the_echo_stage_serves_a_page_and_an_echo_from_the_kit(installed):
    project, env, _ = installed
    port = free_port()
    uv = project.parent / "uv"
    server = subprocess.Popen(
        [str(uv), "run", "--offline", "python", "part1_echo/manage.py", "runserver"]
        + [f"127.0.0.1:{port}", "--noreload"],
        cwd=project,
        env={**env, "NO_PROXY": "127.0.0.1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        import urllib.request

        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

        def page():
            assert server.poll() is None, "part1 exited"
            try:
                with opener.open(f"http://127.0.0.1:{port}/chat/lobby/", timeout=1) as r:
                    return r.status == 200 and b'id="chat-log"' in r.read()
            except OSError:
                return False

        wait_until(page, 60, "part1 served from the kit's environment")
        url = f"ws://127.0.0.1:{port}/ws/chat/lobby/"
        async with websockets.connect(url, origin=f"http://127.0.0.1:{port}", proxy=None) as ws:
            await say(ws, "오프라인 echo")
            assert await recv_json(ws) == {"message": "오프라인 echo"}
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)
