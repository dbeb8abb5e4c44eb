"""The contract's own rules, fast (no server): every mistake a check can name is catalogued, check
ids are unique per stage, a check's own log signs win, destructive checks run last, and the
checker's last line as the notes and docs quote it is one the checker prints.
"""

import ast
import re

import check
import pytest
from bilingual import Text
from contract import CHECKS, Check, ServedProject, checks_for, run_checks
from contract.catalogue import load_catalogue
from contract.evidence import LOG_SIGNS, mistake_in_log
from contract.own_tests import run_redis_url
from contract.runner import Failed, in_running_order
from notes import ERRORS_SECTION, NOTES_FILE, NOTES_HEADINGS, heading_lines
from redis.connection import parse_url
from stages import BEHAVIOUR, ROOT, STAGES, stages_where

CATALOGUE = load_catalogue()
CONTRACT = ROOT / "tools" / "contract"
MISTAKE_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)+$")


# --- Mistake ids: the checks name only catalogued mistakes -----------------------------------


def _constants(node):
    """The string constants a value can be: "a", "a" if x else "b", x or "a"."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _constants(node.body) + _constants(node.orelse)
    if isinstance(node, ast.BoolOp):
        return [c for value in node.values for c in _constants(value)]
    return []


def _names_mistake(node):
    """`mistake` or `<anything>.mistake`."""
    return (isinstance(node, ast.Name) and node.id == "mistake") or (
        isinstance(node, ast.Attribute) and node.attr == "mistake"
    )


def _sign_mistakes(node):
    """The mistake ids of a list or tuple of (sign, mistake) pairs."""
    if not isinstance(node, ast.List | ast.Tuple):
        return []
    return [
        c
        for pair in node.elts
        if isinstance(pair, ast.Tuple) and len(pair.elts) == 2
        for c in _constants(pair.elts[1])
    ]


def mistakes_named_in(source):
    """Every mistake id the code names: mistake="...", x.mistake = "...", mistake == "...",
    returned by a function whose name ends in "mistake", and log signs' (sign, "...") pairs."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.keyword) and node.arg == "mistake":
            found += _constants(node.value)
        elif isinstance(node, ast.keyword) and node.arg == "log_signs":
            found += _sign_mistakes(node.value)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_names_mistake(t) for t in targets):
                found += _constants(node.value)
            if any(isinstance(t, ast.Name) and t.id.endswith("SIGNS") for t in targets):
                found += _sign_mistakes(node.value)
        elif isinstance(node, ast.Compare) and _names_mistake(node.left):
            found += [c for right in node.comparators for c in _constants(right)]
        elif isinstance(node, ast.FunctionDef) and node.name.endswith("mistake"):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Return) and inner.value is not None:
                    found += _constants(inner.value)
    return found


def test_the_scan_finds_every_way_a_check_names_a_mistake():
    source = """
SIGNS = [("text", "from-a-global-sign")]
def f(failure, mistake):
    failure.mistake = "from-an-attribute"
    mistake = "from-a-name" if x else "from-an-else"
    raise Failed("x", mistake="from-a-keyword", look_at=y if mistake == "from-a-compare" else z)
@stage_check("a-check-id", "en", "ko", log_signs=(("text", "from-a-check-sign"),))
def silent_mistake(source):
    return "from-a-return" if source["not-a-mistake"] else None
"""
    assert sorted(mistakes_named_in(source)) == sorted(
        [
            "from-a-global-sign",
            "from-an-attribute",
            "from-a-name",
            "from-an-else",
            "from-a-keyword",
            "from-a-compare",
            "from-a-check-sign",
            "from-a-return",
        ]
    )


def test_every_mistake_the_checks_name_is_catalogued():
    named = {}
    for path in sorted(CONTRACT.glob("*.py")):
        for mistake in mistakes_named_in(path.read_text(encoding="utf-8")):
            named.setdefault(mistake, path.name)
    assert all(MISTAKE_ID.match(m) for m in named), named
    unknown = {m: where for m, where in named.items() if m not in CATALOGUE}
    assert not unknown, f"named in tools/contract/ but not in tools/mistakes.toml: {unknown}"
    # Each catalogued mistake is one the code can name (else no check could ever report it).
    assert set(CATALOGUE) - set(named) == set(), "catalogued, but named by no check"


def test_log_signs_name_catalogued_mistakes():
    signs = list(LOG_SIGNS) + [sign for c in CHECKS for sign in c.log_signs]
    assert signs and {mistake for _, mistake in signs} <= set(CATALOGUE)


