"""Parts 1-3 read as the official tutorial's code for their step: at least 4 of every 5 lines are
the tutorial's own.

The tutorial's code for a step is taken from its source, kept at a pinned commit in
`tools/reference/channels-tutorial/` (see its README): every code block whose first line names a
file (`# chat/consumers.py`, `<!-- chat/templates/chat/room.html -->`), the last version of each
file up to that step, and for `mysite/settings.py`, which the tutorial shows as fragments, all of
them. Counted: the non-blank, non-comment lines of the stage's `chat/` and `mysite/`. Lines that
`django-admin startproject` generates in settings.py and wsgi.py count neither way; a line of ours
counts as the tutorial's when it matches the tutorial's file in order (whitespace aside).
"""

import difflib
import re
import subprocess
import sys
from collections import Counter

import pytest
from stages import ROOT

REFERENCE = ROOT / "tools" / "reference" / "channels-tutorial"
TARGET = 0.80
# Each stage is the tutorial up to (not including) a heading, or to the end of a part.
STEPS = {
    "part1_echo": ("part_2.rst", "Enable a channel layer"),
    "part2_groups": ("part_2.rst", None),
    "part3_async": ("part_3.rst", None),
}
PARTS = ["part_1.rst", "part_2.rst", "part_3.rst", "part_4.rst"]
GENERATED_FILES = ["mysite/settings.py", "mysite/wsgi.py"]  # startproject's, edited in place
PATH_COMMENT = re.compile(r"^(?:#\s*|<!--\s*)((?:chat|mysite)/[\w/.]+?)(?:\s*-->)?$")


@pytest.fixture(scope="module")
def reference():
    missing = [p for p in ["index.rst", *PARTS, "LICENSE"] if not (REFERENCE / p).is_file()]
    assert not missing, f"{REFERENCE.relative_to(ROOT)} lacks {', '.join(missing)}"
    return REFERENCE


def code_blocks(text):
    """(heading above it, dedented lines) of every `.. code-block::` in an .rst, in order."""
    lines = text.splitlines()
    heading, blocks, i = None, [], 0
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and lines[i + 1] and set(lines[i + 1]) <= set("-=") and line:
            heading = line.strip()
        directive = re.match(r"^(\s*)\.\. code-block::", line)
        i += 1
        if not directive:
            continue
        indent = len(directive.group(1))
        body = []
        while i < len(lines) and (
            not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent
        ):
            body.append(lines[i])
            i += 1
        while body and not body[0].strip():
            body.pop(0)
        if body:
            margin = min(len(b) - len(b.lstrip()) for b in body if b.strip())
            blocks.append((heading, [b[margin:] for b in body]))
    return blocks


def blocks_of_step(folder, stage):
    """The code blocks of the tutorial from its start to the end of the stage's step."""
    last_part, stop_heading = STEPS[stage]
    for part in PARTS[: PARTS.index(last_part) + 1]:
        for heading, body in code_blocks((folder / part).read_text(encoding="utf-8")):
            if part == last_part and stop_heading and heading == stop_heading:
                return
            yield body


def tutorial_files(folder, stage):
    """{path: [lines]} of the tutorial's code as it stands at the end of the stage's step."""
    files, settings = {}, []
    for body in blocks_of_step(folder, stage):
        named = PATH_COMMENT.match(body[0].strip())
        if not named:
            continue
        if named.group(1) == "mysite/settings.py":
            settings += body  # fragments, each an edit of the same file
        else:
            files[named.group(1)] = body  # a later version replaces an earlier one
    files["mysite/settings.py"] = settings
    return files


def code_lines(lines, suffix):
    """Normalised non-blank, non-comment lines (docstrings and inline comments left out)."""
    out, in_docstring = [], False
    for raw in lines:
        line = " ".join(raw.split())
        if suffix == ".py":
            if in_docstring:
                in_docstring = '"""' not in line
                continue
            if line.startswith('"""'):
                in_docstring = line.count('"""') == 1
                continue
            line = re.sub(r"\s+#\s.*$", "", line)
            if line.startswith("#"):
                continue
        else:
            line = re.sub(r"\s+//\s.*$", "", line)
            if line.startswith("//") or (line.startswith("<!--") and line.endswith("-->")):
                continue
        if line:
            out.append(line)
    return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """{path: Counter of lines} of a fresh `django-admin startproject mysite .`."""
    folder = tmp_path_factory.mktemp("startproject")
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "mysite", str(folder)], check=True
    )
    return {
        path: Counter(code_lines((folder / path).read_text().splitlines(), ".py"))
        for path in GENERATED_FILES
    }


def measure(stage, tutorial, generated):
    """{path: (tutorial's lines, counted lines)} for the stage's chat/ and mysite/."""
    folder = ROOT / stage
    result = {}
    for file in sorted((folder / "chat").rglob("*")) + sorted((folder / "mysite").rglob("*")):
        if not file.is_file() or file.suffix not in (".py", ".html"):
            continue
        path = file.relative_to(folder).as_posix()
        ours = code_lines(file.read_text().splitlines(), file.suffix)
        theirs = code_lines(tutorial.get(path, []), file.suffix)
        if path in generated:
            left = generated[path].copy()
            kept = []
            for line in ours:
                if left[line] > 0:
                    left[line] -= 1
                elif not line.startswith("SECRET_KEY ="):  # generated with another value
                    kept.append(line)
            ours = kept
            # The tutorial's fragments also repeat generated lines (INSTALLED_APPS' entries).
            theirs_left = Counter(theirs) - generated[path]
            matched = 0
            for line in ours:
                if theirs_left[line] > 0:
                    theirs_left[line] -= 1
                    matched += 1
        else:
            matcher = difflib.SequenceMatcher(None, ours, theirs, autojunk=False)
            matched = sum(block.size for block in matcher.get_matching_blocks())
        if ours:
            result[path] = (matched, len(ours))
    return result


def test_reference_yields_each_steps_consumer(reference):
    """The extraction itself: each step's consumer is the one the tutorial shows for it."""
    expected = {
        "part1_echo": 'self.send(text_data=json.dumps({"message": message}))',
        "part2_groups": "async_to_sync(self.channel_layer.group_send)(",
        "part3_async": "await self.channel_layer.group_send(",
    }
    for stage, line in expected.items():
        consumer = code_lines(tutorial_files(reference, stage)["chat/consumers.py"], ".py")
        assert line in consumer, stage
    part1 = tutorial_files(reference, "part1_echo")
    assert "CHANNEL_LAYERS = {" not in code_lines(part1["mysite/settings.py"], ".py")
    assert "'daphne'," in code_lines(part1["mysite/settings.py"], ".py")


@pytest.mark.parametrize("stage", list(STEPS))
def test_stage_is_mostly_the_tutorials_code(reference, generated, stage):
    per_file = measure(stage, tutorial_files(reference, stage), generated)
    theirs = sum(m for m, _ in per_file.values())
    counted = sum(n for _, n in per_file.values())
    share = theirs / counted
    print(f"\n{stage}: {theirs} of {counted} lines are the tutorial's ({share:.0%})")
    for path, (m, n) in per_file.items():
        print(f"  {path}: {m}/{n}")
    assert share >= TARGET, f"{stage}: {share:.0%} of its lines are the tutorial's, below 80%"
