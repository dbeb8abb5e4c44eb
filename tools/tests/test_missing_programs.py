"""A test that runs a program this machine may lack (git, uv, docker-compose) goes through
conftest.missing: on a laptop it skips, naming how to get the program; in CI (CI=true) it fails,
so nothing is skipped there silently."""

import os
import re
import subprocess
import sys

import pytest
from conftest import HOW_TO_GET, fake_path
from stages import ROOT

pytestmark = pytest.mark.slow  # two pytest runs; see pyproject: `uv run pytest -m slow`

NEEDS = {
    f"tools/tests/{test}": program
    for test, program in [
        ("test_line_endings.py::test_no_text_file_gets_crlf", "git"),
        ("test_offline_kit.py::test_the_kit_holds_what_its_readme_names", "git"),
        (
            "test_standalone.py::test_the_fidelity_test_passes_in_a_copy_with_nothing_beside_it",
            "git",
        ),
        ("test_canary.py::test_uv_failing_to_reach_the_index_is_reported_as_no_network", "uv"),
        ("test_compose.py::test_compose_cli_accepts_the_file", "docker-compose"),
        (
            "test_room_server.py::test_compose_takes_the_allowed_hosts_from_the_environment",
            "docker-compose",
        ),
    ]
}
PROGRAMS = ("git", "uv", "docker", "docker-compose")


def run_without_programs(tmp_path, **extra):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "DJANGO_")) and k not in ("CI", "REDIS_URL")
    }
    env["PATH"] = fake_path(tmp_path, drop=PROGRAMS)
    return subprocess.run(
        [sys.executable, "-m", "pytest", *NEEDS, "-m", "slow or not slow", "-n", "0", "-rfEs"],
        cwd=ROOT,
        env={**env, "PYTEST_ADDOPTS": "-p no:cacheprovider", **extra},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_on_a_laptop_each_skips_naming_how_to_get_the_program(tmp_path):
    done = run_without_programs(tmp_path)
    assert re.search(rf"\b{len(NEEDS)} skipped in\b", done.stdout), done.stdout
    for what in set(NEEDS.values()):
        assert HOW_TO_GET[what] in done.stdout, what


def test_in_ci_each_fails(tmp_path):
    done = run_without_programs(tmp_path, CI="true")
    assert done.returncode == 1, done.stdout
    for node, what in NEEDS.items():
        said = rf"^(FAILED|ERROR) {re.escape(node)} - Failed: needs {re.escape(what)}\b"
        assert re.search(said, done.stdout, re.M), f"{node}\n{done.stdout}"
