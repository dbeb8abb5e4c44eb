"""The stage notes' shape: their files, their section headings, and how to read Markdown headings
without taking a code comment for one.

Every stage folder has its notes in README.md (English) and README.ko.md (Korean), with the same
sections in the same order (NOTES_HEADINGS). tools/docs_checks.py enforces the shape; the checker,
tools/start.py and tools/build_along.py point at sections by these names.
"""

import re

from bilingual import Text

NOTES_FILE = Text("README.md", "README.ko.md")
NOTES = (NOTES_FILE.en, NOTES_FILE.ko)  # never part of a stage's code

NOTES_HEADINGS = {
    "en": [
        "Build it yourself",
        "What this step teaches",
        "Concepts",
        "Files changed since the previous stage",
        "Run it",
        "What you should see",
        "Exercises",
        "Common errors",
        "Where we differ from the official tutorial",
    ],
    "ko": [
        "직접 만들어 보기",
        "이 단계에서 배우는 것",
        "핵심 개념",
        "이전 단계에서 바뀐 파일",
        "실행하기",
        "확인하기",
        "연습 문제",
        "자주 만나는 오류",
        "공식 튜토리얼과 다른 점",
    ],
}


def _section(english):
    """A section's heading in both languages, named by its English heading."""
    return Text(english, NOTES_HEADINGS["ko"][NOTES_HEADINGS["en"].index(english)])


BUILD_SECTION = _section("Build it yourself")
FILES_SECTION = _section("Files changed since the previous stage")
ERRORS_SECTION = _section("Common errors")

# A fenced code block, also indented (inside a content tab or a list item).
FENCE = re.compile(r"^([ \t]*)(`{3,}|~{3,})\s*([\w+-]*)[^\n]*\n(.*?)^\1\2\s*$", re.S | re.M)
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def strip_code_blocks(text):
    """The text with fenced code blocks blanked out, line count kept."""
    return FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def strip_code(text):
    """The text with fenced code blocks blanked out (line count kept) and inline code removed."""
    return re.sub(r"`[^`\n]*`", "", strip_code_blocks(text))


def heading_lines(text):
    """[(line index, level, title)] of the ATX headings outside fenced code blocks (where a
    line starting with # is a comment)."""
    found = []
    for index, line in enumerate(strip_code_blocks(text).splitlines()):
        match = HEADING.match(line)
        if match:
            found.append((index, len(match.group(1)), match.group(2).strip()))
    return found


def headings(text):
    """[(level, title)] of the ATX headings outside code blocks."""
    return [(level, title) for _, level, title in heading_lines(text)]
