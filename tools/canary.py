"""Canary: every stage's contract tests on the newest releases of what the stages run on.

    uv run python tools/canary.py                  # with the Python of this environment
    uv run python tools/canary.py --python 3.12    # build the test environments with another Python

It builds throwaway virtual environments in a temporary folder (`uv venv`, `uv pip install`; it
never touches uv.lock or .venv): one with the newest Django 5.2.x, one with the newest Django
when this Python can run it, each with the newest channels, channels-redis, daphne and redis-py
and the test tools at their locked versions. In each it runs the stage contract tests and
part4's own suite, one stage at a time, and prints what changed since uv.lock and what broke.
When something breaks, each upgraded package is tried alone on the locked versions to name it.

Exit status: 0 every stage passes; 1 a stage breaks (the failing checks are named); 2 the canary
could not run (no network to PyPI, no uv). It needs the network, so it is not part of
`uv run pytest`; .github/workflows/canary.yml runs it weekly. docs/versions.md says how to read it.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from lockfile import lock_packages, normalize
from stages import ROOT, STAGES

PACKAGES = ["django", "channels", "channels-redis", "daphne", "redis"]
LTS = "django>=5.2,<5.3"
CONTRACT_TESTS = ["tools/tests/test_stage_contract.py", "tools/tests/test_part4_suite.py"]
NETWORK_ERRORS = re.compile(
    r"dns error|failed to lookup address|error sending request|connection refused|"
    r"tcp connect error|network is unreachable|timed out|failed to fetch|could not connect",
    re.IGNORECASE,
)


class CannotRun(Exception):
    """The canary could not check anything (exit status 2); the message says why."""


@dataclass
class StageResult:
    passed: bool
    failures: list = field(default_factory=list)  # failing test ids, or one line saying why


# --- Reading the lock --------------------------------------------------------------------------


def pinned_test_tools(pyproject_text, locked):
    """The test group's packages pinned to their locked versions: only the runtime floats."""
    group = tomllib.loads(pyproject_text)["dependency-groups"]["test"]
    names = [normalize(re.match(r"[A-Za-z0-9._-]+", req).group()) for req in group]
    return [f"{name}=={locked[name]}" for name in names]


def series(version):
    """(major, minor) of a version string: '5.2.19' -> (5, 2); '6.0rc1' -> (6, 0)."""
    numbers = re.findall(r"\d+", version)
    return int(numbers[0]), int(numbers[1]) if len(numbers) > 1 else 0


# --- The real work: uv and pytest ----------------------------------------------------------------


class UvRunner:
    """Builds environments with uv and runs the contract tests there with pytest."""

    def __init__(self, python, workdir, jobs=2):
        self.uv = shutil.which("uv")
        if self.uv is None:
            raise CannotRun("uv is not installed: https://docs.astral.sh/uv/ says how to get it.")
        self.python = python
        self.workdir = Path(workdir)
        self.jobs = jobs
        self._count = 0

    def _uv(self, *args):
        return subprocess.run(
            [self.uv, *args], cwd=self.workdir, capture_output=True, text=True, env=self._env()
        )

    def _env(self, venv=None):
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
        if venv is not None:
            env["VIRTUAL_ENV"] = str(venv)
            env["PATH"] = str(self.bin(venv)) + os.pathsep + env.get("PATH", "")
        return env

    @staticmethod
    def bin(venv):
        return venv / ("Scripts" if os.name == "nt" else "bin")

    def build(self, requirements):
        """A new venv with these requirements; returns (its python, {package: version})."""
        self._count += 1
        venv = self.workdir / f"env{self._count}"
        made = self._uv("venv", "--no-project", "--quiet", "--python", self.python, str(venv))
        if made.returncode != 0:
            raise CannotRun(f"uv could not make a virtual environment: {last_line(made.stderr)}")
        python = self.bin(venv) / ("python.exe" if os.name == "nt" else "python")
        installed = self._uv("pip", "install", "--python", str(python), "--quiet", *requirements)
        if installed.returncode != 0:
            if NETWORK_ERRORS.search(installed.stderr):
                raise CannotRun(
                    "could not reach PyPI to look up the newest releases (no network?); "
                    f"uv said: {last_line(installed.stderr)}"
                )
            raise CannotRun(f"uv could not install {' '.join(requirements)}:\n{installed.stderr}")
        listed = self._uv("pip", "list", "--python", str(python), "--format", "json")
        versions = {normalize(p["name"]): p["version"] for p in json.loads(listed.stdout)}
        return python, versions

    def run(self, python, stage):
        tests = [t for t in CONTRACT_TESTS if (ROOT / t).is_file()]
        command = [str(python), "-m", "pytest", "-m", stage, *tests]
        command += ["-n", str(self.jobs), "-p", "no:cacheprovider", "-q", "-rfE", "--no-header"]
        venv = Path(python).parent.parent
        result = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, env=self._env(venv)
        )
        if result.returncode == 0:
            return StageResult(True)
        failures = failed_tests(result.stdout)
        if not failures:
            failures = [f"pytest exited {result.returncode}: {last_line(result.stdout)}"]
        return StageResult(False, failures)


def last_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no output)"


