"""tools/offline_kit.py: the kit for this platform, followed as its README and the instructor guide
write it, on a "laptop" with Python and git but no uv, an empty uv cache and every connection
refused: the repository comes from the git bundle, uv lands on the PATH of a new shell, the
packages install from the kit, the notes' commands run as written, part1 serves a page and an
echo, and the guide's reset commands work. The docs site works opened from disk.

Slow (it downloads this platform's wheels from PyPI once, then pip's cache serves them, and
builds the docs): run with `uv run pytest -m slow`.
"""

import html.parser
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import websockets
from chat_client import recv_json, say
from conftest import missing, needs_group
from servers import free_port, wait_until
from stages import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("offline_kit")]

KIT_TOOL = ROOT / "tools" / "offline_kit.py"
WHEELS_BUDGET = 45_000_000  # bytes: a learner's install (runtime + tests), one platform x Python
PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"


def this_key():
    sys.path.insert(0, str(ROOT / "tools"))
    import offline_kit

    return offline_kit.this_platform()


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        missing("git", "and the repository's history: the kit holds a git bundle")
    if os.name == "nt":
        pytest.skip("follows the bash commands of the kit's README (Linux, macOS)")
    needs_group("docs", "mkdocs")
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


def size(folder):
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


def test_the_kit_holds_what_its_readme_names(kit):
    key = this_key()
    assert os.access(kit / "uv" / key / "uv", os.X_OK)
    assert any((kit / "uv" / key).glob("uv-*.whl"))
    assert any(kit.glob("wheels/django-5.2.*.whl")) and not any(kit.glob("wheels/*.tar.gz"))
    assert not any(kit.glob("wheels/mkdocs-*.whl")) and not any(kit.glob("wheels/ruff-*.whl"))
    assert "--hash=sha256:" in (kit / "requirements.txt").read_text()
    assert (kit / "repo.bundle").is_file() and (kit / "repo.zip").is_file()
    english, korean = (kit / "README.md").read_text(), (kit / "README.ko.md").read_text()
    assert f"**For Python {PYTHON} only**" in english and f"**Python {PYTHON} 전용**" in korean
    assert "This kit has no Python" in english and "Python이 들어 있지 않습니다" in korean
    for readme in (english, korean):
        assert (
            f"~/uv-kit tool install --offline --no-index --no-python-downloads -f KIT/uv/{key} uv"
            in readme
        )
        assert f'uv venv --offline --no-python-downloads --python "{PYTHON}"' in readme
        assert "git clone KIT/repo.bundle channels-chat-tutorial" in readme


def test_a_learners_wheels_fit_the_budget(kit):
    wheels = size(kit / "wheels")
    print(f"\nwheels for one platform and Python: {wheels / 1e6:.1f} MB")
    assert wheels <= WHEELS_BUDGET


def code_blocks(markdown):
    return [m.group(1) for m in re.finditer(r"^```\w*\n(.*?)^```$", markdown, re.S | re.M)]


def readme_steps(kit):
    """The README's commands for this platform: (the repository, installing uv, the packages)."""
    readme = (kit / "README.md").read_text()
    key = this_key()
    clone = code_blocks(readme.split("## 1. The repository")[1].split("## 2.")[0])
    section = readme.split(f"(`{key}`)")[1].split("\n### ")[0]
    install_uv, packages = code_blocks(section)
    kit_path = str(kit)
    return [
        block.replace("KIT/", kit_path + "/").splitlines()
        for block in (*clone, install_uv, packages)
    ]


