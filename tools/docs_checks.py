"""Checks on the bilingual notes and docs pages, used by tools/tests/test_docs.py.

Every function takes text (or small values) and returns a list of problems, so the tests can feed
it both the real files and small broken examples.
"""

import fnmatch
import re
import tomllib

from docs_hooks import read_glossary
from notes import (
    FENCE,
    FILES_SECTION,
    NOTES,
    NOTES_HEADINGS,
    headings,
    strip_code,
    strip_code_blocks,
)
from stage_diff import START, changed_files
from stages import ROOT, STAGES

POSIX_LANGS = {"bash", "sh", "shell", "console", "zsh"}
POWERSHELL_LANGS = {"powershell", "ps1", "pwsh"}
CMD_LANGS = {"bat", "batch", "cmd", "dosbatch", "doscon"}
SHELL_LANGS = POSIX_LANGS | POWERSHELL_LANGS | CMD_LANGS

TITLE = {"en": re.compile(r"^Part \d+: \S"), "ko": re.compile(r"^\d+부: \S")}


def code_blocks(text):
    """[(language, body)] of the fenced code blocks, in order."""
    return [(m.group(3).lower(), m.group(4)) for m in FENCE.finditer(text)]


def shell_commands(body):
    """The commands of a shell block: its lines without blank lines and comments."""
    lines = [line.strip() for line in body.splitlines()]
    comment = ("#", "::", "rem ", "REM ")
    return [line.removeprefix("$ ") for line in lines if line and not line.startswith(comment)]


def parity_problems(english, korean):
    """How a Korean text's structure differs from its English original."""
    problems = []
    en_levels = [level for level, _ in headings(english)]
    ko_levels = [level for level, _ in headings(korean)]
    if en_levels != ko_levels:
        problems.append(f"heading levels differ: en {en_levels} vs ko {ko_levels}")
    en_blocks, ko_blocks = code_blocks(english), code_blocks(korean)
    if len(en_blocks) != len(ko_blocks):
        problems.append(f"{len(en_blocks)} code blocks in en, {len(ko_blocks)} in ko")
    for i, ((en_lang, en_body), (ko_lang, ko_body)) in enumerate(
        zip(en_blocks, ko_blocks, strict=False), 1
    ):
        if en_lang != ko_lang:
            problems.append(f"code block {i}: language {en_lang!r} in en, {ko_lang!r} in ko")
        elif en_lang in SHELL_LANGS and shell_commands(en_body) != shell_commands(ko_body):
            problems.append(f"code block {i}: shell commands differ")
    return problems


def notes_structure_problems(text, lang):
    """How a stage's notes differ from the shared structure (NOTES_HEADINGS, tools/notes.py)."""
    found = headings(text)
    problems = []
    h1 = [title for level, title in found if level == 1]
    if len(h1) != 1 or not TITLE[lang].match(h1[0]):
        problems.append(f"needs one title like {TITLE[lang].pattern!r}, found {h1}")
    h2 = [title for level, title in found if level == 2]
    if h2 != NOTES_HEADINGS[lang]:
        problems.append(f"sections {h2} should be {NOTES_HEADINGS[lang]}")
    return problems


def _mask(line, terms):
    """The line with each of these terms blanked out (same length)."""
    for term in sorted(terms, key=len, reverse=True):
        line = line.replace(term, "\0" * len(term))
    return line


def glossary_problems(korean, glossary=None):
    """[(line number, wrong variant, right term)] for Korean text outside code.

    A variant inside a right term does not count: 메모리 레이어 is wrong, 인메모리 레이어 right.
    """
    glossary = read_glossary() if glossary is None else glossary
    terms = [k for _, k, _ in glossary]
    problems = []
    for number, line in enumerate(strip_code(korean).splitlines(), 1):
        for _english, right, wrong in glossary:
            for variant in wrong:
                if variant in _mask(line, [k for k in terms if variant in k and k != variant]):
                    problems.append((number, variant, right))
    return problems


# Words a Korean reader knows without English: never glossed with it.
EVERYDAY_WORDS = {
    "메시지": "message",
    "테스트": "test",
    "브라우저": "browser",
    "서버": "server",
    "페이지": "page",
    "탭": "tab",
    "스레드": "thread",
    "파일": "file",
}


