"""tools/canary.py's logic, offline: reading the lock, the table, naming the breaking release and
the exit codes. A fake runner stands in for uv and pytest; the real run needs PyPI (weekly CI)."""

import re

import canary
import pytest
from conftest import missing
from lockfile import lock_packages
from stages import ROOT

LOCKED = {
    "django": "5.2.19",
    "channels": "4.3.2",
    "channels-redis": "4.3.0",
    "daphne": "4.2.1",
    "redis": "7.1.0",
}
PINS = ["pytest==9.1.1"]


class FakeRunner:
    """Resolves requirements against a fixed 'PyPI' and fails the stages a rule says break.

    newest: the newest release of each package; newest_django: the newest Django this Python can
    run; breaks: {((package, version), ...): stages that fail when all of these are installed}."""

    def __init__(self, newest=None, newest_django="5.2.19", breaks=None):
        self.newest = {**LOCKED, **(newest or {})}
        self.newest_django = newest_django
        self.breaks = breaks or {}
        self.built = []
        self.ran = []

    def build(self, requirements):
        self.built.append(requirements)
        assert PINS[0] in requirements  # the test tools stay at their locked versions
        versions = {}
        for requirement in requirements:
            name, _, pinned = re.match(r"([a-z-]+)(==(\S+))?", requirement).groups()
            if requirement.startswith("django>=5.2,<5.3"):
                versions[name] = self.newest["django"]
            elif name == "django" and not pinned:
                versions[name] = self.newest_django
            else:
                versions[name] = pinned or self.newest.get(name)
        return versions, versions  # the "python" is the environment itself

    def run(self, environment, stage):
        self.ran.append((environment["django"], stage))
        for releases, stages in self.breaks.items():
            if all(environment.get(n) == v for n, v in releases) and stage in stages:
                return canary.StageResult(False, [f"tools/tests/test_x.py::test_y[{stage}-redis]"])
        return canary.StageResult(True)


def run(runner):
    lines = []
    code = canary.canary(runner, LOCKED, PINS, out=lines.append)
    return code, "\n".join(lines)


def row(output, package):
    """The cells of one table row."""
    line = next(line for line in output.splitlines() if line.startswith(package + "  "))
    return re.split(r"\s{2,}", line.strip())


def test_reads_locked_versions_and_pins_the_test_tools_from_the_real_lock():
    locked = dict(lock_packages((ROOT / "uv.lock").read_text(encoding="utf-8")))
    assert canary.series(locked["django"]) == (5, 2)
    assert set(canary.PACKAGES) <= set(locked)
    pins = canary.pinned_test_tools((ROOT / "pyproject.toml").read_text(encoding="utf-8"), locked)
    assert f"pytest=={locked['pytest']}" in pins
    assert f"selenium=={locked['selenium']}" in pins
    assert not any(p.startswith(("django", "channels")) for p in pins)


@pytest.mark.parametrize(
    "version, expected", [("5.2.19", (5, 2)), ("6.0", (6, 0)), ("6.1rc1", (6, 1)), ("7", (7, 0))]
)
def test_series(version, expected):
    assert canary.series(version) == expected


def test_failed_tests_are_read_from_pytest_short_summary():
    output = (
        "..F.E\n=========== short test summary info ===========\n"
        "FAILED tools/tests/test_stage_contract.py::test_a[part2_groups-redis] - assert 1 == 2\n"
        "ERROR tools/tests/test_part4_suite.py::test_part4_suite_passes - TimeoutError\n"
        "1 failed, 3 passed, 1 error in 3.2s\n"
    )
    assert canary.failed_tests(output) == [
        "tools/tests/test_stage_contract.py::test_a[part2_groups-redis]",
        "tools/tests/test_part4_suite.py::test_part4_suite_passes",
    ]


