"""A Windows checkout (Git for Windows sets core.autocrlf=true) keeps LF in every text file, so the
shell scripts run, the stage diffs compare byte for byte, and the drift check, every stage's
contract and the build-along check hold on that clone.

The clone is of the committed HEAD: commit a .gitattributes change before running this.
"""

import shutil
import subprocess
import sys

import pytest
from conftest import missing
from stages import ROOT

# One worker: the module's server (or clone) is started once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("autocrlf_clone")]


def git(*args, cwd):
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


def crlf_files(clone):
    """Tracked files whose working-tree copy has a CRLF, leaving out what git treats as binary."""
    found = []
    for line in git("ls-files", "--eol", "-z", cwd=clone).split("\0"):
        if not line:
            continue
        info, path = line.split("\t", 1)
        if "-text" in info.split()[2]:  # attr/-text: binary by .gitattributes
            continue
        if b"\r\n" in (clone / path).read_bytes():
            found.append(path)
    return found


@pytest.fixture(scope="module")
def windows_clone(tmp_path_factory):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        missing("git", "and the repository's history")
    clone = tmp_path_factory.mktemp("autocrlf") / "repo"
    subprocess.run(
        ["git", "-c", "core.autocrlf=true", "clone", "--quiet", str(ROOT), str(clone)],
        check=True,
        capture_output=True,
    )
    git("config", "core.autocrlf", "true", cwd=clone)
    return clone


def test_no_text_file_gets_crlf(windows_clone):
    assert (windows_clone / ".gitattributes").exists(), "commit .gitattributes first"
    assert crlf_files(windows_clone) == []
    assert b"\r" not in (windows_clone / "tools" / "install-system-deps.sh").read_bytes()
    subprocess.run(["bash", "-n", "tools/install-system-deps.sh"], cwd=windows_clone, check=True)
    # The images stay byte for byte what was committed.
    for png in ("docs/img/benchmark.png", "docs/img/benchmark.ko.png"):
        assert (windows_clone / png).read_bytes() == (ROOT / png).read_bytes()


def test_without_the_attributes_autocrlf_would_write_crlf(windows_clone, tmp_path):
    """The control: the same clone with .gitattributes overridden gets CRLF, so the check above
    looks at files autocrlf really rewrites."""
    control = tmp_path / "control"
    shutil.copytree(windows_clone, control, symlinks=True)
    (control / ".git" / "info").mkdir(exist_ok=True)
    (control / ".git" / "info" / "attributes").write_text("* text=auto !eol\n*.png binary\n")
    rewritten = ["tools/install-system-deps.sh", "part1_echo/chat/consumers.py"]
    for path in rewritten:
        (control / path).unlink()
    git("checkout", "--", *rewritten, cwd=control)
    assert set(rewritten) <= set(crlf_files(control))


def pytest_on(clone, *args):
    """The repo's own tests, run in the clone (with this environment's Python)."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "0", "-p", "no:cacheprovider", "-q", *args],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary, summary


def test_drift_check_and_every_stage_contract_pass_on_the_clone(windows_clone):
    pytest_on(
        windows_clone,
        "tools/tests/test_drift.py",
        "tools/tests/test_stage_contract.py",
        "-k",
        "test_drift or memory",  # every stage's contract checks, on the in-memory layer
    )


def test_build_along_check_passes_on_the_clone(windows_clone):
    """The steps' code blocks, applied to a fresh startproject, equal the clone's stage files."""
    pytest_on(windows_clone, "tools/tests/test_build_along.py")