def everyday_gloss_problems(korean, glossary=None):
    """[(line number, "word(english)")] where an everyday word carries an English gloss.

    A longer glossary term that ends in the word (워커 스레드(worker thread)) is a real term.
    """
    glossary = read_glossary() if glossary is None else glossary
    longer = [k for _, k, _ in glossary if k not in EVERYDAY_WORDS]
    pattern = re.compile(
        "|".join(rf"{word}\({english}s?\)" for word, english in EVERYDAY_WORDS.items()), re.I
    )
    problems = []
    for number, line in enumerate(strip_code(korean).splitlines(), 1):
        masked = _mask(line, [k for k in longer if any(w in k for w in EVERYDAY_WORDS)])
        problems += [(number, m.group(0)) for m in pattern.finditer(masked)]
    return problems


def section(text, title):
    """The body of the H2 section with this title ("" when there is none)."""
    match = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    return match.group(1) if match else ""


def listed_files(text, lang):
    """The paths listed (as "- `path`: ...") in the notes' files-changed section."""
    body = strip_code_blocks(section(text, FILES_SECTION[lang]))
    return re.findall(r"^[-*] `([^`]+)`", body, re.M)


def declared_changes(path=None):
    """{stage: [patterns]} from tools/stage_changes.toml."""
    with open(path or ROOT / "tools" / "stage_changes.toml", "rb") as toml:
        data = tomllib.load(toml)
    return {stage: list(table.get("files", [])) for stage, table in data.items()}


def previous_stage(stage):
    i = STAGES.index(stage)
    return STAGES[i - 1] if i else START


def files_section_problems(listed, declared, stage):
    """How the notes' list of changed files disagrees with the declared (or real) changes.

    declared: the stage's patterns from tools/stage_changes.toml, or None when the toml has no
    table for the stage; then the list must match the real changes from the previous stage.
    """
    problems = []
    if len(set(listed)) != len(listed):
        problems.append("a file is listed twice")
    listed_set = set(listed) - set(NOTES)
    if declared is None:
        expected = set(changed_files(previous_stage(stage), stage))
    else:
        expected = set(declared) - set(NOTES)
    for pattern in sorted(expected - listed_set):
        if not any(fnmatch.fnmatch(path, pattern) for path in listed_set):
            problems.append(f"not in the notes: {pattern}")
    for path in sorted(listed_set - expected):
        if not any(fnmatch.fnmatch(path, pattern) for pattern in expected):
            problems.append(f"in the notes but not declared: {path}")
    return problems


def first_use_problems(korean, glossary=None):
    """Where a glossary term's "한글(English)" annotation is not on its first use, or repeats.

    Only body text counts (not headings, tables or code); a term inside a longer term (채널 in
    채널 레이어, 동기 in 비동기) is not a use of the shorter one.
    """
    glossary = read_glossary() if glossary is None else glossary
    body = strip_code(korean)
    body = re.sub(r"^(#.*|\|.*)$", "", body, flags=re.M)
    body = re.sub(r"[ \t]*\n\s*", " ", body)  # a line break in a paragraph is a space
    problems = []
    for english, term, _wrong in glossary:
        spans = [
            (m.start(), m.end())
            for k in (k for _, k, _ in glossary if term in k and k != term)
            for m in re.finditer(re.escape(k), body)
        ]
        uses = [
            body[m.end() :].lower().startswith(f"({english.lower()}")
            for m in re.finditer(re.escape(term), body)
            if not any(s <= m.start() and m.end() <= e for s, e in spans)
        ]
        if any(uses) and not uses[0]:
            problems.append(f"{term}({english}) is annotated, but not at its first use")
        if uses.count(True) > 1:
            problems.append(f"{term}({english}) is annotated {uses.count(True)} times")
    return problems


# --- One command for every shell ------------------------------------------------------------------
# Learners type the commands of the notes and docs in bash/zsh, PowerShell or cmd. A command must
# run unchanged in all three, or come with its PowerShell and cmd forms beside it: a content-tab
# group on the docs site (`=== "PowerShell"` tabs with ```powershell / ```bat blocks), or labelled
# list items in a README (`- PowerShell: `...``, `- cmd: `...``).

