"""Checks on the bilingual notes and docs pages, used by tools/tests/test_docs.py.

Every function takes text (or small values) and returns a list of problems, so the tests can feed
it both the real files and small broken examples.
"""

import ast
import fnmatch
import re
import tomllib
import unicodedata

from docs_hooks import Term, read_glossary
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


def _terms(glossary):
    """The glossary's rows as Terms (tests pass small lists of tuples)."""
    return [Term(*row) for row in (read_glossary() if glossary is None else glossary)]


def glossary_problems(korean, glossary=None):
    """[(line number, wrong variant, right term)] for Korean text outside code.

    A variant inside a right term does not count: 메모리 레이어 is wrong, 인메모리 레이어 right.
    """
    terms = _terms(glossary)
    rights = [t.korean for t in terms]
    problems = []
    for number, line in enumerate(strip_code(korean).splitlines(), 1):
        for term in terms:
            for variant in term.wrong:
                if variant in _mask(line, [k for k in rights if variant in k and k != variant]):
                    problems.append((number, variant, term.korean))
    return problems


def _english(term):
    """The English a gloss uses: the glossary's English without a parenthesis."""
    return term.english.split(" (")[0]


def _gloss(term):
    """A pattern for the gloss right after the term: (consumer), **(consumer), (consumers)."""
    return re.compile(rf"[*_]*\({re.escape(_english(term))}s?[),]", re.I)


def everyday_gloss_problems(korean, glossary=None):
    """[(line number, "word(english)")] where an everyday word (first use "plain" in the
    glossary) carries an English gloss. A longer term that holds the word is not a use of it:
    워커 스레드(worker thread) is right."""
    terms = _terms(glossary)
    problems = []
    for number, line in enumerate(strip_code(korean).splitlines(), 1):
        for term in (t for t in terms if not t.gloss):
            longer = [t.korean for t in terms if term.korean in t.korean and t != term]
            masked = _mask(line, longer)
            for m in re.finditer(re.escape(term.korean), masked):
                gloss = _gloss(term).match(masked, m.end())
                if gloss:
                    problems.append((number, line[m.start() : gloss.end()]))
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


def prose(text):
    """The running text of a page, one line: without code, headings, tables, HTML comments,
    link texts (a page's title) and quoted words (a title, a label, a program's words)."""
    body = re.sub(r"<!--.*?-->", " ", strip_code(text), flags=re.S)
    body = re.sub(r"^[ \t]*(#.*|\|.*)$", "", body, flags=re.M)
    body = re.sub(r"\[[^\]\n]*\]\([^)\s]*\)", " ", body)
    body = re.sub(r"[ \t]*\n\s*", " ", body)  # a line break in a paragraph is a space
    return re.sub(r'"[^"]{0,80}"|\u201c[^\u201d]{0,80}\u201d', " ", body)


def first_use_problems(korean, glossary=None):
    """Where a real term (first use "gloss" in the glossary) is not written "한글(English)" at
    its first use on the page, or is glossed again later.

    Only running text counts (see prose()); a term inside a longer term (채널 in 채널 레이어, 동기
    in 비동기) is not a use of the shorter one.
    """
    terms = _terms(glossary)
    body = prose(korean)
    problems = []
    for term in (t for t in terms if t.gloss):
        longer = [t.korean for t in terms if term.korean in t.korean and t != term]
        spans = [(m.start(), m.end()) for k in longer for m in re.finditer(re.escape(k), body)]
        uses = [
            m
            for m in re.finditer(re.escape(term.korean), body)
            if not any(s <= m.start() and m.end() <= e for s, e in spans)
        ]
        glossed = [bool(_gloss(term).match(body, m.end())) for m in uses]
        gloss = f"{term.korean}({_english(term)})"
        if uses and not glossed[0]:
            at = body[max(0, uses[0].start() - 15) : uses[0].end() + 15]
            problems.append(f"{term.korean} unglossed at its first use ({at!r}): write {gloss}")
        if glossed.count(True) > 1:
            problems.append(f"{gloss} is glossed {glossed.count(True)} times: only the first use")
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


# --- Emphasis that GitHub renders too ---------------------------------------------------------
# GitHub renders Markdown by CommonMark's rules, the docs site by Python-Markdown's looser ones. A
# `**` closes bold only when it is right-flanking (CommonMark 6.2): after a letter, or after
# punctuation when whitespace or punctuation follows. So "**채널(channel)**이" is bold on the site
# and shows its asterisks on GitHub. The check below runs CommonMark's delimiter algorithm on every
# paragraph, list item, table cell and heading, and reports the runs left as literal characters.

_LIST_ITEM = re.compile(r"^(?:[-*+]|\d+[.)])(?:[ \t]+\[[ xX]\])?[ \t]+")
_THEMATIC_BREAK = re.compile(r"^([-*_])[ \t]*(?:\1[ \t]*){2,}$")
_NOT_PROSE = re.compile(r"^(?:===|!!!|\?\?\?|<!--|-->|\|?[ \t]*:?-{3,})")


def _is_space(char):
    return char == "" or char.isspace()


def _is_punct(char):
    return char != "" and unicodedata.category(char)[0] in "PS"


