"""Print the unified diff between two stages, leaving out generated files and the notes.

    uv run python tools/stage_diff.py part1_echo part2_groups     # one pair
    uv run python tools/stage_diff.py                             # every consecutive pair
    uv run python tools/stage_diff.py startproject part1_echo     # part1 against a fresh
                                                                  # startproject + startapp
    uv run python tools/stage_diff.py part2_groups part3_async chat/consumers.py  # some files
    uv run python tools/stage_diff.py --update-notes              # refresh the notes' diff blocks

"startproject" stands for what `django-admin startproject mysite` + `startapp chat` create with
the installed Django (its random SECRET_KEY replaced by a fixed placeholder, so the diff is
stable). The docs site renders the same diffs through tools/docs_hooks.py.
"""

import argparse
import atexit
import difflib
import fnmatch
import functools
import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_along import SECRET_KEY_LINE, fresh_project  # noqa: E402
from notes import NOTES  # noqa: E402
from stages import GENERATED, ROOT, STAGES  # noqa: E402

START = "startproject"


def is_generated(rel_path):
    return any(fnmatch.fnmatch(part, pattern) for part in rel_path.parts for pattern in GENERATED)


@functools.cache
def startproject_dir():
    """A fresh startproject + startapp (build_along.fresh_project), its random SECRET_KEY replaced
    by a fixed placeholder so the diff is stable; made once per process."""
    target = Path(tempfile.mkdtemp(prefix="startproject-")) / "project"
    atexit.register(shutil.rmtree, target.parent, ignore_errors=True)
    shutil.copytree(fresh_project(), target)
    settings = target / "mysite" / "settings.py"
    settings.write_text(SECRET_KEY_LINE.sub("SECRET_KEY = '<random>'", settings.read_text()))
    return target


def stage_dir(stage):
    if stage == START:
        return startproject_dir()
    if stage not in STAGES:
        raise SystemExit(f"unknown stage {stage!r}: choose from {', '.join([START, *STAGES])}")
    return ROOT / stage


def stage_files(stage, with_notes=False):
    """Paths (relative to the stage folder, as POSIX strings) of the lesson's files."""
    base = stage_dir(stage)
    found = []
    for path in base.rglob("*"):
        rel = path.relative_to(base)
        if path.is_file() and not is_generated(rel) and (with_notes or rel.as_posix() not in NOTES):
            found.append(rel.as_posix())
    return sorted(found)


def _lines(path):
    if not path.is_file():
        return []
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def changed_files(old, new, with_notes=False):
    """Paths that were added, removed or edited going from stage old to stage new."""
    old_dir, new_dir = stage_dir(old), stage_dir(new)
    names = sorted(set(stage_files(old, with_notes)) | set(stage_files(new, with_notes)))
    return [
        n
        for n in names
        if (old_dir / n).is_file() != (new_dir / n).is_file()
        or _lines(old_dir / n) != _lines(new_dir / n)
    ]


def file_diff(old, new, name):
    """Unified diff of one file between two stages ("" when unchanged)."""
    old_path, new_path = stage_dir(old) / name, stage_dir(new) / name
    before, after = _lines(old_path), _lines(new_path)
    from_name = f"{old}/{name}" if old_path.is_file() else "/dev/null"
    to_name = f"{new}/{name}" if new_path.is_file() else "/dev/null"
    out = []
    if before == after == [] and old_path.is_file() != new_path.is_file():
        out.append(f"--- {from_name}\n+++ {to_name}\n")  # an empty file added or removed
    for line in difflib.unified_diff(before, after, fromfile=from_name, tofile=to_name):
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def stage_diff(old, new, names=None, with_notes=False):
    """The unified diff from stage old to stage new, for the given files (default: all)."""
    names = changed_files(old, new, with_notes) if names is None else names
    return "".join(file_diff(old, new, name) for name in names)


def consecutive_pairs():
    chain = [START, *STAGES]
    return list(zip(chain, chain[1:], strict=False))


# --- Diff blocks inside the notes -------------------------------------------------------------

DIFF_BLOCK = re.compile(r"^```diff\n(.*?)^```$", re.S | re.M)


def diff_block_files(block):
    """(old stage, new stage, [files]) named by a diff block's ---/+++ headers."""
    stages, files = [], []
    for header in re.finditer(r"^--- (\S+)\n\+\+\+ (\S+)$", block, re.M):
        sides = [h.split("/", 1) if h != "/dev/null" else [None, None] for h in header.groups()]
        stages.append((sides[0][0], sides[1][0]))
        files.append(sides[1][1] or sides[0][1])
    olds = {s[0] for s in stages if s[0]}
    news = {s[1] for s in stages if s[1]}
    if len(olds) != 1 or len(news) != 1:
        return None
    return olds.pop(), news.pop(), files


def stale_diff_blocks(text):
    """For every ```diff block in a note: (block, expected) when it is not the real diff."""
    stale = []
    for match in DIFF_BLOCK.finditer(text):
        block = match.group(1)
        named = diff_block_files(block)
        if named is None:
            stale.append((block, "<a diff block must name one old and one new stage>"))
            continue
        expected = stage_diff(*named)
        if block != expected:
            stale.append((block, expected))
    return stale


def refresh_diff_blocks(text):
    def replace(match):
        named = diff_block_files(match.group(1))
        return match.group(0) if named is None else "```diff\n" + stage_diff(*named) + "```"

    return DIFF_BLOCK.sub(replace, text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", nargs="?", help=f"{START} or a stage folder, e.g. part1_echo")
    parser.add_argument("new", nargs="?", help="a later stage folder, e.g. part2_groups")
    parser.add_argument("files", nargs="*", help="only these files (relative to the stage)")
    parser.add_argument("--with-notes", action="store_true", help="include README*.md")
    parser.add_argument("--stat", action="store_true", help="list the changed files only")
    parser.add_argument(
        "--update-notes", action="store_true", help="rewrite the diff blocks in every stage's notes"
    )
    args = parser.parse_args(argv)

    if args.update_notes:
        for stage in STAGES:
            for name in NOTES:
                note = ROOT / stage / name
                if note.is_file():
                    text = note.read_text(encoding="utf-8")
                    if refresh_diff_blocks(text) != text:
                        note.write_text(refresh_diff_blocks(text), encoding="utf-8")
                        print(f"updated {note.relative_to(ROOT)}")
        return 0
    if bool(args.old) != bool(args.new):
        parser.error("give two stages, or none for every consecutive pair")
    pairs = [(args.old, args.new)] if args.old else consecutive_pairs()
    for old, new in pairs:
        if args.stat:
            for name in changed_files(old, new, args.with_notes):
                print(f"{old} -> {new}: {name}")
        else:
            names = args.files or None
            sys.stdout.write(stage_diff(old, new, names, args.with_notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
