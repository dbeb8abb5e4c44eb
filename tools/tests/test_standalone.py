"""The repository stands alone: a copy of it with nothing beside it (as GitHub's runner, a Docker
build or a learner's clone has) runs the test that once read the official tutorial from a folder
next to the clone, and nothing in the code or configuration reaches outside the clone.

`.ci/run` goes further and runs both test tiers in a fresh `git clone` of HEAD.
"""

import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import missing
from stages import ROOT

# Ways a path out of the clone was (or would be) written: the folder that held the tutorial's
# source beside the clone, or the clone's parent.
OUTSIDE = re.compile(r"ROOT\.parent\b|\.\./shared\b|shared/reference\b")
CODE = ["tools/**/*.py", ".ci/run", ".github/workflows/*.yml", "mkdocs.yml", "Dockerfile"]


def working_tree_files():
    """Every file git would commit now: tracked (not deleted) and new files it does not ignore."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        missing("git", "and the repository's files as git sees them")
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted({p for p in out.split("\0") if p and (ROOT / p).is_file()})


@pytest.fixture(scope="module")
def lone_copy(tmp_path_factory):
    """The working tree copied into an empty folder: nothing beside it, no shared/ folder."""
    copy = tmp_path_factory.mktemp("alone") / "channels-chat-tutorial"
    for path in working_tree_files():
        (copy / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, copy / path)
    assert sorted(p.name for p in copy.parent.iterdir()) == ["channels-chat-tutorial"]
    return copy


def test_the_fidelity_test_passes_in_a_copy_with_nothing_beside_it(lone_copy):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tools/tests/test_tutorial_fidelity.py"]
        + ["-n", "0", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=lone_copy,
        env={**env, "CI": "true"},  # in CI nothing may skip
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(r"\b4 passed\b", done.stdout) and "skipped" not in done.stdout, done.stdout


def test_the_tutorials_source_is_in_the_repository_with_its_licence_and_commit():
    folder = ROOT / "tools" / "reference" / "channels-tutorial"
    names = {p.name for p in folder.iterdir()}
    assert {"index.rst", "part_1.rst", "part_2.rst", "part_3.rst", "part_4.rst"} <= names
    assert "Django Software Foundation" in (folder / "LICENSE").read_text(encoding="utf-8")
    for readme in ("README.md", "README.ko.md"):
        assert "60cbc43c" in (folder / readme).read_text(encoding="utf-8"), readme


def test_no_code_or_configuration_names_a_path_outside_the_clone():
    files = sorted({p for pattern in CODE for p in ROOT.glob(pattern) if p.is_file()})
    assert ROOT / "tools" / "tests" / "test_tutorial_fidelity.py" in files
    here = ROOT / "tools" / "tests" / "test_standalone.py"
    found = [
        f"{path.relative_to(ROOT).as_posix()}:{number}: {line.strip()}"
        for path in files
        if path != here
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert found == []


def test_the_check_above_finds_the_old_way_of_reading_the_tutorial():
    old = 'REFERENCE = ROOT.parent / "shared" / "reference" / "channels-tutorial"'
    assert OUTSIDE.search(old) and OUTSIDE.search("(`../shared/reference/channels-tutorial/`")
    assert not OUTSIDE.search('REFERENCE = ROOT / "tools" / "reference" / "channels-tutorial"')
