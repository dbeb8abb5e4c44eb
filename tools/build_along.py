"""Apply a stage's "Build it yourself" steps to a folder, exactly as a learner would type them.

A stage's README.md opens with `## Build it yourself` (README.ko.md: `## 직접 만들어 보기`), made of
numbered steps `### 1. <what>`. Inside that section (the rest of the README is not read):

- a fenced block with `title="<path>"` in its info string is the WHOLE new content of that file,
  whatever its language: ```` ```python title="chat/consumers.py" ````;
- a ```` ```diff title="<path>" ```` block is a unified diff (`@@ -a,b +c,d @@` hunks of ` `, `-`,
  `+` lines; `---`/`+++` headers optional) applied to that file's current content. A hunk may sit a
  few lines away from the line its header names, as with `patch`; its lines must match exactly;
- `<!-- build-along: delete PATH [PATH ...] -->` on a line of its own deletes files or folders;
- fenced blocks without a title (commands, output) are not run.
Paths are relative to the stage folder, "/"-separated.

API (import from tools/, as the tests do with pythonpath = tools):

    steps(readme)             -> [Action]: every titled block and delete comment, in order; each
                                 Action names its step heading and README line
    apply(readme, folder)     -> [Action] applied to folder; BuildAlongError (naming the step, the
                                 file and the first line that does not match) when one cannot be
    start_folder(stage, dest) -> dest made as the stage's starting point: part1_echo = a fresh
                                 `django-admin startproject mysite .` + `python manage.py startapp
                                 chat` run with this Python (once per process, then copied); later
                                 stages = a copy of the previous reference stage without its notes
                                 and generated files (stages.GENERATED). dest must not exist or be
                                 empty.
    lesson_files(folder)      -> {path: text} of a folder as the stage comparison sees it: no
                                 notes, no generated files, the SECRET_KEY line of
                                 mysite/settings.py normalised
    has_section(readme)       -> whether the README has the section

From the command line (a quick way to see the steps work, or to make a finished copy):

    uv run python tools/build_along.py part2_groups /tmp/built   # start, apply, compare
"""

import argparse
import atexit
import fnmatch
import functools
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

sys.path.insert(0, str(Path(__file__).resolve().parent))
from notes import BUILD_SECTION, NOTES  # noqa: E402
from stages import GENERATED, ROOT, STAGES  # noqa: E402
from unified_diff import DiffError, apply_diff  # noqa: E402

SECTION_TITLES = (BUILD_SECTION.en, BUILD_SECTION.ko)
SECRET_KEY_LINE = re.compile(r"^SECRET_KEY = .*$", re.M)

FENCE_OPEN = re.compile(r"^(`{3,}|~{3,})(.*)$")
STEP_HEADING = re.compile(r"^###\s+(\d+\.\s+.+?)\s*$")
DELETE = re.compile(r"^<!--\s*build-along:\s*delete\s+(.+?)\s*-->\s*$")
INDENTED_TITLED = re.compile(r"^\s+(`{3,}|~{3,}).*\btitle=")
TITLE = re.compile(r"""\btitle=(?:"([^"]*)"|'([^']*)'|(\S+))""")


class BuildAlongError(Exception):
    """A step that cannot be parsed or applied; the message names the step and the file."""


@dataclass
class Action:
    step: str  # the step's heading, e.g. "3. Add the index view"
    line: int  # line of the README where the block or comment starts (1-based)
    kind: str  # "write", "diff" or "delete"
    paths: list  # one path for write/diff, one or more for delete
    body: str = ""  # the file's content (write) or the diff (diff)

    def where(self):
        return f'step "{self.step}" (README line {self.line})'


def _section_lines(text):
    """(first line number, lines) of the Build it yourself section, or None."""
    lines = text.splitlines(keepends=True)
    start = None
    fence = None
    for number, line in enumerate(lines):
        opened = FENCE_OPEN.match(line.rstrip("\n"))
        if fence:
            if line.strip() == fence:
                fence = None
            continue
        if opened:
            fence = opened.group(1)
            continue
        if line.startswith("## "):
            if start is not None:
                return start + 1, lines[start:number]
            if line[3:].strip() in SECTION_TITLES:
                start = number
    return (start + 1, lines[start:]) if start is not None else None


def has_section(readme):
    return _section_lines(Path(readme).read_text(encoding="utf-8")) is not None


def _safe_path(path, where):
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or ".." in pure.parts or "\\" in path:
        raise BuildAlongError(f"{where}: {path!r} is not a path inside the stage folder")
    return pure.as_posix()


def steps(readme):
    """Every titled code block and delete comment of the README's Build it yourself section."""
    readme = Path(readme)
    found = _section_lines(readme.read_text(encoding="utf-8"))
    if found is None:
        raise BuildAlongError(f"{readme}: no '## {SECTION_TITLES[0]}' section")
    first, lines = found
    actions, step, i = [], None, 0
    while i < len(lines):
        line, number = lines[i].rstrip("\n"), first + i
        heading = STEP_HEADING.match(line)
        if heading:
            step = heading.group(1)
        if INDENTED_TITLED.match(line):
            raise BuildAlongError(
                f"{readme}:{number}: a titled code block is indented (inside a list?); "
                "start its fence at the beginning of the line"
            )
        opened = FENCE_OPEN.match(line)
        if opened:
            fence, info = opened.group(1), opened.group(2)
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == fence), None)
            if end is None:
                raise BuildAlongError(f"{readme}:{number}: a code block is never closed")
            title = TITLE.search(info)
            if title:
                where = f'step "{step}" (README line {number})'
                if step is None:
                    raise BuildAlongError(f"{readme}:{number}: a titled block before any step")
                path = _safe_path(next(g for g in title.groups() if g is not None), where)
                kind = "diff" if info.split()[0:1] == ["diff"] else "write"
                body = "".join(lines[i + 1 : end])
                actions.append(Action(step, number, kind, [path], body))
            i = end + 1
            continue
        delete = DELETE.match(line)
        if delete:
            if step is None:
                raise BuildAlongError(f"{readme}:{number}: a delete comment before any step")
            where = f'step "{step}" (README line {number})'
            paths = [_safe_path(p, where) for p in delete.group(1).split()]
            actions.append(Action(step, number, "delete", paths))
        i += 1
    return actions