def _masked(text):
    """The text, same length, with what cannot hold emphasis delimiters blanked: the inside of
    code spans, autolinks and link destinations, and backslash-escaped characters."""

    def blank(match, keep=1):
        body = match.group(0)
        return body[:keep] + "x" * (len(body) - 2 * keep) + body[-keep:]

    text = INLINE.sub(lambda m: m.group(1) + "x" * len(m.group(2)) + m.group(1), text)
    text = re.sub(r"<[A-Za-z][\w+.-]*:[^\s<>]*>", blank, text)
    text = re.sub(r"\]\([^()\s]*\)", lambda m: blank(m, 2), text)
    return re.sub(r"\\[!-/:-@\[-`{-~]", "!!", text)


def _literal_delimiters(text):
    """[(offset, run)] of the `*` and `_` runs that CommonMark leaves literal in one inline text,
    although they could open or close emphasis (spec 6.2 and its "process emphasis" steps)."""
    runs = []
    for m in re.finditer(r"\*+|_+", text):
        before = text[m.start() - 1] if m.start() else ""
        after = text[m.end()] if m.end() < len(text) else ""
        left = not _is_space(after) and (
            not _is_punct(after) or _is_space(before) or _is_punct(before)
        )
        right = not _is_space(before) and (
            not _is_punct(before) or _is_space(after) or _is_punct(after)
        )
        if m.group(0)[0] == "*":
            can_open, can_close = left, right
        else:
            can_open = left and (not right or _is_punct(before))
            can_close = right and (not left or _is_punct(after))
        runs.append(
            {"at": m.start(), "run": m.group(0), "left": len(m.group(0)), "length": len(m.group(0)),
             "open": can_open, "close": can_close, "active": True}
        )  # fmt: skip
    bottoms = {}
    for i, closer in enumerate(runs):
        while closer["active"] and closer["close"] and closer["left"]:
            key = (closer["run"][0], closer["length"] % 3, closer["open"])
            opener = None
            for j in range(i - 1, bottoms.get(key, -1), -1):
                o = runs[j]
                if not (o["active"] and o["open"] and o["left"]) or o["run"][0] != closer["run"][0]:
                    continue
                odd = (o["close"] or closer["open"]) and (o["length"] + closer["length"]) % 3 == 0
                if odd and not (o["length"] % 3 == 0 and closer["length"] % 3 == 0):
                    continue
                opener = j
                break
            if opener is None:
                bottoms[key] = i - 1
                break
            used = 2 if runs[opener]["left"] >= 2 and closer["left"] >= 2 else 1
            runs[opener]["left"] -= used
            closer["left"] -= used
            for between in runs[opener + 1 : i]:
                if between["left"]:
                    between["active"] = False  # literal now: CommonMark drops it from the stack
    return [
        (r["at"], r["run"][: r["left"]]) for r in runs if (r["open"] or r["close"]) and r["left"]
    ]


def emphasis_problems(text):
    """[(line number, text around it)] for `**`, `*`, `__` and `_` that GitHub would show as
    literal characters although they could open or close emphasis; outside code blocks."""
    comments = re.sub(r"<!--.*?-->", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)
    lines = strip_code_blocks(comments).splitlines()
    units = []  # [(line number, text)] pieces of one inline text
    block = []

    def flush():
        if block:
            units.append(list(block))
            block.clear()

    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        while stripped.startswith(">"):
            stripped = stripped[1:].strip()
        if not stripped or _NOT_PROSE.match(stripped) or _THEMATIC_BREAK.match(stripped):
            flush()
            continue
        if stripped.startswith("#") and re.match(r"^#{1,6}(\s|$)", stripped):
            flush()
            units.append([(number, re.sub(r"^#+\s*|\s+#+\s*$", "", stripped))])
            continue
        if stripped.startswith("|"):
            flush()
            cells = re.split(r"(?<!\\)\|", _masked(stripped))
            start = 0
            for cell in cells:
                units.append([(number, stripped[start : start + len(cell)])])
                start += len(cell) + 1
            continue
        item = _LIST_ITEM.match(stripped) or re.match(r"^:[ \t]+", stripped)
        if item:
            flush()
            stripped = stripped[item.end() :]
        block.append((number, stripped))
    flush()
    problems = []
    for unit in units:
        joined = "\n".join(piece for _, piece in unit)
        for offset, run in _literal_delimiters(_masked(joined)):
            index = joined.count("\n", 0, offset)
            start = offset - (joined.rfind("\n", 0, offset) + 1)
            piece = unit[index][1]
            problems.append((unit[index][0], piece[max(0, start - 20) : start + len(run) + 20]))
    return problems


# --- The tools' Korean messages -----------------------------------------------------------------

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def korean_strings(path):
    """[(line number, text)] of the Korean string literals of a tool: a Python file's strings
    (f-strings by their literal parts), or a TOML file's lines that hold Hangul."""
    source = path.read_text(encoding="utf-8")
    if path.suffix == ".toml":
        return [(n, line) for n, line in enumerate(source.splitlines(), 1) if HANGUL.search(line)]
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return sorted(
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and HANGUL.search(node.value)
    )


def tool_files():
    """The files whose strings the tools print: tools/ and tools/bench/ (not the tests)."""
    tools = ROOT / "tools"
    return sorted([*tools.glob("*.py"), *tools.glob("bench/*.py"), *tools.glob("*.toml")])
