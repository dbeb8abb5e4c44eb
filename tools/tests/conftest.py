"""Fixtures for the repo's own tests: a real redis-server, real stage servers, a real browser.

On a learner's laptop a test whose Redis, browser or opt-in dependency group (docs, the linters) is
missing is skipped with one line saying how to get it; in CI (CI=true) a missing piece is an error,
so nothing is skipped silently.
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys

import browsers
import pytest
from install_hints import browser_install, redis_install
from servers import RedisServer, StageServer

pytest_plugins = ["stage_markers"]  # -m part1_echo ... -m repo: see stage_markers.py

IN_CI = os.environ.get("CI", "").lower() == "true"

HOW_TO_GET = {
    "redis": f"{redis_install().en}; or set REDIS_URL",
    "browser": browser_install().en,
    # Groups outside a learner's `uv sync` (pyproject's default-groups is `test` only).
    "the docs group": "`uv sync --group docs` (or `uv sync --group dev`, which includes it)",
    "the dev group": "`uv sync --group dev` (docs and the linters)",
    # Programs some repo tests run.
    "git": "install git (https://git-scm.com/downloads) and run the tests in a `git clone` of "
    "the repository, not an unpacked download",
    "docker-compose": "`sudo apt-get install docker-compose`, or Docker Compose v2 (Docker "
    "Desktop)",
    "uv": "install uv (https://docs.astral.sh/uv/getting-started/installation/)",
}


def missing(what, why=None):
    """Fail in CI, skip elsewhere, always saying how to get the missing piece."""
    message = f"needs {what}{f' ({why})' if why else ''}: {HOW_TO_GET[what]}"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def needs_group(group, module):
    """Skip (fail in CI) unless `module`, which the opt-in dependency `group` brings, imports."""
    if importlib.util.find_spec(module) is None:
        missing(f"the {group} group", f"no {module} here")


BROWSER_NAMES = {name for _, _, names in browsers.KINDS for name in names}


def fake_path(tmp_path, drop=(), add=None):
    """A PATH holding every program of the current PATH except the browsers and `drop`, plus
    `add` ({name: target or script text})."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    add = add or {}
    left_out = BROWSER_NAMES | set(drop) | set(add)  # a stand-in never writes through a link
    for directory in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for entry in os.scandir(directory):
            target = bin_dir / entry.name
            if entry.name in left_out or os.path.lexists(target):
                continue
            target.symlink_to(entry.path)
    for name, what in add.items():
        program = bin_dir / name
        if os.path.isabs(what):
            program.symlink_to(what)
        else:
            program.write_text(what)
            program.chmod(0o755)
    return str(bin_dir)


def run_own_suite(folder, failure, redis_url=None, args=(), driver_dir=None):
    """`pytest -q` in a project folder as its learner runs it, with this interpreter: CI=true
    passes through (a missing Redis or browser fails there too), nothing of this run's own
    pytest, xdist or Django setup leaks in, REDIS_URL only if given, driver_dir first on PATH.
    Fails the test with `failure` and the output's tail unless the suite passes."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "DJANGO_")) and k != "REDIS_URL"
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    if driver_dir:
        env["PATH"] = driver_dir + os.pathsep + env.get("PATH", "")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *args],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=540,
    )
    if result.returncode != 0:
        pytest.fail(f"{failure}:\n{result.stdout[-20000:]}", pytrace=False)
    print(result.stdout.splitlines()[-1])


@pytest.fixture(scope="session")
def redis_url(request):
    if re.search(r"\bnot\s+redis\b", request.config.option.markexpr or ""):
        # -m "not redis" (the in-memory layer only) kept a test that reached Redis at run time.
        pytest.fail(
            'this test uses Redis but has no redis marker, so -m "not redis" kept it: mark it '
            "@pytest.mark.redis (see tools/tests/stage_markers.py)",
            pytrace=False,
        )
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    if shutil.which("redis-server") is None:
        missing("redis")
    server = RedisServer().start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def stage_servers(request):
    """Start (once per test session and worker) a stage server for a (stage, layer) pair.

    layer is "memory" or "redis"; part1 has no channel layer, so it is always "memory".
    instance=2 (or any other label) gives another process of the same stage and layer.
    """
    started = {}

    def get(stage, layer="memory", instance=1):
        key = (stage, layer, instance)
        if key not in started:
            url = request.getfixturevalue("redis_url") if layer == "redis" else None
            started[key] = StageServer(stage, redis_url=url).start()
        return started[key]

    yield get
    for server in started.values():
        server.stop()


@pytest.fixture(scope="session")
def browser_detection():
    """Which browser and driver this machine has (tools/browsers.py), looked up once."""
    return browsers.detect()


# Headless, and quiet on a closed network (no background fetches, updates or sync).
HEADLESS_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


@pytest.fixture
def browser(tmp_path, browser_detection):
    """Headless Chromium, Google Chrome or Microsoft Edge through its driver (Selenium 4)."""
    found = browser_detection
    if not found.ready:
        missing("browser", found.problem)
    from selenium import webdriver

    edge = found.browser.selenium_name == "edge"
    options = webdriver.EdgeOptions() if edge else webdriver.ChromeOptions()
    options.binary_location = found.browser.path
    for flag in (*HEADLESS_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if edge:
        service = webdriver.EdgeService(found.driver)
        driver = webdriver.Edge(service=service, options=options)
    else:
        driver = webdriver.Chrome(service=webdriver.ChromeService(found.driver), options=options)
    driver.detected = found
    yield driver
    driver.quit()


def pytest_collection_modifyitems(items):
    """Queue the long waits first (pyproject turns off xdist's reordering of groups by size), so
    the idle test (10 s of silence) and part4's suite run beside the other tests, not after them."""
    first = ("tools/tests/test_stage_idle.py", "tools/tests/test_part4_suite.py")
    items.sort(
        key=lambda item: next(
            (i for i, path in enumerate(first) if item.nodeid.startswith(path)), len(first)
        )
    )