_ASSIGNMENT = r"""(?:env\s+)?[A-Za-z_]\w*=(?:"[^"]*"|'[^']*'|\S)*"""
_POSIX_PROGRAMS = "rm|cp|mv|cat|touch|ls|grep|sed|awk|head|tail|xargs|which"

# (pattern, why, view). The view is how the line is read: "plain" with the insides of quoted
# strings emptied and a trailing comment dropped; "expand" with only single-quoted strings
# emptied (double quotes do not stop a POSIX expansion); "quotes" with double-quoted strings
# emptied, so a single quote left is a quote cmd does not understand; "raw" as written.
POSIX_ONLY = [
    (
        re.compile(rf"^\s*{_ASSIGNMENT}(\s|$)"),
        "`VAR=value` sets a variable in POSIX shells only: use `uv run --env-file FILE ...` "
        "(a file such as redis.env), or show the PowerShell and cmd forms",
        "plain",
    ),
    (
        re.compile(r"(^|[;|]\s*)(export|unset)\s"),
        "`export`/`unset` exist in POSIX shells only: use `uv run --env-file FILE ...`",
        "plain",
    ),
    (
        re.compile(r"(^|[;|]\s*)(source|\.)\s+\S"),
        "`source`/`.` of a script (an activate script) is POSIX-only: use `uv run`, or show the "
        "PowerShell and cmd forms",
        "plain",
    ),
    (
        re.compile(r"&&|\|\|"),
        "`&&`/`||` do not exist in Windows PowerShell 5: one command a line",
        "plain",
    ),
    (
        re.compile(r"(?<![&>])&(?![&>])"),
        "`&` runs a command in the background in POSIX shells only: use a second terminal",
        "plain",
    ),
    (re.compile(r";"), "`;` does not separate commands in cmd: one command a line", "plain"),
    (
        re.compile(r"\$\(|\$\{|\$[A-Za-z_]|`"),
        "`$(...)`, `$VAR` and backticks are POSIX expansions: cmd does not expand them",
        "expand",
    ),
    (
        re.compile(r"'"),
        "cmd keeps single quotes as part of the argument: use double quotes",
        "quotes",
    ),
    (
        re.compile(rf"(^|\|\s*)({_POSIX_PROGRAMS})(\s|$)|(^|\|\s*)mkdir\s+-p\b"),
        "a POSIX program that cmd does not have (`rm -rf` fails in PowerShell too): say it in "
        "words, use a Python one-liner, or show each form",
        "plain",
    ),
    (re.compile(r"(^|\s)~(?=[/\\\s]|$)"), "cmd does not expand `~`: name the folder", "plain"),
    (
        re.compile(r"<"),
        "`<` (input redirection, or a <placeholder>) fails in PowerShell: write a placeholder "
        "in capitals, such as REPOSITORY_URL",
        "plain",
    ),
    (
        re.compile(r"\\\s*$"),
        "a `\\` line continuation is POSIX-only: put the command on one line",
        "raw",
    ),
]

# The first word of an inline code span that is a command someone types.
COMMAND_WORDS = {
    "uv", "python", "python3", "py", "pip", "pip3", "pytest", "docker", "git", "cd", "mkdir",
    "export", "unset", "source", ".", "rm", "cp", "mv", "cat", "touch", "ls", "django-admin",
    "redis-server", "brew",
}  # fmt: skip
INLINE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)
TAB = re.compile(r'^([ \t]*)===[+!]*\s+"([^"]*)"')
LABELS = {
    "powershell": re.compile(r"\bPowerShell\b[^`\n]*:\s*`", re.I),
    "cmd": re.compile(r"\bcmd\b[^`\n]*:\s*`"),
}


def _drop_comment(line):
    """The line without a trailing `# comment` (a # that starts a word)."""
    return re.sub(r"(^|\s)#.*$", "", line)


def _views(command):
    emptied = re.sub(r'"[^"]*"|\'[^\']*\'', lambda m: m.group(0)[0] * 2, command)
    return {
        "raw": command,
        "plain": _drop_comment(emptied),
        "expand": _drop_comment(re.sub(r"'[^']*'", "''", command)),
        "quotes": _drop_comment(re.sub(r'"[^"]*"', '""', command)),
    }


