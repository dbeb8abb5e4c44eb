"""Unified diffs applied to text, with one set of rules for every tool that applies them (the
notes' "Build it yourself" steps, tools/build_along.py; the benchmark's tuning diffs,
tools/bench/targets.py; the "Beyond the tutorial" diffs, tools/tests/test_beyond.py).

A diff is `@@ -a,b +c,d @@` hunks of " ", "-" and "+" lines; `---`/`+++` headers are optional (a
diff of several files has them: file_diffs splits it). A hunk's counts must match its lines. A hunk
may sit up to SEARCH_LINES lines away from the line its header names, as with `patch` (the nearest
place wins); its lines must match exactly. A blank line stands for a blank context line (editors
strip the lone space).
"""

import re
from pathlib import Path

HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
SEARCH_LINES = 200  # how far from its stated line a hunk may have moved


class DiffError(ValueError):
    """A diff that cannot be read or does not apply; the message says where and why."""


# Lines `git diff` writes between files; they carry nothing a hunk needs.
GIT_LINE = re.compile(r"^(diff --git |index |(new|deleted) file mode |(old|new) mode )")


def file_diffs(diff):
    """[(path, diff)] of a diff of several files, each path as its +++ header names it (without
    git's b/ prefix), git's own lines left out. A new file's diff starts `--- /dev/null`."""
    found = []
    lines = diff.splitlines(keepends=True)
    diff = "".join(line for line in lines if not GIT_LINE.match(line))
    for chunk in re.split(r"^(?=--- )", diff, flags=re.M):
        header = re.search(r"^\+\+\+ (\S+)", chunk, re.M)
        if header:
            found.append((header.group(1).removeprefix("b/"), chunk))
        elif chunk.strip():
            raise DiffError(f"{chunk.splitlines()[0]!r} comes before the first file's +++ header")
    return found


def parse_hunks(diff, where="diff"):
    """[(old start, [(tag, text)])] of a unified diff; tag is " ", "-" or "+"."""
    hunks, current, counts = [], None, None
    for raw in diff.splitlines():
        if raw.startswith(("--- ", "+++ ")) and (current is None or counts == [0, 0]):
            continue
        header = HUNK.match(raw)
        if header:
            old_start, old_len, _new, new_len = header.groups()
            current = []
            counts = [int(old_len or 1), int(new_len or 1)]
            hunks.append((int(old_start), current))
            continue
        if raw.startswith("\\"):  # "\ No newline at end of file"
            continue
        if current is None:
            if raw.strip():
                raise DiffError(f"{where}: {raw!r} comes before the first @@ hunk header")
            continue
        if counts == [0, 0]:
            if raw.strip():
                raise DiffError(f"{where}: {raw!r} is outside any hunk (check the @@ counts)")
            continue
        tag, text = (raw[:1], raw[1:]) if raw else (" ", "")  # editors strip a lone " "
        if tag not in " -+":
            raise DiffError(f"{where}: {raw!r} starts with neither ' ', '-' nor '+'")
        current.append((tag, text))
        if tag in " -":
            counts[0] -= 1
        if tag in " +":
            counts[1] -= 1
        if min(counts) < 0:
            raise DiffError(f"{where}: a hunk has more lines than its @@ header says")
    if counts is not None and counts != [0, 0]:
        raise DiffError(f"{where}: the last hunk has fewer lines than its @@ header says")
    if not hunks:
        raise DiffError(f"{where}: no @@ hunk in the diff")
    return hunks


def apply_diff(text, diff, where="diff"):
    """text with the unified diff applied; DiffError when a hunk does not match."""
    lines = text.splitlines()
    trailing_newline = text.endswith("\n") or not text
    offset = 0
    for number, (old_start, hunk) in enumerate(parse_hunks(diff, where), 1):
        old = [t for tag, t in hunk if tag != "+"]
        new = [t for tag, t in hunk if tag != "-"]
        stated = max(old_start - 1 + offset, 0) if old else old_start + offset
        candidates = sorted(
            range(max(0, stated - SEARCH_LINES), min(len(lines), stated + SEARCH_LINES) + 1),
            key=lambda at: abs(at - stated),
        )
        at = next((c for c in candidates if lines[c : c + len(old)] == old), None)
        if at is None:
            raise DiffError(
                f"{where}: hunk {number} does not apply: it does not match the file. "
                + _mismatch(lines, old, stated)
            )
        lines[at : at + len(old)] = new
        offset += len(new) - len(old) + (at - stated)
    return "\n".join(lines) + ("\n" if trailing_newline and lines else "")


def _mismatch(lines, old, stated):
    for k, expected in enumerate(old):
        actual = lines[stated + k] if stated + k < len(lines) else "<end of file>"
        if actual != expected:
            return f"At line {stated + k + 1} it expects {expected!r} but the file has {actual!r}."
    return f"Its lines are not at line {stated + 1}."


def apply_to_folder(diff, folder, stage, where="diff"):
    """Apply a diff written from the repository root (paths a/<stage>/...) to folder, a copy of
    that stage: new files (`--- /dev/null`) are created. Returns the changed paths, relative to
    the stage. DiffError names the file when a path is outside the stage, a new file exists
    already, a changed one does not, or a hunk does not match."""
    changed = []
    for path, body in file_diffs(diff):
        if not path.startswith(f"{stage}/"):
            raise DiffError(f"{where}: {path} is not inside {stage}/")
        relative = path.removeprefix(f"{stage}/")
        target = Path(folder, relative)
        new = body.startswith("--- /dev/null")
        if target.exists() == new:
            state = "exists already" if new else "does not exist"
            raise DiffError(f"{where}: {relative} {state}")
        text = "" if new else target.read_text(encoding="utf-8")
        patched = apply_diff(text, body, f"{where}, {relative}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(patched, encoding="utf-8", newline="\n")
        changed.append(relative)
    return changed
