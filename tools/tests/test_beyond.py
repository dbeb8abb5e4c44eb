"""The "Beyond the tutorial" diffs (docs/beyond/*.diff): each applies to part4_tests, and part 4
with it passes its own test suite, run as a learner runs it (test_lint.py runs ruff on the code
each diff adds: ruff comes with the dev group, which a learner's `uv sync` leaves out).

A diff is written from the repository root (paths a/part4_tests/...), so a learner applies it
with `git apply docs/beyond/<name>.diff`. These tests apply it to a copy of part4_tests with
unified_diff.apply_to_folder, and check that `git apply` makes the same files. To change a diff:
apply it, edit part4_tests, write `git diff part4_tests` to the diff file, then restore
part4_tests.
"""

import re
import subprocess

import build_along
import pytest
from conftest import run_own_suite
from stages import ROOT, copy_stage
from unified_diff import DiffError, apply_to_folder

STAGE = "part4_tests"  # see stage_markers.py
BEYOND = ROOT / "docs" / "beyond"
# In the order of docs/beyond.md, which says that they also apply together in this order.
DIFFS = ["reconnect", "redis-outage", "limits", "unknown-paths"]

FILE_HEADER = re.compile(r"^--- (a/\S+|/dev/null)[^\n]*\n\+\+\+ (b/\S+)[^\n]*\n", re.M)


def apply_beyond(name, folder, beyond=BEYOND):
    """Apply docs/beyond/<name>.diff to folder, a copy of part4_tests; the paths it changed."""
    diff = (beyond / f"{name}.diff").read_text(encoding="utf-8")
    return apply_to_folder(diff, folder, STAGE, f"{name}.diff")


def copy_part4(dest):
    return copy_stage(STAGE, dest)


# --- Quick: every diff still applies ---------------------------------------------------------


@pytest.mark.parametrize("name", DIFFS)
def test_the_diff_applies_to_part4_and_git_apply_agrees(name, tmp_path):
    ours = apply_to_copy(tmp_path / "ours", [name])
    theirs = git_apply_to_copy(tmp_path / "git", [name])
    assert build_along.lesson_files(ours) == build_along.lesson_files(theirs)
    assert build_along.lesson_files(ours) != build_along.lesson_files(ROOT / STAGE)


def test_all_diffs_apply_together_in_order(tmp_path):
    ours = apply_to_copy(tmp_path / "ours", DIFFS)
    theirs = git_apply_to_copy(tmp_path / "git", DIFFS)
    assert build_along.lesson_files(ours) == build_along.lesson_files(theirs)


def test_every_diff_in_docs_beyond_is_tested_and_shown_on_the_page():
    assert sorted(p.stem for p in BEYOND.glob("*.diff")) == sorted(DIFFS)
    for page in ("beyond.md", "beyond.ko.md"):
        text = (ROOT / "docs" / page).read_text(encoding="utf-8")
        shown = re.findall(r'^--8<-- "docs/beyond/([\w-]+)\.diff"$', text, re.M)
        assert shown == DIFFS, page


def test_a_diff_that_no_longer_matches_names_the_file_and_line(tmp_path):
    folder = copy_part4(tmp_path / STAGE)
    routing = folder / "chat" / "routing.py"
    routing.write_text(routing.read_text().replace("from . import consumers", "from . import x"))
    with pytest.raises(DiffError) as refused:
        apply_beyond("unknown-paths", folder)
    assert "unknown-paths.diff, chat/routing.py: hunk 1 does not apply" in str(refused.value)
    assert "'from . import consumers'" in str(refused.value)


def test_a_diff_as_git_diff_writes_it_applies_the_same(tmp_path):
    plain = (BEYOND / "redis-outage.diff").read_text(encoding="utf-8")

    def git_header(match):
        path = match.group(2).removeprefix("b/")
        mode = "new file mode 100644\nindex 0000000..1234567\n"
        if match.group(1) != "/dev/null":
            mode = "index 89abcde..1234567 100644\n"
        return f"diff --git a/{path} b/{path}\n{mode}{match.group(0)}"

    as_git_writes_it = FILE_HEADER.sub(git_header, plain)
    assert as_git_writes_it.count("diff --git ") == 2
    (tmp_path / "beyond").mkdir()
    (tmp_path / "beyond" / "redis-outage.diff").write_text(as_git_writes_it, encoding="utf-8")
    ours = apply_to_copy(tmp_path / "plain", ["redis-outage"])
    from_git = apply_to_copy(tmp_path / "git", ["redis-outage"], tmp_path / "beyond")
    assert build_along.lesson_files(ours) == build_along.lesson_files(from_git)


def apply_to_copy(parent, names, beyond=BEYOND):
    folder = copy_part4(parent / STAGE)
    for name in names:
        apply_beyond(name, folder, beyond)
    return folder


def git_apply_to_copy(parent, names):
    """The learner's command, `git apply docs/beyond/<name>.diff`, run where part4_tests is."""
    folder = copy_part4(parent / STAGE)
    diffs = [str(BEYOND / f"{name}.diff") for name in names]
    result = subprocess.run(["git", "apply", *diffs], cwd=parent, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return folder


# --- Slow: part 4 with each diff passes its own suite ---------------------------------------


@pytest.mark.slow
@pytest.mark.xdist_group("beyond")
@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=[pytest.mark.redis] * (n == "redis-outage")) for n in DIFFS]
)
def test_part4_with_the_diff_passes_its_own_suite(name, tmp_path, request):
    folder = apply_to_copy(tmp_path, [name])
    # The Redis diff runs on Redis; its own test starts another one.
    redis = request.node.get_closest_marker("redis")
    run_own_suite(
        folder,
        f"part4 with {name}.diff fails its suite",
        redis_url=request.getfixturevalue("redis_url") if redis else None,
    )