def test_all_stages_passing_exits_0_with_the_table():
    runner = FakeRunner(newest={"django": "5.2.20", "redis": "8.0.0"})
    code, output = run(runner)
    assert code == 0
    assert row(output, "django (5.2.x)") == ["django (5.2.x)", "5.2.19", "5.2.20", "pass"]
    assert row(output, "redis") == ["redis", "7.1.0", "8.0.0", "pass"]
    assert row(output, "django (newest)")[3].startswith("not run: no newer Django")
    assert output.endswith("PASS: every stage passes its contract tests on the newest releases.")
    assert {stage for _, stage in runner.ran} == set(canary.STAGES)


def test_newest_major_runs_when_this_python_allows_it():
    runner = FakeRunner(newest_django="6.1.3", breaks={(("django", "6.1.3"),): ["part3_async"]})
    code, output = run(runner)
    assert code == 1
    assert row(output, "django (newest)") == [
        "django (newest)",
        "5.2.19",
        "6.1.3",
        "FAIL: part3_async",
    ]
    assert row(output, "django (5.2.x)")[3] == "pass"
    assert "FAIL: part3_async with Django 6.1.3: 1 new failing checks" in output
    assert "test_y[part3_async-redis]" in output


def test_a_breaking_release_is_named_and_exits_1():
    runner = FakeRunner(
        newest={"redis": "8.0.0", "channels": "4.4.0"},
        breaks={(("redis", "8.0.0"),): ["part2_groups", "part3_async"]},
    )
    code, output = run(runner)
    assert code == 1
    assert row(output, "redis")[3] == "FAIL alone: part2_groups, part3_async"
    assert row(output, "channels")[3] == "pass alone"
    assert row(output, "daphne")[3] == "unchanged"
    assert "FAIL: part2_groups with Django 5.2.19: 1 failing checks" in output
    assert "tools/tests/test_x.py::test_y[part2_groups-redis]" in output
    # Each upgrade was tried alone on the others' locked versions, on the failing stages only.
    alone = [r for r in runner.built if "redis==8.0.0" in r and "channels==4.3.2" in r]
    assert alone and not any(r.startswith("django>=") for r in alone[0])
    assert runner.ran.count(("5.2.19", "part1_echo")) == 1
    assert runner.ran.count(("5.2.19", "part2_groups")) == 3  # all new; redis alone; channels alone


def test_a_break_no_single_upgrade_explains_is_said_so():
    together = (("redis", "8.0.0"), ("channels", "4.4.0"))
    runner = FakeRunner(
        newest={"redis": "8.0.0", "channels": "4.4.0"}, breaks={together: ["part4_tests"]}
    )
    code, output = run(runner)
    assert code == 1
    assert row(output, "redis")[3] == row(output, "channels")[3] == "pass alone"
    assert "No upgrade breaks it alone" in output


def test_no_network_exits_2_with_a_sentence(capsys):
    class Offline:
        def __init__(self, python, workdir):
            pass

        def build(self, requirements):
            raise canary.CannotRun("could not reach PyPI to look up the newest releases")

    assert canary.main([], runner_factory=Offline) == 2
    assert "canary: could not run: could not reach PyPI" in capsys.readouterr().err


def test_uv_failing_to_reach_the_index_is_reported_as_no_network(tmp_path, monkeypatch):
    """The real runner, pointed at a closed port on this machine: uv cannot fetch anything."""
    if canary.shutil.which("uv") is None:
        missing("uv")
    monkeypatch.setenv("UV_DEFAULT_INDEX", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("UV_NO_CACHE", "1")
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    runner = canary.UvRunner(canary.sys.executable, tmp_path)
    with pytest.raises(canary.CannotRun, match="could not reach PyPI"):
        runner.build(["django"])


def test_newest_major_failures_that_also_fail_on_5_2_are_not_blamed_on_it():
    runner = FakeRunner(
        newest_django="6.1.3",
        breaks={(("channels", "4.3.2"),): ["part2_groups"]},  # in every environment
    )
    code, output = run(runner)
    assert code == 1
    assert row(output, "django (newest)")[3] == "fails only where Django 5.2.19 fails too"
    assert row(output, "django (5.2.x)")[3] == "FAIL as locked: part2_groups"
    assert "FAIL: part2_groups with Django 6.1.3: 0 new failing checks (1 more fail with" in output
    assert "These five are as locked" in output
