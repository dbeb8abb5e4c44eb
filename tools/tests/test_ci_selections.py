"""GitHub CI runs each test of the suite exactly once on Linux, the Windows/macOS job re-runs
exactly the stage tests that need no Redis, and no job runs a test that needs a dependency group
its `uv sync` leaves out.

Each job's `uv run pytest ...` arguments are read from .github/workflows/ (matrix values filled
in), and pytest itself says which tests each selection collects: one subprocess runs
`pytest --collect-only` once per selection, in process, so the whole check takes a few seconds.
"""

import itertools
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from collections import Counter
from typing import NamedTuple

import pytest
import yaml
from stages import ROOT, STAGES

# One worker runs the three tests, so the collections run once (a module fixture is per worker).
pytestmark = pytest.mark.xdist_group("ci-selections")

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
PYTEST = re.compile(r"^\s*uv run pytest\b(.*)$", re.MULTILINE)
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
VARIABLE = re.compile(r'"\$\{?(\w+)\}?"|\$\{?(\w+)\}?')

# The suite, both tiers: what the jobs together must cover.
EVERYTHING = ["-m", ""]
# Where the docs job must run the offline-docs tests (mkdocs site, diagrams, search in Chromium).
OFFLINE_DOCS = "tools/tests/test_docs_site.py"
# The laptops job (Windows, macOS) re-runs every stage's tests, both tiers, on the in-memory
# layer: all stage tests but those marked redis, and on Windows none of the POSIX-signal tests.
LAPTOPS = "laptops"
LAPTOPS_LEAVE_OUT = {
    "windows-latest": {"tools/tests/test_faults_shutdown.py"},
    "macos-latest": set(),
}


def matrix_combinations(job):
    """GitHub's matrix: the product of its lists, then `include` entries extending the
    combinations they match (or added as their own when they match none)."""
    matrix = dict((job.get("strategy") or {}).get("matrix") or {})
    include = matrix.pop("include", [])
    assert "exclude" not in matrix, "teach matrix_combinations about exclude"
    keys = list(matrix)
    combos = [
        dict(zip(keys, values, strict=True)) for values in itertools.product(*matrix.values())
    ]
    for extra in include:
        matched = [c for c in combos if all(c[k] == v for k, v in extra.items() if k in keys)]
        for combo in matched:
            combo.update(extra)
        if not matched:
            combos.append(dict(extra))
    return combos or [{}]


def expand(text, matrix):
    """`${{ matrix.x }}` replaced by its value ("" when the combination lacks it, as on GitHub)."""

    def value(match):
        expression = match.group(1)
        name = re.fullmatch(r"matrix\.([\w-]+)", expression)
        assert name, f"only ${{{{ matrix.x }}}} is understood in a pytest step, not {expression!r}"
        return str(matrix.get(name.group(1), ""))

    return EXPRESSION.sub(value, str(text))


def pytest_args(command, env):
    """The arguments after `uv run pytest`, with bash's expansion of $VAR and "$VAR"."""

    def value(match):
        quoted, bare = match.groups()
        name = quoted or bare
        assert name in env, f"${name} is not set in the step's env"
        return shlex.quote(env[name]) if quoted else env[name]

    return shlex.split(VARIABLE.sub(value, command))


class Selection(NamedTuple):
    label: str  # the job id and its matrix values, e.g. "stage part2_groups"
    job: str
    runs_on: str
    args: list
    cwd: str
    groups: set  # the dependency groups the job's `uv sync` installs


PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# How a test module says it needs an opt-in group (conftest: skip on a laptop, fail in CI).
NEEDS_GROUP = re.compile(r'needs_group\(\s*"(\w+)"|missing\(\s*"the (\w+) group"')
# Programs only an opt-in group installs (the dev group's linters).
GROUP_PROGRAMS = re.compile(r'which\(\s*"(ruff|actionlint|zizmor|hadolint)"|import\s+mkdocs')


def with_included(groups):
    """groups and the groups they include (pyproject: dev includes test and docs)."""
    found = set()
    todo = list(groups)
    while todo:
        group = todo.pop()
        found.add(group)
        for entry in PYPROJECT["dependency-groups"][group]:
            if isinstance(entry, dict):
                todo.append(entry["include-group"])
    return found


def synced_groups(job):
    """The groups of the job's one `uv sync`: the default groups and each --group."""
    syncs = [
        shlex.split(line)
        for step in job["steps"]
        for line in str(step.get("run", "")).splitlines()
        if line.strip().startswith("uv sync")
    ]
    assert len(syncs) == 1, f"teach synced_groups about {len(syncs)} uv syncs in a job"
    words = syncs[0]
    assert "--no-default-groups" not in words and "--all-groups" not in words
    added = [words[i + 1] for i, word in enumerate(words) if word == "--group"]
    return with_included([*PYPROJECT["tool"]["uv"]["default-groups"], *added])


def groups_needed(module):
    """The opt-in groups a test module (tools/tests/x.py) asks for through conftest."""
    text = (ROOT / module).read_text(encoding="utf-8")
    return {a or b for a, b in NEEDS_GROUP.findall(text)}