def posix_only(command, inline=False):
    """Why this command line does not run unchanged in bash, PowerShell and cmd ([] if it does).

    inline: the command is an inline code span in prose, where `NAME=value` alone is the content
    of a file (redis.env), not a command.
    """
    views = _views(command.strip())
    problems = []
    for pattern, why, view in POSIX_ONLY:
        if not pattern.search(views[view]):
            continue
        if inline and why.startswith("`VAR=value`"):
            if not re.match(rf"^\s*{_ASSIGNMENT}\s+\S", views["plain"]):
                continue  # NAME=value alone: a file's line
        problems.append(why)
    return problems


def _tab_groups(lines):
    """({line index: group}, {group: shells}) for pymdownx.tabbed groups: which lines belong to
    a group, and which of "powershell" and "cmd" its tabs give a form for (by the tab's label or
    its code block's language)."""
    member, shells = {}, {}
    group = indent = fence = None
    for i, line in enumerate(lines):
        tab = TAB.match(line) if fence is None else None
        if tab:
            if group is None or len(tab.group(1)) != indent:
                group, indent = i, len(tab.group(1))
                shells[group] = set()
            for shell in ("powershell", "cmd"):
                if re.search(rf"\b{shell}\b", tab.group(2), re.I):
                    shells[group].add(shell)
            member[i] = group
            continue
        if group is None:
            continue
        stripped = line.strip()
        if fence is None and stripped and len(line) - len(line.lstrip()) <= indent:
            group = None  # a line back at the group's indentation ends it
            continue
        member[i] = group
        opened = re.match(r"^\s*(`{3,}|~{3,})\s*([\w+-]*)", line)
        if fence is None and opened:
            fence, lang = opened.group(1), opened.group(2).lower()
            shells[group] |= {"powershell"} if lang in POWERSHELL_LANGS else set()
            shells[group] |= {"cmd"} if lang in CMD_LANGS else set()
        elif fence is not None and stripped == fence:
            fence = None
    return member, shells


def shell_problems(text):
    """[(line number, command, why)] for commands that run in POSIX shells only and have no
    PowerShell and cmd forms beside them: in POSIX-shell code blocks, and inline commands in
    prose. Siblings: a content-tab group with a PowerShell and a cmd form, or a paragraph/list
    with lines labelled `PowerShell: `...`` and `cmd: `...``."""
    lines = text.splitlines()
    member, shells = _tab_groups(lines)
    covered = {i for i, group in member.items() if shells[group] >= {"powershell", "cmd"}}
    problems = []
    for match in FENCE.finditer(text):
        lang = match.group(3).lower()
        fence_line = text.count("\n", 0, match.start())  # 0-based
        if lang not in POSIX_LANGS or fence_line in covered:
            continue
        for offset, line in enumerate(match.group(4).splitlines()):
            command = line.strip()
            if lang == "console" and not command.startswith("$ "):
                continue  # output
            if not command or command.startswith("#"):
                continue
            command = command.removeprefix("$ ")
            problems += [(fence_line + 2 + offset, command, why) for why in posix_only(command)]
    paragraph = []  # (line index, line): a run of non-blank prose lines
    for i, line in enumerate([*strip_code_blocks(text).splitlines(), ""]):
        if line.strip():
            paragraph.append((i, line))
            continue
        labelled = {s for s, label in LABELS.items() for _, ln in paragraph if label.search(ln)}
        joined = "\n".join(ln for _, ln in paragraph)
        for span in INLINE.finditer(joined):  # a span may go on over a line break
            j = paragraph[joined.count("\n", 0, span.start())][0]
            command = " ".join(span.group(2).split())
            words = command.split()
            is_assignment = re.match(rf"^{_ASSIGNMENT}\s+\S", command)
            if j in covered or labelled >= {"powershell", "cmd"}:
                continue
            if words and (words[0] in COMMAND_WORDS or is_assignment):
                problems += [(j + 1, command, why) for why in posix_only(command, inline=True)]
        paragraph = []
    return sorted(problems)