def failed_tests(pytest_output):
    """Test ids from pytest's short summary (-rfE): 'FAILED path::test[id] - message'."""
    found = re.findall(r"^(?:FAILED|ERROR) (\S+)", pytest_output, re.MULTILINE)
    return list(dict.fromkeys(found))


# --- Deciding and reporting ----------------------------------------------------------------------


def run_stages(runner, python, stages):
    return {stage: runner.run(python, stage) for stage in stages}


def broken(results):
    return [stage for stage, result in results.items() if not result.passed]


def verdict(results):
    failed = broken(results)
    return "pass" if not failed else "FAIL: " + ", ".join(failed)


def canary(runner, locked, pins, out=print):
    """Build, test, print the tables; returns the exit status (0 pass, 1 a stage breaks)."""
    lts_python, lts = runner.build([LTS, *PACKAGES[1:], *pins])
    lts_results = run_stages(runner, lts_python, STAGES)
    lts_name = f"Django {lts['django']}"
    failures = {(lts_name, s): (lts_results[s].failures, None) for s in broken(lts_results)}
    notes = []
    if broken(lts_results):
        results, note = attribute(runner, locked, lts, pins, broken(lts_results))
        notes += [note] if note else []
    else:
        results = dict.fromkeys(PACKAGES, "pass")
    rows = [
        ("django (5.2.x)" if name == "django" else name, locked[name], lts[name], results[name])
        for name in PACKAGES
    ]

    newest_python, newest = runner.build([*PACKAGES, *pins])
    if series(newest["django"]) == series(lts["django"]):
        note = "not run: no newer Django supports this Python (try --python 3.12 or newer)"
        rows.insert(1, ("django (newest)", locked["django"], "-", note))
    else:
        newest_results = run_stages(runner, newest_python, STAGES)
        new_breaks = []
        for stage in broken(newest_results):
            before = set(lts_results[stage].failures)
            new = [c for c in newest_results[stage].failures if c not in before]
            failures[(f"Django {newest['django']}", stage)] = (
                new,
                len(set(newest_results[stage].failures) & before),
            )
            new_breaks += [stage] if new else []
        if new_breaks:
            result = "FAIL: " + ", ".join(new_breaks)
        elif broken(newest_results):
            result = f"fails only where {lts_name} fails too"
        else:
            result = "pass"
        rows.insert(1, ("django (newest)", locked["django"], newest["django"], result))
        for name in PACKAGES[1:]:  # a release that needs the newer Django shows up only here
            if newest[name] != lts[name]:
                label = f"{name} (with Django {newest['django']})"
                rows.append((label, locked[name], newest[name], result))

    out(table(("package", "locked", "newest", "result"), rows))
    if not failures:
        out("\nPASS: every stage passes its contract tests on the newest releases.")
        return 0
    out("")
    for (environment, stage), (checks, shared) in failures.items():
        if shared is None:
            out(f"FAIL: {stage} with {environment}: {len(checks)} failing checks")
        else:  # only what did not fail on 5.2.x already
            also = f" ({shared} more fail with {lts_name} too)" if shared else ""
            out(f"FAIL: {stage} with {environment}: {len(checks)} new failing checks{also}")
        for check in checks[:20]:
            out(f"  {check}")
        if len(checks) > 20:
            out(f"  ... and {len(checks) - 20} more")
    for note in notes:
        out(note)
    out("docs/versions.md, 'When the canary fails', says what to do next.")
    return 1


def attribute(runner, locked, newest, pins, stages):
    """Each upgraded package alone on the locked versions of the others, on the failing stages:
    its result names the release that breaks them. Returns ({package: result}, note or None)."""
    results = {}
    for name in PACKAGES:
        if newest[name] == locked[name]:
            results[name] = "unchanged"
            continue
        requirements = [f"{n}=={newest[n] if n == name else locked[n]}" for n in PACKAGES]
        python, _ = runner.build([*requirements, *pins])
        alone = run_stages(runner, python, stages)
        results[name] = (
            ("FAIL alone: " + ", ".join(broken(alone))) if broken(alone) else "pass alone"
        )
    if all(result == "unchanged" for result in results.values()):
        as_locked = "FAIL as locked: " + ", ".join(stages)
        return dict.fromkeys(results, as_locked), (
            "These five are as locked, so no new release of theirs broke it: look at their "
            "dependencies, the machine (Redis, Chromium), or the repo's own code and tests."
        )
    if not any(result.startswith("FAIL") for result in results.values()):
        return (
            results,
            "No upgrade breaks it alone: the combination does, or a dependency of theirs.",
        )
    return results, None


def table(header, rows):
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    lines = [header, tuple("-" * w for w in widths), *rows]
    return "\n".join(
        "  ".join(str(cell).ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def main(argv=None, runner_factory=UvRunner):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="the Python for the test environments (a path or a version such as 3.12)",
    )
    args = parser.parse_args(argv)
    locked = dict(lock_packages((ROOT / "uv.lock").read_text(encoding="utf-8")))
    pins = pinned_test_tools((ROOT / "pyproject.toml").read_text(encoding="utf-8"), locked)
    with tempfile.TemporaryDirectory(prefix="canary-") as workdir:
        try:
            return canary(runner_factory(args.python, workdir), locked, pins)
        except CannotRun as error:
            print(f"canary: could not run: {error}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
