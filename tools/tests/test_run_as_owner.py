"""tools/run-as-owner.sh, the Docker images' entrypoint: the command runs as the owner of its
working directory (a mounted stage folder, or the clone for the tests and learner services), so
what a container writes there belongs to the learner on a Linux host, and a stage server and the
learner's shell can both write it. Run here for real, with the same sh, stat and setpriv."""

import os
import shutil
import subprocess
import sys

import pytest
from stages import ROOT

SCRIPT = ROOT / "tools" / "run-as-owner.sh"
SHOW = 'id -u; id -g; echo "$HOME"; mkdir made'

pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="the images' entrypoint, run by Docker on Linux only"
)


def run_in(folder):
    result = subprocess.run(
        ["sh", str(SCRIPT), "sh", "-c", SHOW], cwd=folder, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split(), (folder / "made").stat()


def test_the_command_runs_as_the_owner_of_its_working_directory(tmp_path):
    """As root (Docker's default user, and this test run as root): the owner's uid, gid and a HOME
    of its own. As anyone else the command runs unchanged, as that user."""
    folder = tmp_path / "clone"
    folder.mkdir()
    if os.geteuid() != 0:
        out, made = run_in(folder)
        assert out[:2] == [str(os.geteuid()), str(os.getegid())]
        assert made.st_uid == os.geteuid()
        return
    # A folder root owns (Docker Desktop on Windows shows a mount so): nothing to switch to.
    out, made = run_in(folder)
    assert out[:2] == ["0", "0"] and made.st_uid == 0
    os.rmdir(folder / "made")

    os.chown(tmp_path, 4321, 4321)  # the owner must reach the folder, as on a host
    os.chown(folder, 4321, 4321)
    try:
        out, made = run_in(folder)
        assert out == ["4321", "4321", "/tmp/home-4321"]
        assert (made.st_uid, made.st_gid) == (4321, 4321)
    finally:
        shutil.rmtree("/tmp/home-4321", ignore_errors=True)