def closed_port_url():
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="module")
def laptop(kit, tmp_path_factory):
    """A home folder with Python and git on PATH, no uv, an empty uv cache, no uv config, and
    every connection refused (the proxies are a closed loopback port)."""
    home = tmp_path_factory.mktemp("laptop")
    nowhere = closed_port_url()
    # "Python installed beforehand", and git: this Python's interpreter and git, nothing else of
    # their folders (pip may have put a uv beside the Python).
    programs = home.parent / "programs"
    programs.mkdir()
    real = Path(sys.base_prefix) / "bin" / f"python{PYTHON}"
    for name in (f"python{PYTHON}", "python3", "python"):
        (programs / name).symlink_to(real)
    (programs / "git").symlink_to(shutil.which("git"))
    env = {
        "PATH": os.pathsep.join([str(programs), "/usr/bin", "/bin"]),
        "HOME": str(home),
        "SHELL": "/bin/bash",
        "UV_CACHE_DIR": str(home / "empty-cache"),
        "UV_NO_CONFIG": "1",
        "HTTP_PROXY": nowhere,
        "HTTPS_PROXY": nowhere,
        "ALL_PROXY": nowhere,
        "NO_PROXY": "127.0.0.1",
        "LANG": "C.UTF-8",
    }
    assert shutil.which("uv", path=env["PATH"]) is None, "the laptop must start without uv"

    def shell(script, cwd, login=True, check=True):
        """bash (-l: a new terminal, reading the startup files `uv tool update-shell` wrote)."""
        done = subprocess.run(
            ["bash", "-l" if login else "--norc", "-c", f"set -e\n{script}"],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if check:
            assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
        return done

    return home, env, shell


@pytest.fixture(scope="module")
def installed(kit, laptop):
    """The README's steps, in order: clone the bundle, install uv, then, in a new shell, the
    packages and the migrations (the last command, runserver, is left to a test)."""
    home, env, shell = laptop
    clone, install_uv, packages = readme_steps(kit)
    shell("\n".join(clone), cwd=home, login=False)
    project = home / "channels-chat-tutorial"
    shell("\n".join(install_uv), cwd=project, login=False)
    assert shell("command -v uv", cwd=project).stdout.strip() == str(home / ".local/bin/uv")
    run_server = packages.pop()
    assert run_server == "uv run python part1_echo/manage.py runserver"
    shell("\n".join(packages), cwd=project)
    assert not any((home / "empty-cache").rglob("*.whl.part"))
    return project, run_server


def test_the_installed_environment_is_exactly_the_lock(installed, laptop):
    project, _ = installed
    done = laptop[2]("uv run python tools/doctor.py --only python,env --lang en", cwd=project)
    assert "✓ project environment matches uv.lock" in done.stdout, done.stdout
    assert "; groups test)" in done.stdout


def test_the_network_really_is_out_of_reach(installed, laptop):
    """The control: the same setup cannot fetch a package that the kit does not hold."""
    project, _ = installed
    done = laptop[2]("UV_HTTP_RETRIES=0 uv pip install six", cwd=project, check=False)
    assert done.returncode != 0
    assert "Connection refused" in done.stderr, done.stderr


def test_the_guides_reset_commands_work_in_the_clone(installed, laptop):
    project, _ = installed
    guide = (ROOT / "docs" / "instructor.md").read_text(encoding="utf-8")
    reset = next(b for b in code_blocks(guide) if "git checkout -- part2_groups" in b)
    consumer = project / "part2_groups" / "chat" / "consumers.py"
    original = consumer.read_text()
    consumer.write_text(original + "\nbroken = True\n")
    (project / "part2_groups" / "chat" / "scratch.py").write_text("x = 1\n")
    laptop[2](reset, cwd=project)
    assert consumer.read_text() == original
    assert not (project / "part2_groups" / "chat" / "scratch.py").exists()


async def test_the_echo_stage_serves_a_page_and_an_echo_from_the_kit(installed, laptop):
    project, run_server = installed
    home, env, _ = laptop
    port = free_port()
    server = subprocess.Popen(
        ["bash", "-l", "-c", f"exec {run_server} 127.0.0.1:{port} --noreload"],
        cwd=project,
        env=env,
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


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        self.found += [v for k, v in attrs if k in ("href", "src") and v]


def test_every_link_of_the_docs_site_opens_a_file_from_disk(kit):
    site = kit / "docs-site"
    pages = [p for p in site.rglob("*.html") if p.name != "404.html"]  # 404 is for a server
    assert len(pages) >= 20
    missing = set()
    for page in pages:
        parser = Links()
        parser.feed(page.read_text(encoding="utf-8"))
        for link in parser.found:
            parts = urlsplit(link)
            if parts.scheme or link.startswith(("#", "//")) or not parts.path:
                continue
            if not (page.parent / unquote(parts.path)).is_file():  # a folder is a listing
                missing.add(f"{page.relative_to(site)} -> {link}")
    assert sorted(missing) == []


def test_the_docs_site_opened_from_disk_draws_diagrams_and_switches_language(kit, browser):
    from browsers import rendered_diagrams
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    page = kit / "docs-site" / "channel-layers.html"
    expected = page.read_text(encoding="utf-8").count('<pre class="mermaid">')
    browser.get(page.as_uri())
    wait = WebDriverWait(browser, 20)
    wait.until(lambda b: len(rendered_diagrams(b)) == expected > 0)
    korean = browser.find_element(By.CSS_SELECTOR, 'a[hreflang="ko"]').get_attribute("href")
    browser.get(korean)
    assert browser.current_url.endswith("/docs-site/ko/channel-layers.html")
    wait.until(lambda b: "채널 레이어" in b.find_element(By.TAG_NAME, "h1").text)


def test_a_laptop_without_the_kits_python_is_told_so(installed, laptop, kit):
    """What the README says of a laptop with another Python: `uv venv` stops, naming it."""
    project, _ = installed
    sys.path.insert(0, str(ROOT / "tools"))
    import offline_kit

    other = next(v for v in offline_kit.PYTHONS if v != PYTHON)
    spec = offline_kit.python_spec([other])
    done = laptop[2](
        f'uv venv --offline --no-python-downloads --python "{spec}" other', cwd=project, check=False
    )
    assert done.returncode != 0
    assert f"No interpreter found for Python {spec}" in done.stderr, done.stderr
    assert "No interpreter found" in (kit / "README.md").read_text()


def test_the_python_request_names_exactly_the_kits_versions():
    sys.path.insert(0, str(ROOT / "tools"))
    import offline_kit

    assert offline_kit.python_spec(["3.12"]) == "3.12"
    assert offline_kit.python_spec(["3.11", "3.12", "3.13", "3.14"]) == ">=3.11,<3.15"
    assert offline_kit.python_spec(["3.14", "3.11", "3.12"]) == ">=3.11,<3.15,!=3.13.*"