# --- Check ids and prerequisites -------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_check_ids_are_unique_per_stage(stage):
    ids = [c.id for c in checks_for(stage)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_every_prerequisite_is_a_check_and_never_a_destructive_one():
    by_id = {}
    for c in CHECKS:
        by_id.setdefault(c.id, []).append(c)
    for c in CHECKS:
        for need in c.needs:
            assert need in by_id, f"{c.id} needs {need!r}, which is no check"
            assert not any(n.destructive for n in by_id[need]), f"{c.id} needs a destructive check"


def test_catalogue_is_complete():
    """At least 12 mistakes, each with a stage, a check, a file and both hints."""
    assert len(CATALOGUE) >= 12
    checks = {c.id for stage in STAGES for c in checks_for(stage, checkpoint_only=True)}
    for mistake, entry in CATALOGUE.items():
        assert entry["stage"] in STAGES, mistake
        assert entry["check"] in checks, mistake
        assert entry["en"].strip() and entry["ko"].strip(), mistake
        assert re.search(r"[가-힣]", entry["ko"]) and "니다" in entry["ko"], mistake
        assert entry["change"], mistake


def test_each_mistake_is_caught_by_a_checkpoint_check_of_its_own_stage():
    for mistake, entry in CATALOGUE.items():
        ids = {c.id for c in checks_for(entry["stage"], checkpoint_only=True)}
        assert entry["check"] in ids, f"{mistake}: {entry['stage']} has no check {entry['check']}"


MARKER = re.compile(r"^<!-- mistake: ([\w-]+) -->$", re.M)


@pytest.mark.parametrize("stage", STAGES)
def test_notes_mark_each_catalogued_mistake(stage):
    """Every <!-- mistake: ID --> in a stage's notes names a catalogued mistake of that stage,
    and every catalogued mistake has its entry in both README.md and README.ko.md."""
    ours = {m for m, e in CATALOGUE.items() if e["stage"] == stage}
    for readme in ("README.md", "README.ko.md"):
        marked = MARKER.findall((ROOT / stage / readme).read_text(encoding="utf-8"))
        assert set(marked) <= ours, f"{stage}/{readme}: {set(marked) - ours} not catalogued"
        assert ours <= set(marked), f"{stage}/{readme}: no entry for {ours - set(marked)}"


# --- Evidence and running order --------------------------------------------------------------


class LogOnly:
    """Stands in for a server: only its log."""

    def __init__(self, text=""):
        self.text = text

    def log(self):
        return self.text


def fake_check(id, ran, destructive=False, needs=(), log_signs=(), fails_logging=None):
    async def run(project):
        ran.append(id)
        if fails_logging is not None:
            project.server.text += fails_logging  # the server's traceback, during the check
            raise Failed("it failed")

    return Check(
        id,
        Text(id, id),
        run,
        tuple(STAGES),
        needs=needs,
        destructive=destructive,
        log_signs=log_signs,
    )


def test_a_checks_own_log_sign_wins_over_a_global_one():
    log = "No route found for path 'ws/chat/x/'\nGroup name must be a valid unicode string\n"
    assert mistake_in_log(log) == "unsafe-group-name"  # a global sign
    korean_room = next(c for c in CHECKS if c.id == "korean-room")
    assert mistake_in_log(log, korean_room.log_signs) == "word-route"


async def test_the_runner_names_the_mistake_by_the_checks_own_sign_first(tmp_path):
    project = ServedProject("part1_echo", tmp_path, LogOnly("an earlier check's log\n"))
    log = "No route found for path 'a'\nGroup name must be a valid unicode string\n"
    signs = (("No route found for path", "word-route"),)
    checks = [fake_check("x", [], log_signs=signs, fails_logging=log)]
    [result] = await run_checks(project, checks)
    assert (result.status, result.mistake) == ("fail", "word-route")


async def test_destructive_checks_run_after_every_other_one(tmp_path):
    ran = []
    checks = [
        fake_check("a", ran),
        fake_check("crash", ran, destructive=True),
        fake_check("b", ran),
        fake_check("c", ran, needs=("a",)),
    ]
    results = await run_checks(ServedProject("part1_echo", tmp_path, LogOnly()), checks)
    assert ran == ["a", "b", "c", "crash"]
    assert [r.id for r in results] == ran and {r.status for r in results} == {"ok"}


@pytest.mark.parametrize("stage", STAGES)
def test_the_checker_runs_the_checks_that_crash_consumers_last(stage):
    order = in_running_order(checks_for(stage, checkpoint_only=True))
    crashing = [c.id for c in order if c.destructive]
    assert bool(crashing) == (BEHAVIOUR[stage].bad_frame == "closes")
    assert [c.id for c in order][len(order) - len(crashing) :] == crashing


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "redis://127.0.0.1:6379",
        "rediss://:secret@redis.example:6380/15",
        "redis://127.0.0.1:6379/2?db=4&socket_timeout=5",
        "unix:///run/redis.sock?db=1",
    ],
)
def test_the_own_test_runs_and_the_servers_each_get_a_redis_database(url):
    """The two runs of a learner's suite share room names and run at once, beside the checked
    servers: on one Redis database they would deliver into each other's rooms."""
    urls = [url, run_redis_url(url, 1), run_redis_url(url, 2)]
    parsed = [parse_url(u) for u in urls]
    assert len({p.get("db", 0) for p in parsed}) == 3, urls
    for p in parsed:  # all else stays: host, port, password, socket path, options
        p.pop("db", None)
    assert parsed[0] == parsed[1] == parsed[2]
    assert run_redis_url(None, 1) is None


