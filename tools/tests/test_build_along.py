"""A learner who types every "Build it yourself" step ends with exactly the stage's code.

For each stage whose notes have the section, the steps (English and Korean) are applied to the
stage's starting point (a fresh startproject + startapp for part1, a copy of the previous stage
after that) and the result must equal the stage folder, generated files aside and the SECRET_KEY
line normalised. A small broken README shows that a step that cannot apply is named clearly.
"""

import pytest
from bilingual import LANGS
from build_along import (
    BuildAlongError,
    apply,
    differences,
    has_section,
    lesson_files,
    start_folder,
    steps,
)
from notes import NOTES, NOTES_FILE
from stages import ROOT, STAGES
from unified_diff import DiffError, apply_diff

WITH_SECTION = [
    s for s in STAGES if (ROOT / s / "README.md").is_file() and has_section(ROOT / s / "README.md")
]


def test_every_stage_opens_with_build_it_yourself():
    """Fails until every stage's notes (part4 included) have the section, in both languages."""
    missing = [
        f"{stage}/{name}"
        for stage in STAGES
        for name in NOTES
        if not ((ROOT / stage / name).is_file() and has_section(ROOT / stage / name))
    ]
    assert missing == [], f"no Build it yourself section in {missing}"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("stage", WITH_SECTION)
def test_the_steps_build_the_stage(stage, lang, tmp_path):
    folder = start_folder(stage, tmp_path / stage)
    applied = apply(ROOT / stage / NOTES_FILE[lang], folder)
    assert applied, f"{stage}/{NOTES_FILE[lang]} has no titled code block to apply"
    assert differences(folder, stage) == []


@pytest.mark.parametrize("stage", WITH_SECTION)
def test_both_languages_carry_the_same_code(stage):
    def code(lang):
        return [(a.kind, a.paths, a.body) for a in steps(ROOT / stage / NOTES_FILE[lang])]

    assert code("en") == code("ko")


def test_the_starting_points(tmp_path):
    fresh = lesson_files(start_folder("part1_echo", tmp_path / "p1"))
    assert {"manage.py", "mysite/settings.py", "mysite/wsgi.py", "chat/models.py"} <= fresh.keys()
    assert "SECRET_KEY = '<normalised>'" in fresh["mysite/settings.py"]
    copy = start_folder("part2_groups", tmp_path / "p2")
    assert lesson_files(copy) == lesson_files(ROOT / "part1_echo")
    assert not (copy / "README.md").exists()
    with pytest.raises(BuildAlongError, match="not empty"):
        start_folder("part2_groups", copy)


BROKEN = """# Part 9: Broken

## Build it yourself

### 1. Write a file

```python title="app/a.py"
x = 1
y = 2
```

```bash
uv run python manage.py check
```

### 2. Change a line that is not there

```diff title="app/a.py"
@@ -1,2 +1,2 @@
 x = 1
-y = 3
+y = 4
```

## What this step teaches

```python title="app/ignored.py"
outside the section
```
"""
GOOD = BROKEN.replace("-y = 3", "-y = 2")


def write(tmp_path, text):
    readme = tmp_path / "README.md"
    readme.write_text(text, encoding="utf-8")
    return readme


def test_a_diff_that_does_not_apply_names_its_step(tmp_path):
    readme = write(tmp_path, BROKEN)
    found = steps(readme)
    assert [(a.step, a.kind, a.paths) for a in found] == [
        ("1. Write a file", "write", ["app/a.py"]),
        ("2. Change a line that is not there", "diff", ["app/a.py"]),
    ]
    folder = tmp_path / "work"
    folder.mkdir()
    with pytest.raises(BuildAlongError) as error:
        apply(readme, folder)
    message = str(error.value)
    assert 'step "2. Change a line that is not there"' in message
    assert "app/a.py" in message
    assert "At line 2 it expects 'y = 3' but the file has 'y = 2'" in message
    # The first step was applied; the file is as step 1 left it.
    assert (folder / "app" / "a.py").read_text() == "x = 1\ny = 2\n"


def test_the_good_version_applies(tmp_path):
    readme = write(tmp_path, GOOD)
    folder = tmp_path / "work"
    folder.mkdir()
    apply(readme, folder)
    assert (folder / "app" / "a.py").read_text() == "x = 1\ny = 4\n"
    assert not (folder / "app" / "ignored.py").exists()


@pytest.mark.parametrize(
    "text, complaint",
    [
        (GOOD.replace("-1,2 +1,2", "-1,1 +1,1"), "outside any hunk \\(check the @@ counts\\)"),
        (GOOD.replace("@@ -1,2 +1,2 @@\n", ""), "before the first @@ hunk header"),
        (GOOD.replace("### 1. Write a file\n", ""), "a titled block before any step"),
        (GOOD.replace('title="app/a.py"', 'title="../a.py"', 1), "not a path inside the stage"),
        (GOOD.replace("```diff", '```diff title="app/new.py"\n```\n\n```diff'), "does not exist"),
        (GOOD.split("y = 2")[0], "never closed"),
        (GOOD.replace('```python title="app/a.py"', '   ```python title="app/a.py"'), "indented"),
    ],
    ids=[
        "hunk-count",
        "no-hunk-header",
        "no-step",
        "outside-path",
        "no-such-file",
        "unclosed",
        "indented",
    ],
)
def test_malformed_sections_are_refused(tmp_path, text, complaint):
    folder = tmp_path / "work"
    folder.mkdir()
    with pytest.raises(BuildAlongError, match=complaint):
        apply(write(tmp_path, text), folder)


def test_deleting_names_what_is_missing(tmp_path):
    text = GOOD.replace("### 2.", "<!-- build-along: delete app/gone.py -->\n\n### 2.")
    readme = write(tmp_path, text)
    folder = tmp_path / "work"
    folder.mkdir()
    with pytest.raises(
        BuildAlongError, match=r'step "1. Write a file".*nothing to delete at app/gone.py'
    ):
        apply(readme, folder)


def test_a_hunk_may_have_moved_but_must_match():
    text = "".join(f"line {n}\n" for n in range(1, 11))
    moved = "@@ -2,3 +2,3 @@\n line 5\n-line 6\n+six\n line 7\n"
    assert "six\n" in apply_diff(text, moved)
    with pytest.raises(DiffError, match="hunk 1 does not apply"):
        apply_diff(text, moved.replace("line 7", "line 8"))


def test_a_readme_without_the_section_is_refused(tmp_path):
    readme = write(tmp_path, "# Part 9: X\n\n## What this step teaches\n")
    assert not has_section(readme)
    with pytest.raises(BuildAlongError, match="no '## Build it yourself' section"):
        steps(readme)
