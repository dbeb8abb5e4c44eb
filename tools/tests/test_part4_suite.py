"""Run part4_tests' own suite (the one learners run) as part of the repo suite.

This is `cd part4_tests && uv run pytest`, the browser tests and the communicator tests, run twice:
on the in-memory layer, and with REDIS_URL set, as `uv run --env-file ../redis.env pytest` runs it
(part4's pytest.ini gives the async tests one event loop, which the Redis layer needs). The
tutorial's own command,
`uv run python manage.py test chat.tests` (Django's runner, which collects the browser tests only),
runs in .ci/run instead, to keep this suite short.
"""

import os

import pytest
from conftest import missing, run_own_suite
from stages import ROOT

pytestmark = pytest.mark.slow  # see pyproject: `uv run pytest -m slow`


@pytest.mark.xdist_group("part4_suite")
@pytest.mark.timeout(600)
@pytest.mark.parametrize("layer", ["memory", pytest.param("redis", marks=pytest.mark.redis)])
def test_part4_suite_passes(browser_detection, layer, request):
    found, leave_out, driver_dir = browser_detection, [], None
    if found.ready:
        if found.source != "PATH":
            # The driver Selenium Manager cached goes on PATH, where part4 looks first: Selenium
            # Manager would otherwise go online for one.
            driver_dir = os.path.dirname(found.driver)
    elif found.browser is not None:
        # A browser without a driver: part4's browser tests would fail in Selenium Manager, which
        # cannot download one offline. The rest of the suite runs; the test then skips, saying so.
        leave_out = ["--ignore", "chat/tests/test_browser.py"]
    run_own_suite(
        ROOT / "part4_tests",
        "part4_tests' own suite failed",
        redis_url=request.getfixturevalue("redis_url") if layer == "redis" else None,
        args=leave_out,
        driver_dir=driver_dir,
    )
    if leave_out:
        missing("browser", f"{found.problem}; the rest of part4's suite passed")
