"""Run part4_tests' own suite (the one learners run) as part of the repo suite.

This is `cd part4_tests && uv run pytest`: the communicator tests on both channel layers, the
channel layer check, the test database check and the browser tests. The tutorial's own command,
`uv run python manage.py test chat.tests` (Django's runner, which collects the browser tests only),
runs in .ci/run instead, to keep this suite short.
"""

import os
import subprocess
import sys

import pytest
from stages import ROOT

pytestmark = pytest.mark.slow  # see pyproject: `uv run pytest -m slow`


@pytest.mark.redis  # part4's suite runs its layer tests on Redis too
@pytest.mark.xdist_group("part4_suite")
@pytest.mark.timeout(600)
def test_part4_suite_passes():
    # With this interpreter; CI=true passes through, so a missing Redis or browser fails there too.
    # Nothing of this run's own pytest/xdist/Django setup leaks in.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q"],
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