# --- Applying --------------------------------------------------------------------------------


def apply(readme, folder):
    """Apply the README's steps to folder, in order; returns the actions applied."""
    folder = Path(folder)
    actions = steps(readme)
    for action in actions:
        if action.kind == "delete":
            for path in action.paths:
                target = folder / path
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
                else:
                    raise BuildAlongError(f"{action.where()}: nothing to delete at {path}")
            continue
        path = action.paths[0]
        target = folder / path
        if action.kind == "write":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(action.body, encoding="utf-8", newline="\n")
            continue
        if not target.is_file():
            raise BuildAlongError(
                f"{action.where()}: {path} does not exist, so it cannot be patched"
            )
        where = f"{action.where()}, {path}"
        try:
            patched = apply_diff(target.read_text(encoding="utf-8"), action.body, where)
        except DiffError as error:
            raise BuildAlongError(str(error)) from None
        target.write_text(patched, encoding="utf-8", newline="\n")
    return actions


def start_folder(stage, dest):
    """Make dest the starting point of the stage's build (see the module docstring)."""
    if stage not in STAGES:
        raise BuildAlongError(f"unknown stage {stage!r}: choose from {', '.join(STAGES)}")
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise BuildAlongError(f"{dest} is not empty")
    index = STAGES.index(stage)
    if dest.exists():
        dest.rmdir()
    if index == 0:
        shutil.copytree(fresh_project(), dest)
        return dest
    previous = ROOT / STAGES[index - 1]

    # Not stages.copy_stage: the previous stage's notes stay out of the learner's start.
    def ignore(directory, names):
        top = Path(directory) == previous
        return [
            n
            for n in names
            if any(fnmatch.fnmatch(n, p) for p in GENERATED) or (top and n in NOTES)
        ]

    shutil.copytree(previous, dest, ignore=ignore)
    return dest


@functools.cache
def fresh_project():
    """A fresh `django-admin startproject mysite .` + `startapp chat` with this Python and its
    Django, made once per process in a temporary folder (copy it; copies share a SECRET_KEY).
    The one place the repo runs startproject: part1's starting point, and its step diff."""
    target = Path(tempfile.mkdtemp(prefix="build-along-start-"))
    atexit.register(shutil.rmtree, target, ignore_errors=True)
    for command in (
        [sys.executable, "-m", "django", "startproject", "mysite", "."],
        [sys.executable, "manage.py", "startapp", "chat"],
    ):
        result = subprocess.run(command, cwd=target, capture_output=True, text=True)
        if result.returncode:
            raise BuildAlongError(f"{' '.join(command[1:])} failed:\n{result.stderr}")
    return target


def lesson_files(folder):
    """{relative path: text} of the folder's lesson files (see the module docstring)."""
    folder = Path(folder)
    files = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or rel.as_posix() in NOTES:
            continue
        if any(fnmatch.fnmatch(part, p) for part in rel.parts for p in GENERATED):
            continue
        text = path.read_text(encoding="utf-8")
        if rel.as_posix() == "mysite/settings.py":
            text = SECRET_KEY_LINE.sub("SECRET_KEY = '<normalised>'", text)
        files[rel.as_posix()] = text
    return files


def differences(built, stage):
    """Human-readable differences between a built folder and the reference stage ([] = equal)."""
    import difflib

    got, want = lesson_files(built), lesson_files(ROOT / stage)
    problems = [f"missing: {p}" for p in sorted(want.keys() - got.keys())]
    problems += [f"extra: {p}" for p in sorted(got.keys() - want.keys())]
    for path in sorted(got.keys() & want.keys()):
        if got[path] != want[path]:
            diff = difflib.unified_diff(
                want[path].splitlines(keepends=True),
                got[path].splitlines(keepends=True),
                f"{stage}/{path}",
                f"built/{path}",
            )
            problems.append("differs:\n" + "".join(diff))
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=STAGES)
    parser.add_argument("dest", help="an empty or new folder to build the stage in")
    parser.add_argument("--lang", choices=["en", "ko"], default="en", help="which README's steps")
    args = parser.parse_args(argv)
    readme = ROOT / args.stage / ("README.ko.md" if args.lang == "ko" else "README.md")
    try:
        start_folder(args.stage, args.dest)
        for action in apply(readme, args.dest):
            print(f"{action.step}: {action.kind} {' '.join(action.paths)}")
    except BuildAlongError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    problems = differences(args.dest, args.stage)
    for problem in problems:
        print(problem)
    print(f"{args.dest} {'differs from' if problems else 'equals'} {args.stage}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
