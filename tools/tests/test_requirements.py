"""requirements*.txt (for pip users) must say exactly what uv.lock says."""

import shutil
import subprocess

import pytest
from stages import ROOT

EXPORTS = {
    "requirements.txt": [],
    "requirements-test.txt": ["--group", "test"],
}


def body(text):
    """The export without uv's leading comment, which names the output file."""
    lines = text.splitlines()
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return lines


@pytest.mark.parametrize("name", EXPORTS)
def test_requirements_match_the_lock(name):
    uv = shutil.which("uv")
    assert uv, "uv is needed to check the pip requirements against uv.lock"
    fresh = subprocess.run(
        [
            uv,
            "export",
            "--format",
            "requirements.txt",
            "--no-default-groups",
            "--no-hashes",
            "--frozen",
            *EXPORTS[name],
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert body((ROOT / name).read_text()) == body(fresh), (
        f"{name} is out of date: uv export --format requirements.txt --no-default-groups "
        f"--no-hashes {' '.join(EXPORTS[name])} -o {name}"
    )
