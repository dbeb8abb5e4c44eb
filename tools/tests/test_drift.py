"""Each stage differs from the one before only where tools/stage_changes.toml says it does.

A file that differs (or exists on one side only) without being declared is drift; a declared path
that no longer differs is a stale declaration. Either fails, naming the files.
"""

import fnmatch
import tomllib

import pytest
from stages import GENERATED, ROOT, STAGES

CHANGES_FILE = ROOT / "tools" / "stage_changes.toml"
ALWAYS_ALLOWED = ["README.md", "README.ko.md"]


def declared_changes():
    """{stage: [path patterns]} from tools/stage_changes.toml."""
    with open(CHANGES_FILE, "rb") as f:
        return {stage: entry["files"] for stage, entry in tomllib.load(f).items()}


def lesson_files(stage):
    """{relative path: bytes} of a stage folder, leaving out generated files."""
    folder = ROOT / stage
    files = {}
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if path.is_file() and not any(
            fnmatch.fnmatch(part, pattern) for part in relative.parts for pattern in GENERATED
        ):
            files[relative.as_posix()] = path.read_bytes()
    return files


def differing_files(before, after):
    old, new = lesson_files(before), lesson_files(after)
    return sorted(p for p in old.keys() | new.keys() if old.get(p) != new.get(p))


def matches(path, patterns):
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns)


def test_every_later_stage_is_declared():
    assert list(declared_changes()) == STAGES[1:]


STAGE_PAIRS = list(zip(STAGES[:-1], STAGES[1:], strict=True))


@pytest.mark.parametrize("before, after", STAGE_PAIRS, ids=STAGES[1:])
def test_stage_differs_only_where_declared(before, after):
    declared = declared_changes()[after]
    changed = differing_files(before, after)
    undeclared = [p for p in changed if not matches(p, declared + ALWAYS_ALLOWED)]
    stale = [pattern for pattern in declared if not any(matches(p, [pattern]) for p in changed)]
    assert not undeclared, (
        f"{after} differs from {before} in files not declared in tools/stage_changes.toml: "
        f"{undeclared} (declare them, or make them match {before})"
    )
    assert not stale, (
        f"tools/stage_changes.toml declares {after} changes with no difference from {before}: "
        f"{stale} (remove them from the list)"
    )
