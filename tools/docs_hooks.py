"""MkDocs hooks: render stage code, step diffs, the version matrix and the glossary at build time.

Registered under `hooks:` in mkdocs.yml. A page asks for generated content with a marker on a
line of its own, so every language's page gets the same content from one source:

    <!-- stage-notes: part2_groups -->         the stage's README.md (README.ko.md on Korean pages)
    <!-- stage-code: part2_groups -->          every file of the stage, one collapsible block each
    <!-- stage-diff: part1_echo part2_groups -->  the unified diff (tools/stage_diff.py)
    <!-- version-matrix -->                    versions locked in uv.lock
    <!-- glossary -->                          docs/glossary.tsv as a table
"""

import re
import sys
from collections import namedtuple
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lockfile import lock_packages  # noqa: E402
from stage_diff import stage_diff, stage_dir, stage_files  # noqa: E402
from stages import ROOT  # noqa: E402

MARKER = re.compile(
    r"^<!-- (stage-notes|stage-code|stage-diff|version-matrix|glossary)(?::\s*(.*?))? -->$", re.M
)

LANGUAGES = {".py": "python", ".html": "html", ".toml": "toml", ".md": "markdown", ".txt": "text"}

# Packages shown in the version matrix, in this order.
MATRIX = [
    "django",
    "channels",
    "channels-redis",
    "daphne",
    "redis",
    "asgiref",
    "twisted",
    "pytest",
    "pytest-django",
    "pytest-asyncio",
    "selenium",
    "mkdocs",
    "mkdocs-material",
    "mkdocs-static-i18n",
]

HEADERS = {
    "en": {
        "matrix": ("Package", "Locked version"),
        "glossary": ("English", "Korean", "Avoid", "First use on a page"),
        "gloss": {True: "Korean (English)", False: "Korean alone"},
    },
    "ko": {
        "matrix": ("패키지", "고정된 버전"),
        "glossary": ("영어", "한국어", "쓰지 않는 표현", "페이지에서 처음 쓸 때"),
        "gloss": {True: "한국어(English)", False: "한국어만"},
    },
}

# A glossary row. gloss: the term's first use on a page is written "한국어(English)"; False for an
# everyday word, which is never glossed.
Term = namedtuple("Term", "english korean wrong gloss", defaults=(True,))


def fence(text, lang):
    ticks = "````" if "```" in text else "```"
    return f"{ticks}{lang}\n{text.rstrip(chr(10))}\n{ticks}"


def render_stage_notes(stage, lang):
    """The stage's notes, or a line saying they are missing (the parity test fails on that)."""
    note = stage_dir(stage) / ("README.ko.md" if lang == "ko" else "README.md")
    if not note.is_file():
        return f"# {stage}\n\n*({note.name} is not written yet.)*"
    return note.read_text(encoding="utf-8")


def render_stage_code(stage):
    blocks = []
    for name in stage_files(stage):
        text = (stage_dir(stage) / name).read_text(encoding="utf-8")
        lang = LANGUAGES.get(Path(name).suffix, "text")
        body = fence(text, lang) if text.strip() else "*(empty file)*"
        indented = "\n".join(("    " + line) if line else "" for line in body.splitlines())
        blocks.append(f'??? abstract "`{stage}/{name}`"\n\n{indented}\n')
    return "\n".join(blocks)


def render_stage_diff(args):
    old, new = args.split()
    return fence(stage_diff(old, new), "diff")


def matrix_versions():
    """[(package, version)] of the version matrix, as uv.lock pins them."""
    packages = dict(lock_packages((ROOT / "uv.lock").read_text(encoding="utf-8")))
    return [(name, packages[name]) for name in MATRIX if name in packages]


def render_version_matrix(lang):
    head = HEADERS[lang]["matrix"]
    rows = [f"| {head[0]} | {head[1]} |", "|---|---|"]
    rows += [f"| `{name}` | {version} |" for name, version in matrix_versions()]
    return "\n".join(rows)


def read_glossary(path=None):
    """[Term] from docs/glossary.tsv (# lines are comments); see the file's header."""
    path = path or ROOT / "docs" / "glossary.tsv"
    entries = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        wrong = [w for w in cols[2].split("|") if w] if len(cols) > 2 else []
        first_use = cols[3].strip() if len(cols) > 3 else ""
        if first_use not in ("gloss", "plain"):
            raise ValueError(f"{path}:{number}: the 4th column must be gloss or plain")
        entries.append(Term(cols[0].strip(), cols[1].strip(), wrong, first_use == "gloss"))
    return entries


def render_glossary(lang):
    head, gloss = HEADERS[lang]["glossary"], HEADERS[lang]["gloss"]
    rows = ["| " + " | ".join(head) + " |", "|---|---|---|---|"]
    for term in read_glossary():
        wrong = ", ".join(term.wrong)
        rows.append(f"| {term.english} | {term.korean} | {wrong} | {gloss[term.gloss]} |")
    return "\n".join(rows)


def expand(markdown, lang="en"):
    def replace(match):
        kind, args = match.group(1), (match.group(2) or "").strip()
        if kind == "stage-notes":
            return render_stage_notes(args, lang)
        if kind == "stage-code":
            return render_stage_code(args)
        if kind == "stage-diff":
            return render_stage_diff(args)
        if kind == "version-matrix":
            return render_version_matrix(lang)
        return render_glossary(lang)

    return MARKER.sub(replace, markdown)


def on_page_markdown(markdown, page, config, files, **kwargs):
    lang = "ko" if page.file.src_uri.endswith(".ko.md") else "en"
    return expand(markdown, lang)
