"""Run part4_tests' own suite (the one learners run) as part of the repo suite.

This is `cd part4_tests && uv run pytest`, the browser tests and the communicator tests, run twice:
on the in-memory layer, and with REDIS_URL set, as `uv run --env-file ../redis.env pytest` runs it
(part4's pytest.ini gives the async tests one event loop, which the Redis layer needs). The
tutorial's own command,
`uv run python manage.py test chat.tests` (Django's runner, which collects the browser tests only),
runs in .ci/run instead, to keep this suite short.
"""

import os
import subprocess
import sys

import pytest
from conftest import missing
from stages import ROOT

pytestmark = pytest.mark.slow  # see pyproject: `uv run pytest -m slow`


@pytest.mark.xdist_group("part4_suite")
@pytest.mark.timeout(600)
@pytest.mark.parametrize("layer", ["memory", pytest.param("redis", marks=pytest.mark.redis)])
def test_part4_suite_passes(browser_detection, layer, request):
    # With this interpreter; CI=true passes through, so a missing Redis or browser fails there too.
    # Nothing of this run's own pytest/xdist/Django setup leaks in.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "DJANGO_")) and k != "REDIS_URL"
    }
    if layer == "redis":
        env["REDIS_URL"] = request.getfixturevalue("redis_url")
    found, leave_out = browser_detection, []
    if found.ready:
        if found.source != "PATH":
            # The driver Selenium Manager cached goes on PATH, where part4 looks first: Selenium
            # Manager would otherwise go online for one.
            env["PATH"] = os.path.dirname(found.driver) + os.pathsep + env.get("PATH", "")
    elif found.browser is not None:
        # A browser without a driver: part4's browser tests would fail in Selenium Manager, which
        # cannot download one offline. The rest of the suite runs; the test then skips, saying so.
        leave_out = ["--ignore", "chat/tests/test_browser.py"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *leave_out],
        cwd=ROOT / "part4_tests",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=540,
    )
    if result.returncode != 0:
        pytest.fail(f"part4_tests' own suite failed:\n{result.stdout[-20000:]}", pytrace=False)
    print(result.stdout.splitlines()[-1])
    if leave_out:
        missing("browser", f"{found.problem}; the rest of part4's suite passed")