def selections():
    """A Selection for every `uv run pytest` in a job's steps, per matrix combination."""
    found = []
    for path in WORKFLOWS:
        workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
        for job_id, job in workflow["jobs"].items():
            axes = [k for k in (job.get("strategy") or {}).get("matrix") or {} if k != "include"]
            for matrix in matrix_combinations(job):
                runs_on = expand(job["runs-on"], matrix)
                for step in job["steps"]:
                    run = expand(step.get("run", ""), matrix)
                    env = {
                        k: expand(v, matrix)
                        for scope in (workflow, job, step)
                        for k, v in (scope.get("env") or {}).items()
                    }
                    for command in PYTEST.findall(run.replace("\\\n", " ")):
                        label = " ".join([job_id, *(str(matrix[k]) for k in axes)])
                        cwd = step.get("working-directory", ".")
                        args = pytest_args(command, env)
                        groups = synced_groups(job)
                        found.append(Selection(label, job_id, runs_on, args, cwd, groups))
    return found


def collect(runs):
    """{label: {node id: [marker names]}}: what pytest collects for each (label, args, cwd)."""
    result = subprocess.run(
        [sys.executable, __file__],
        input=json.dumps(runs),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "tools")},
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def collected():
    found = selections()
    runs = [("everything", EVERYTHING, ".")] + [(s.label, s.args, s.cwd) for s in found]
    return found, collect(runs)


def test_every_test_runs_in_exactly_one_linux_job(collected):
    found, tests = collected
    everything = set(tests["everything"])
    assert len(everything) > 300  # the whole suite, both tiers
    jobs = [s.label for s in found if s.runs_on.startswith("ubuntu-")]
    others = {s.label for s in found if s.label not in jobs and s.job != LAPTOPS}
    assert others == set(), "pytest on a runner that is neither Linux nor a laptop"
    runs = Counter(test for label in jobs for test in tests[label])
    twice = [
        f"{test}: {', '.join(label for label in jobs if test in tests[label])}"
        for test, n in sorted(runs.items())
        if n > 1
    ]
    assert twice == [], "run by more than one Linux job:\n" + "\n".join(twice)
    never = sorted(everything - set(runs))
    assert never == [], "run by no Linux job:\n" + "\n".join(never)
    assert set(runs) <= everything


def test_the_docs_job_runs_the_offline_docs_tests(collected):
    found, tests = collected
    offline = {t for t in tests["everything"] if t.startswith(OFFLINE_DOCS + "::")}
    assert len(offline) >= 5
    docs = [s.label for s in found if s.job == "docs"]
    assert docs and sorted(offline - {t for label in docs for t in tests[label]}) == []


def test_the_laptops_job_reruns_the_stage_tests_that_need_no_redis(collected):
    found, tests = collected
    markers = tests["everything"]
    stage_tests = {t for t, names in markers.items() if set(names) & set(STAGES)}
    laptops = [s for s in found if s.job == LAPTOPS]
    assert sorted(s.runs_on for s in laptops) == sorted(LAPTOPS_LEAVE_OUT)
    for laptop in laptops:
        left_out = LAPTOPS_LEAVE_OUT[laptop.runs_on]
        expected = {
            t for t in stage_tests if "redis" not in markers[t] and t.split("::")[0] not in left_out
        }
        assert len(expected) > 50
        ran = set(tests[laptop.label])
        assert (laptop.label, sorted(ran - expected), sorted(expected - ran)) == (
            laptop.label,
            [],
            [],
        ), "(job, run but not expected, expected but not run)"


def test_no_job_runs_a_test_needing_a_group_it_does_not_install(collected):
    found, tests = collected
    needing = {}
    for test in tests["everything"]:
        module = test.split("::")[0]
        if module not in needing:
            needing[module] = groups_needed(module)
    assert needing["tools/tests/test_lint.py"] == {"dev"}
    assert {s.job: "dev" in s.groups for s in found if s.job in ("stage", "lint")} == {
        "stage": False,  # a learner's `uv sync`, as the laptops job
        "lint": True,
    }
    wrong = sorted(
        f"{s.label}: {test} needs the {group} group"
        for s in found
        for test in tests[s.label]
        for group in needing[test.split("::")[0]] - s.groups
    )
    assert wrong == [], "\n".join(wrong)


def test_a_test_running_a_groups_program_says_which_group_it_needs():
    """Such a test skips on a learner's `uv sync` (fails in CI) through conftest, naming the
    `uv sync --group ...`: the check above then keeps it out of the jobs without that group."""
    silent = sorted(
        path.name
        for path in (ROOT / "tools" / "tests").glob("test_*.py")
        if GROUP_PROGRAMS.search(path.read_text(encoding="utf-8"))
        and not groups_needed(path.relative_to(ROOT).as_posix())
    )
    assert silent == []


class Recorder:
    """A pytest plugin that keeps the node ids and marker names of what was collected."""

    def __init__(self):
        self.items = {}

    def pytest_collection_finish(self, session):
        self.items = {
            item.nodeid: sorted({m.name for m in item.iter_markers()}) for item in session.items
        }


def main():
    """Reads [(label, args, cwd)] as JSON on stdin; prints {label: {node id: markers}}."""
    out = {}
    for label, args, cwd in json.loads(sys.stdin.read()):
        os.chdir(ROOT / cwd)
        recorder = Recorder()
        code = pytest.main(
            [*args, "--collect-only", "-q", "-p", "no:cacheprovider"], plugins=[recorder]
        )
        if code not in (0, 5):  # 5: collected nothing
            print(f"{label}: pytest {' '.join(args)} exited {code}", file=sys.stderr)
            sys.exit(1)
        out[label] = recorder.items
    print(json.dumps(out))


if __name__ == "__main__":
    main()
