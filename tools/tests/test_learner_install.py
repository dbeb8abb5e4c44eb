"""A learner's `uv sync` installs what a learner needs: the stages' packages and the tests', and no
docs, linter or benchmark package. The doctor is green on it, and the tests that need an opt-in
group skip on it, naming the `uv sync --group ...` that brings the group (and fail in CI).

Slow: it installs the default groups into a fresh environment (from uv's cache when warm).
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lockfile import opt_in_packages
from stages import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("learner_install")]


def clean_env(**extra):
    """This process's environment without the repo's own .venv on PATH (its linters)."""
    drop = ("VIRTUAL_ENV", "CI", "REDIS_URL")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PYTEST_")}
    ours = Path(sys.executable).parent
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and Path(p) != ours]
    return {**env, "PATH": os.pathsep.join(path), **extra}


@pytest.fixture(scope="module")
def learner_python(tmp_path_factory):
    """`uv sync` as a learner types it, into an environment of its own (not the repo's .venv)."""
    uv = shutil.which("uv")
    assert uv, "uv is needed to install a learner's environment"
    venv = tmp_path_factory.mktemp("learner") / "venv"
    done = subprocess.run(
        [uv, "sync", "--frozen", "--quiet"],
        cwd=ROOT,
        env=clean_env(UV_PROJECT_ENVIRONMENT=str(venv)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def run(python, *args, **extra):
    return subprocess.run(
        [str(python), *args],
        cwd=ROOT,
        env=clean_env(**extra),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_learners_install_has_no_docs_linter_or_benchmark_package(learner_python):
    listed = run(
        learner_python,
        "-c",
        "import json, importlib.metadata as m; "
        "print(json.dumps([d.metadata['Name'] for d in m.distributions()]))",
    )
    names = {re.sub(r"[-_.]+", "-", n).lower() for n in json.loads(listed.stdout)}
    assert {"django", "channels-redis", "daphne", "redis", "pytest", "selenium"} <= names
    assert names & opt_in_packages() == set()


def test_the_doctor_is_green_on_a_learners_install(learner_python):
    done = run(learner_python, "tools/doctor.py", "--only", "python,env", "--lang", "en")
    assert done.returncode == 0, done.stdout
    assert re.search(
        r"✓ project environment matches uv.lock: \d+ packages \(.*; groups test\)", done.stdout
    )


NEEDS_A_GROUP = [
    "tools/tests/test_lint.py::test_ruff_check_is_clean",
    "tools/tests/test_docs_site.py::test_site_builds_strict_with_notes_code_and_diffs",
]
GROUP_LINES = [
    "needs the dev group (no ruff here): `uv sync --group dev`",
    "needs the docs group (no mkdocs here): `uv sync --group docs`",
]


def run_group_tests(python, ci):
    args = ["-m", "pytest", *NEEDS_A_GROUP, "-m", "slow or not slow", "-n", "0", "-rsf"]
    return run(python, *args, "-p", "no:cacheprovider", **({"CI": "true"} if ci else {}))


def test_without_an_opt_in_group_its_tests_skip_naming_the_command(learner_python):
    done = run_group_tests(learner_python, ci=False)
    assert re.search(r"\b2 skipped\b", done.stdout) and "passed" not in done.stdout, done.stdout
    for line in GROUP_LINES:
        assert line in done.stdout


def test_in_ci_a_missing_group_fails(learner_python):
    done = run_group_tests(learner_python, ci=True)
    assert done.returncode == 1, done.stdout
    assert not re.search(r"passed|skipped", done.stdout.splitlines()[-1]), done.stdout
    for line in GROUP_LINES:
        assert line in done.stdout