def test_stages_where_refuses_a_behaviour_the_table_does_not_have():
    assert stages_where(broadcasts=False) == ["part1_echo"]
    with pytest.raises(TypeError, match="no such behaviour: broadcast"):
        stages_where(broadcast=True)


# --- The checker's last line, as the notes and docs quote it ---------------------------------


def _pattern(template):
    """A last line of the checker (check.WORDS) as a regex: {stage} and the numbers captured."""
    text = re.escape(template)
    for name, group in {
        "stage": r"(?P<stage>part\d+_\w+)",
        "n": r"(?P<n>\d+)",
        "k": r"(?P<k>\d+)",
    }.items():
        text = text.replace(re.escape("{" + name + "}"), group)
    return re.compile(text)


LAST_LINES = [
    _pattern(check.WORDS[key][lang])
    for key in ("pass", "passed_with_skips", "failed")
    for lang in ("en", "ko")
]
# A quote of a last line; it ends at a backtick, a double quote, an f-string field or the line's
# end.
QUOTED = re.compile(r"(?:PASS|FAIL|통과|실패): part\d+_\w+ (?:checkpoint|체크포인트)[^`\"{\n]*")


def quoted_last_lines():
    """[(place, quote)] of every last line of the checker quoted in the notes, docs and tests."""
    places = [
        *ROOT.glob("*.md"),
        *(ROOT / "docs").rglob("*.md"),
        *ROOT.glob("part*/*.md"),
        *(ROOT / "tools" / "tests").glob("*.py"),
    ]
    found = []
    for path in places:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in QUOTED.finditer(line):
                if not line.startswith("{", m.end()):  # an f-string's fields: no literal quote
                    found.append((f"{path.relative_to(ROOT).as_posix()}:{number}", m[0].rstrip()))
    return found


def test_the_last_lines_quoted_in_the_notes_and_docs_are_the_checkers():
    """A pass line carries no count of checks, so adding a check changes no quote; a fail line's
    count must be the stage's."""
    found = quoted_last_lines()
    assert len({place.split(":")[0] for place, _ in found}) >= 4, found
    wrong = []
    for place, quote in found:
        match = next((m for p in LAST_LINES if (m := p.fullmatch(quote))), None)
        if match is None:
            wrong.append(f"{place}: {quote!r} is no line the checker prints")
        elif "n" in match.groupdict():
            runs = len(checks_for(match["stage"], checkpoint_only=True))
            if int(match["n"]) != runs:
                wrong.append(f"{place}: {quote!r}: the checker runs {runs} checks")
    assert not wrong, "\n".join(wrong)


# --- The checker points at the right place in the notes --------------------------------------

NOTES_TEXT = """# Part 9: Example

## Common errors

```python
# Not a heading: a comment in a code block
x = 1
```

<!-- mistake: some-mistake -->

## Where we differ from the official tutorial
"""


def test_a_code_comment_is_no_heading_to_reread():
    assert check.notes_anchor(NOTES_TEXT, "some-mistake", "en") == "common-errors"


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_without_a_marker_the_checker_points_at_the_notes_common_errors_section(lang):
    assert ERRORS_SECTION[lang] in NOTES_HEADINGS[lang]
    errors = ERRORS_SECTION[lang]
    # An earlier heading that merely mentions the section's words is not the section.
    text = f"# T\n\n## {NOTES_HEADINGS[lang][6]}: {errors}\n\n## {errors}\n"
    expected = check.github_anchor(ERRORS_SECTION[lang])
    assert check.notes_anchor(text, None, lang) == expected
    assert check.notes_anchor(text, "not-marked", lang) == expected
    assert check.notes_anchor("# T\n", None, lang) is None


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_each_mistake_points_at_a_heading_of_its_stages_notes(stage, lang):
    text = (ROOT / stage / NOTES_FILE[lang]).read_text(encoding="utf-8")
    anchors = {check.github_anchor(title) for _, _, title in heading_lines(text)}
    for mistake in (m for m, e in CATALOGUE.items() if e["stage"] == stage):
        assert check.notes_anchor(text, mistake, lang) in anchors, mistake
