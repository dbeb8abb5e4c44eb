"""The docs site builds, the Korean and English texts match, and the notes agree with the code.

Each checker in tools/docs_checks.py is also run on a small broken example, to show it can fail.
"""

import os
from pathlib import Path

import docs_checks
import pytest
import stage_diff
from docs_hooks import expand, read_glossary
from notes import NOTES, NOTES_HEADINGS
from stages import ROOT, STAGES

# One worker: the fresh startproject behind part1's diff is made once per process.
pytestmark = pytest.mark.xdist_group("docs")

DOCS = ROOT / "docs"
ENGLISH_PAGES = sorted(p for p in DOCS.glob("*.md") if not p.name.endswith(".ko.md"))
READMES = sorted(
    p
    for p in ROOT.glob("**/README.md")
    if not any(part.startswith(".") or part in ("node_modules", "site") for part in p.parts)
)


def read(path):
    return Path(path).read_text(encoding="utf-8")


def korean_texts():
    readmes = [p.with_name("README.ko.md") for p in READMES]
    return [p for p in readmes if p.is_file()] + sorted(DOCS.glob("*.ko.md"))


# --- The site -----------------------------------------------------------------------------------


# --- Parity between English and Korean -----------------------------------------------------------


@pytest.mark.parametrize("readme", READMES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_readme_has_a_korean_twin_with_the_same_structure(readme):
    korean = readme.with_name("README.ko.md")
    assert korean.is_file(), f"{korean.relative_to(ROOT)} is missing"
    assert docs_checks.parity_problems(read(readme), read(korean)) == []


@pytest.mark.parametrize("page", ENGLISH_PAGES, ids=lambda p: p.name)
def test_every_docs_page_has_a_korean_twin_with_the_same_structure(page):
    korean = page.with_name(page.stem + ".ko.md")
    assert korean.is_file(), f"docs/{korean.name} is missing"
    assert docs_checks.parity_problems(read(page), read(korean)) == []


def test_no_korean_page_without_an_english_one():
    orphans = [
        p.name for p in DOCS.glob("*.ko.md") if not p.with_name(p.name[:-6] + ".md").is_file()
    ]
    assert orphans == []


def test_parity_catches_differences():
    english = "# T\n\n## A\n\n```bash\nuv run pytest\n```\n\n```python\nx = 1\n```\n"
    assert docs_checks.parity_problems(english, english.replace("# T", "# 제목")) == []
    # Translated shell comments are fine; a different command is not.
    commented = english.replace("uv run pytest", "# 테스트\nuv run pytest")
    assert docs_checks.parity_problems(english, commented) == []
    assert docs_checks.parity_problems(english, english.replace("## A", "### A"))
    assert docs_checks.parity_problems(english, english.replace("## A\n", "## A\n\n## B\n"))
    assert docs_checks.parity_problems(
        english, english.replace("uv run pytest", "uv run pytest -x")
    )
    assert docs_checks.parity_problems(english, english.replace("```python", "```py"))
    assert docs_checks.parity_problems(english, english.split("```python")[0])
    # A heading inside a code block is not a heading.
    assert docs_checks.headings("```bash\n# comment\n```\n## Real\n") == [(2, "Real")]


# --- One command for every shell ----------------------------------------------------------------


def shell_checked_texts():
    readmes = [*READMES, *(p.with_name("README.ko.md") for p in READMES)]
    pages = sorted(DOCS.glob("*.md"))
    return [p for p in [*readmes, *pages] if p.is_file()]


@pytest.mark.parametrize("path", shell_checked_texts(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_command_runs_in_bash_powershell_and_cmd_or_shows_each_form(path):
    found = [
        f"{path.relative_to(ROOT).as_posix()}:{line}: `{command}`: {why}"
        for line, command, why in docs_checks.shell_problems(read(path))
    ]
    assert found == [], "\n".join(found)


def test_shell_check_catches_posix_only_syntax():
    good = [
        "uv run --env-file redis.env python part2_groups/manage.py runserver",
        'uv run pytest -m "not redis"',
        "uv run python tools/check.py part1_echo --json > minji.json",
        "uv run pytest 2>&1",
        "cd ..",
        "mkdir workspace",
        "git commit -m \"a; b && c & d 'f'\"",
        "docker compose up -d redis  # in the background: docker's own -d",
    ]
    for command in good:
        assert docs_checks.posix_only(command) == [], command
    bad = {
        "REDIS_URL=redis://localhost:6379/0 uv run pytest": "VAR=value",
        'DJANGO_ALLOWED_HOSTS="localhost 127.0.0.1"': "VAR=value",
        "export REDIS_URL=redis://localhost:6379/0": "export",
        "source .venv/bin/activate": "source",
        ". .venv/bin/activate": "source",
        "cd part4_tests && uv run pytest": "&&",
        "redis-server &": "background",
        "uv run python part1_echo/manage.py runserver & uv run pytest": "background",
        "cd part4_tests; uv run pytest": "`;`",
        "kill $(cat server.pid)": "POSIX expansions",
        'echo "$HOME"': "POSIX expansions",
        "uv run pytest -m 'not slow'": "single quotes",
        "rm -rf workspace": "POSIX program",
        "uv run pytest | grep FAILED": "POSIX program",
        "mkdir -p workspace/part1_echo": "POSIX program",
        "cd ~/channels-chat": "`~`",
        "git clone <repository URL> channels-chat": "placeholder",
        "uv run pytest \\": "continuation",
    }
    for command, why in bad.items():
        problems = docs_checks.posix_only(command)
        assert any(why in p for p in problems), (command, problems)


TABS = """Text.

=== "bash, zsh"

    ```bash
    source .venv/bin/activate
    ```

=== "PowerShell"

    ```powershell
    .venv\\Scripts\\Activate.ps1
    ```

=== "cmd"

    ```bat
    .venv\\Scripts\\activate.bat
    ```

After the tabs.
"""


def test_shell_check_accepts_a_posix_form_with_its_siblings_only():
    assert docs_checks.shell_problems(TABS) == []
    # A tab group without its cmd form, or the POSIX block outside the group, is a problem.
    no_cmd = TABS.split('=== "cmd"')[0]
    assert [line for line, _, _ in docs_checks.shell_problems(no_cmd)] == [6]
    outside = TABS.replace("After the tabs.", "```bash\nexport A=1\n```")
    assert [line for line, _, _ in docs_checks.shell_problems(outside)] == [22]
    # Labelled list items in a README: each shell's form on its own line.
    labelled = (
        "Activate it:\n\n"
        "- bash, zsh: `source .venv/bin/activate`\n"
        "- PowerShell: `.venv\\Scripts\\Activate.ps1`\n"
        "- cmd: `.venv\\Scripts\\activate.bat`\n"
    )
    assert docs_checks.shell_problems(labelled) == []
    unlabelled = labelled.replace("- cmd: `.venv\\Scripts\\activate.bat`\n", "")
    assert [line for line, _, _ in docs_checks.shell_problems(unlabelled)] == [3]
    # Inline commands in prose; a file's `NAME=value` line alone is no command.
    prose = "Run `REDIS_URL=redis://localhost:6379/0 uv run\npytest` now.\n"
    assert [line for line, _, _ in docs_checks.shell_problems(prose)] == [1]
    assert (
        docs_checks.shell_problems("`redis.env` holds `REDIS_URL=redis://localhost:6379/0`.\n")
        == []
    )
    # Output in a console block is not a command; its `$ ` lines are.
    console = "```console\n$ uv run pytest && echo ok\nok && done\n```\n"
    assert [line for line, _, _ in docs_checks.shell_problems(console)] == [2]


# --- The stage notes ------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_stage_notes_follow_the_shared_structure(stage):
    for lang, name in (("en", "README.md"), ("ko", "README.ko.md")):
        note = ROOT / stage / name
        assert note.is_file(), f"{stage}/{name} is missing"
        assert docs_checks.notes_structure_problems(read(note), lang) == [], f"{stage}/{name}"


def test_notes_structure_catches_a_missing_or_misplaced_section():
    good = "# Part 9: X\n\n" + "".join(f"## {h}\n\ntext\n\n" for h in NOTES_HEADINGS["en"])
    assert docs_checks.notes_structure_problems(good, "en") == []
    assert docs_checks.notes_structure_problems(good.replace("## Run it\n", ""), "en")
    assert docs_checks.notes_structure_problems(good.replace("# Part 9: X", "# Nine"), "en")
    swapped = good.replace("## Exercises", "## TMP").replace("## Run it", "## Exercises")
    assert docs_checks.notes_structure_problems(swapped.replace("## TMP", "## Run it"), "en")


@pytest.mark.parametrize("stage", STAGES)
def test_files_changed_sections_agree_with_stage_changes_toml(stage):
    toml = ROOT / "tools" / "stage_changes.toml"
    assert toml.is_file(), "tools/stage_changes.toml is missing"
    declared = docs_checks.declared_changes(toml).get(stage)
    for lang, name in (("en", "README.md"), ("ko", "README.ko.md")):
        assert (ROOT / stage / name).is_file(), f"{stage}/{name} is missing"
        listed = docs_checks.listed_files(read(ROOT / stage / name), lang)
        assert docs_checks.files_section_problems(listed, declared, stage) == [], f"{stage}/{name}"


def test_files_section_check_catches_missing_extra_and_repeated_files():
    note = "## Files changed since the previous stage\n\n- `a.py`: x\n- `chat/tests/t.py`: y\n"
    listed = docs_checks.listed_files(note, "en")
    assert listed == ["a.py", "chat/tests/t.py"]
    assert (
        docs_checks.files_section_problems(listed, ["a.py", "chat/tests/**"], "part2_groups") == []
    )
    assert docs_checks.files_section_problems(
        listed, ["a.py", "b.py", "chat/tests/**"], "part2_groups"
    )
    assert docs_checks.files_section_problems(listed, ["chat/tests/**"], "part2_groups")
    assert docs_checks.files_section_problems(
        [*listed, "a.py"], ["a.py", "chat/**"], "part2_groups"
    )
    # Without a declared list, the real changes from the previous stage count.
    real = stage_diff.changed_files("part2_groups", "part3_async")
    assert docs_checks.files_section_problems(real, None, "part3_async") == []
    assert docs_checks.files_section_problems([], None, "part3_async")


@pytest.mark.parametrize("stage", STAGES)
def test_diff_blocks_in_the_notes_are_the_real_diffs(stage):
    for name in NOTES:
        note = ROOT / stage / name
        if note.is_file():
            stale = stage_diff.stale_diff_blocks(read(note))
            assert stale == [], (
                f"{stage}/{name} has an outdated diff block: "
                "run `uv run python tools/stage_diff.py --update-notes`"
            )


def test_stale_diff_blocks_are_found_and_refreshed():
    real = stage_diff.stage_diff("part2_groups", "part3_async")
    good = f"text\n\n```diff\n{real}```\n"
    assert stage_diff.stale_diff_blocks(good) == []
    bad = good.replace("+class ChatConsumer(AsyncWebsocketConsumer):", "+class ChatConsumer:")
    assert stage_diff.stale_diff_blocks(bad)
    assert stage_diff.refresh_diff_blocks(bad) == good
    assert stage_diff.stale_diff_blocks("```diff\n+ no headers\n```\n")


# --- The glossary ---------------------------------------------------------------------------------


def rel(path):
    return path.relative_to(ROOT).as_posix()


def test_glossary_rows_have_terms_wrong_variants_and_a_first_use_rule():
    glossary = read_glossary()
    terms = {term.english: term for term in glossary}
    assert terms["consumer"].korean == "컨슈머" and "소비자" in terms["consumer"].wrong
    # The editor's review (issue 20): one name for each of these, the others rejected.
    assert {"전달한 포트", "포트 전달"} <= set(terms["port forwarding"].wrong)
    assert "검사기" in terms["checker (tools/check.py)"].wrong
    assert "저장소 최상위" in terms["repository root"].wrong
    assert "teardown 단계" in terms["teardown"].wrong
    assert {"찍힙니다", "찍고"} <= set(terms["print (a program's output)"].wrong)
    assert "Redis 채널 레이어" in terms["Redis core layer"].wrong
    for term in glossary:
        assert term.korean not in term.wrong, f"{term.english}: the right term is listed as wrong"
        for other in glossary:
            assert other.korean not in term.wrong, f"{term.english} rejects {other.korean}"
    # Everyday words (the glossary's "plain" ones) are never glossed; the API's words are.
    for word in ("메시지", "테스트", "브라우저", "서버", "페이지", "탭", "스레드", "파일"):
        assert not next(t for t in glossary if t.korean == word).gloss, word
    assert terms["consumer"].gloss and terms["channel layer"].gloss


def test_glossary_page_shows_which_terms_are_glossed():
    for lang, glossed, plain in (
        ("en", "Korean (English)", "Korean alone"),
        ("ko", "한국어(English)", "한국어만"),
    ):
        table = expand("<!-- glossary -->\n", lang)
        assert f"| consumer | 컨슈머 | 소비자, 컨수머, 콘슈머 | {glossed} |" in table
        assert f"| message | 메시지 | 메세지, 매시지 | {plain} |" in table
    for page in ("glossary.md", "glossary.ko.md"):
        assert "<!-- glossary -->" in read(DOCS / page)


@pytest.mark.parametrize("path", korean_texts(), ids=rel)
def test_korean_texts_use_the_glossary_terms(path):
    assert docs_checks.glossary_problems(read(path)) == []


def test_tools_print_the_glossary_terms():
    found = [
        f"{rel(path)}:{number}: {variant} (write {right})"
        for path in docs_checks.tool_files()
        for number, text in docs_checks.korean_strings(path)
        for _, variant, right in docs_checks.glossary_problems(text)
    ]
    assert found == [], "\n".join(found)


def test_glossary_check_catches_a_wrong_variant_but_not_code():
    glossary = [("consumer", "컨슈머", ["소비자", "컨수머"]), ("message", "메시지", ["메세지"])]
    assert docs_checks.glossary_problems("컨슈머가 메시지를 받습니다.", glossary) == []
    assert docs_checks.glossary_problems("첫 줄\n소비자가 메세지를 받습니다.", glossary) == [
        (2, "소비자", "컨슈머"),
        (2, "메세지", "메시지"),
    ]
    assert docs_checks.glossary_problems("`메세지` 변수와\n```\n소비자\n```\n", glossary) == []


def test_glossary_check_catches_the_reviewed_variants():
    found = {
        variant
        for text in (
            "https 페이지(Codespaces가 전달한 포트)에서는",
            "저장소 최상위 폴더에서 검사기를 실행하세요.",
            "테스트 뒤의 오류(teardown 단계의 오류)",
            "터미널에 `hello`가 찍힙니다.",
            "검사 대상: x (part2_groups 체크포인트, Redis 채널 레이어, 서버 프로세스 2개)",
        )
        for _, variant, _ in docs_checks.glossary_problems(text)
    }
    assert found == {"전달한 포트", "저장소 최상위", "검사기", "teardown 단계", "찍힙니다",
                     "Redis 채널 레이어"}  # fmt: skip
    assert (
        docs_checks.glossary_problems("Codespaces가 포워딩한 포트를 저장소 루트에서 엽니다.") == []
    )


def test_glossary_check_accepts_a_wrong_variant_inside_the_right_term():
    glossary = [("in-memory layer", "인메모리 레이어", ["메모리 레이어"])]
    assert docs_checks.glossary_problems("인메모리 레이어를 씁니다.", glossary) == []
    assert docs_checks.glossary_problems("메모리 레이어를 씁니다.", glossary) == [
        (1, "메모리 레이어", "인메모리 레이어")
    ]


def test_tool_strings_are_read_from_python_and_toml(tmp_path):
    tool = tmp_path / "tool.py"
    tool.write_text(
        '"""문서 문자열은 출력하지 않습니다: 찍힙니다."""\n'
        'WORDS = {"ko": "검사 대상: {path} (Redis 채널 레이어, "\n'
        '              "서버 프로세스 2개)", "en": "Checking"}\n'
        'print(f"서버가 {port}번 포트를 씁니다")\n',
        encoding="utf-8",
    )
    strings = docs_checks.korean_strings(tool)
    assert set(strings) == {
        (2, "검사 대상: {path} (Redis 채널 레이어, 서버 프로세스 2개)"),
        (4, "서버가 "),
        (4, "번 포트를 씁니다"),
    }
    assert [p for _, s in strings for p in docs_checks.glossary_problems(s)] == [
        (1, "Redis 채널 레이어", "Redis 코어 레이어")
    ]
    toml = tmp_path / "mistakes.toml"
    toml.write_text('[x]\nen = "prints"\nko = "로그에 `TypeError`가 찍힙니다."\n', encoding="utf-8")
    assert docs_checks.korean_strings(toml) == [(3, 'ko = "로그에 `TypeError`가 찍힙니다."')]
    assert docs_checks.glossary_problems(docs_checks.korean_strings(toml)[0][1]) == [
        (1, "찍힙니다", "출력")
    ]
    assert ROOT / "tools" / "check.py" in docs_checks.tool_files()
    assert ROOT / "tools" / "mistakes.toml" in docs_checks.tool_files()


# --- Glosses: a real term once, at its first use; an everyday word never ------------------------


@pytest.mark.parametrize("path", korean_texts(), ids=rel)
def test_korean_texts_gloss_no_everyday_word(path):
    assert docs_checks.everyday_gloss_problems(read(path)) == []


def test_everyday_gloss_check_catches_a_glossed_everyday_word_only():
    glossary = [
        ("worker thread", "워커 스레드", [], True),
        ("thread", "스레드", [], False),
        ("message", "메시지", [], False),
        ("test", "테스트", [], False),
    ]
    assert docs_checks.everyday_gloss_problems("메시지(message)를 보냅니다.", glossary) == [
        (1, "메시지(message)")
    ]
    assert docs_checks.everyday_gloss_problems(
        "첫 줄\n테스트(tests)와 스레드(Thread)", glossary
    ) == [
        (2, "스레드(Thread)"),
        (2, "테스트(tests)"),
    ]
    assert docs_checks.everyday_gloss_problems("워커 스레드(worker thread)에서", glossary) == []
    assert docs_checks.everyday_gloss_problems("파일(uv.lock)과 `메시지(message)`", glossary) == []


@pytest.mark.parametrize("path", korean_texts(), ids=rel)
def test_korean_texts_gloss_each_real_term_at_its_first_use_only(path):
    assert docs_checks.first_use_problems(read(path)) == []


def test_first_use_check_wants_the_gloss_on_the_first_use_only():
    glossary = [
        ("channel", "채널", [], True),
        ("channel layer", "채널 레이어", [], True),
        ("message", "메시지", [], False),
    ]
    good = (
        "# 채널\n\n채널(channel)마다 이름이 있고, **채널\n레이어**(channel layer)가 채널을 잇고 "
        "메시지를 나릅니다.\n"
    )
    assert docs_checks.first_use_problems(good, glossary) == []
    unglossed = "채널마다 이름이 있고 채널 레이어(channel layer)가 잇습니다.\n"
    [problem] = docs_checks.first_use_problems(unglossed, glossary)
    assert problem.startswith("채널 unglossed at its first use ('채널마다 이름이")
    assert problem.endswith("write 채널(channel)")
    late = "채널 레이어(channel layer)와 채널이 먼저 나오고 채널(channel)이 나중에 나옵니다.\n"
    assert len(docs_checks.first_use_problems(late, glossary)) == 1
    twice = "채널(channel) 레이어 말고 채널(channel)과 채널 레이어(channel layer).\n"
    assert docs_checks.first_use_problems(twice, glossary) == [
        "채널(channel) is glossed 2 times: only the first use"
    ]
    # Headings, tables, code, link texts and quoted words are not running text.
    elsewhere = (
        "## 채널\n\n| 채널 |\n|---|\n\n`채널`, [채널 레이어](channel-layers.md), "
        '"채널 레이어와 Redis" 절을 보세요. 채널(channel)과 채널 레이어(channel layer).\n'
    )
    assert docs_checks.first_use_problems(elsewhere, glossary) == []
    # An everyday word needs no gloss at all.
    assert docs_checks.first_use_problems("메시지를 보냅니다.\n", glossary) == []


# --- Markup that renders the same on GitHub and on the docs site --------------------------------


def markdown_files():
    """Every .md of the repository, without descending into .venv, .git, site or workspace."""
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [
            d for d in subfolders
            if not d.startswith(".") and d not in ("node_modules", "site", "workspace")
        ]  # fmt: skip
        found += [Path(folder) / name for name in files if name.endswith(".md")]
    return sorted(found)


MARKDOWN_FILES = markdown_files()


@pytest.mark.parametrize("path", MARKDOWN_FILES, ids=rel)
def test_emphasis_renders_on_github_as_on_the_docs_site(path):
    found = [
        f"{rel(path)}:{line}: {text!r}" for line, text in docs_checks.emphasis_problems(read(path))
    ]
    assert found == [], "CommonMark leaves these asterisks literal:\n" + "\n".join(found)


def test_emphasis_check_follows_commonmark_flanking_rules():
    broken = {
        "컨슈머마다 **채널(channel)**이 생깁니다.": "**",
        "**`TypeError`**가 나면": "**",
        "a **b.**c": "**",
        "*힌트:*다음": "*",
        "그 **소켓만**이 아니라 **(전부)**가": "**",
    }
    for text, run in broken.items():
        found = docs_checks.emphasis_problems(text)
        assert found and all(run in snippet for _, snippet in found), (text, found)
    fine = [
        "컨슈머마다 **채널**(channel)이 생깁니다.",
        "**채널(channel)** 이 생깁니다.",
        "**`TypeError`**(또는 다른 타입): 설명",
        "*힌트:* `message.upper()`.",
        "- 목록 항목 **굵게**\n* 다른 항목\n",
        "`**채널(channel)**이` 코드 안의 별표",
        "```text\n**채널(channel)**이\n```\n",
        "5 * 3 = 15, `channels_redis`와 channels_redis, ¯\\_(ツ)\\_/¯",
        "| **셀(cell)** | 둘째 |\n|---|---|\n| *a* | b |\n",
        "**여러 줄에\n걸친 굵은 글씨**입니다.",
        "[**링크**](https://example.com/a_b*c)입니다.",
    ]
    for text in fine:
        assert docs_checks.emphasis_problems(text) == [], text
    # A line number points at the run.
    assert docs_checks.emphasis_problems("첫 줄\n\n둘째 **줄(x)**이\n")[0][0] == 3


# --- Step diffs -----------------------------------------------------------------------------------


def test_stage_diff_command_prints_the_diff(capsys):
    assert stage_diff.main(["part1_echo", "part2_groups"]) == 0
    out = capsys.readouterr().out
    assert "+++ part2_groups/chat/consumers.py" in out
    assert "+        async_to_sync(self.channel_layer.group_add)" in out
    assert "README" not in out


def test_stage_diff_leaves_out_generated_files(tmp_path, monkeypatch):
    old, new = tmp_path / "old", tmp_path / "new"
    for base, text in ((old, "a = 1\n"), (new, "a = 2\n")):
        (base / "chat" / "__pycache__").mkdir(parents=True)
        (base / "chat" / "x.py").write_text(text)
        (base / "chat" / "__pycache__" / "x.cpython-311.pyc").write_text(text)
        (base / "db.sqlite3").write_text(text)
    monkeypatch.setattr(stage_diff, "stage_dir", {"old": old, "new": new}.__getitem__)
    assert stage_diff.changed_files("old", "new") == ["chat/x.py"]
    assert stage_diff.stage_diff("old", "new") == (
        "--- old/chat/x.py\n+++ new/chat/x.py\n@@ -1 +1 @@\n-a = 1\n+a = 2\n"
    )


def test_docs_markers_expand_and_unknown_stages_fail():
    text = expand("<!-- stage-diff: part2_groups part3_async -->\n<!-- version-matrix -->\n")
    assert "```diff\n--- part2_groups/chat/consumers.py" in text
    assert "| `django` | 5.2." in text
    with pytest.raises(SystemExit):
        expand("<!-- stage-code: part9_missing -->\n")
