"""tools/check.py and tools/start.py, as a learner and an instructor use them.

The reference stages pass; every catalogued mistake (tools/mistakes.toml), made in a temporary copy
of its reference stage, fails the checkpoint with that mistake's own hint, in English and Korean;
exit codes and --json behave; part1's "Build it yourself" steps, applied to tools/start.py's
starting point, pass the checker.
"""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import bilingual
import check
import contract
import pytest
from contract.catalogue import apply_mistake, load_catalogue
from servers import RedisDidNotStart, RedisServer
from stages import BEHAVIOUR, ROOT, STAGES

pytestmark = pytest.mark.slow  # see pyproject: `uv run pytest -m slow`

CATALOGUE = load_catalogue()
MISTAKES = sorted(CATALOGUE, key=lambda m: (STAGES.index(CATALOGUE[m]["stage"]), m))

# part4's checkpoint runs the learner's suite twice (10-20 s): CI runs it in the slow step.
slow_on_part4 = {s: [pytest.mark.slow] if BEHAVIOUR[s].own_tests else [] for s in STAGES}
# From part2 on (a channel layer) the reference check runs two processes on one Redis.
on_redis = {s: [pytest.mark.redis] if BEHAVIOUR[s].broadcasts else [] for s in STAGES}


def cli(*args, cwd=ROOT, env=None):
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "check.py"), *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def rendered(result):
    """Both languages, rendered from the JSON form (what --json prints holds everything)."""
    data = json.loads(json.dumps(result, ensure_ascii=False))
    return check.render(data, "en"), check.render(data, "ko")


@pytest.mark.parametrize(
    "stage", [pytest.param(s, marks=slow_on_part4[s] + on_redis[s]) for s in STAGES]
)
def test_reference_stage_passes(stage, request):
    # Two processes on one Redis from part2 on (in CI a missing redis-server is an error).
    redis_url = request.getfixturevalue("redis_url") if BEHAVIOUR[stage].broadcasts else None
    result = check.check_project(stage, ROOT / stage, redis_url=redis_url)
    english, korean = rendered(result)
    assert result["exit_code"] == 0, english
    assert all(c["status"] == "ok" for c in result["checks"]), english
    assert english.splitlines()[-1] == f"PASS: {stage} checkpoint holds"
    assert korean.splitlines()[-1] == f"통과: {stage} 체크포인트를 통과했습니다"


def test_without_redis_the_two_process_check_says_how_to_enable_it():
    result = check.check_project("part2_groups", ROOT / "part2_groups", redis_url=None)
    english, korean = rendered(result)
    assert result["exit_code"] == 0, english
    assert "[skip] Two server processes on one Redis share the room (no Redis here" in english
    assert "install redis-server" in english and "REDIS_URL of a running Redis" in english
    assert "--env-file redis.env" in english
    assert "[건너뜀]" in korean and "redis-server를 설치하거나" in korean
    last = "PASS: part2_groups checkpoint holds (except the skipped checks)"
    assert english.splitlines()[-1] == last


def only_what_diagnoses(mistake):
    """A stage with its own tests (part4) runs only the check that catches the mistake (and what
    it needs): the rest of its checkpoint is the suite run twice, proven by
    test_reference_stage_passes."""
    entry = CATALOGUE[mistake]
    if not BEHAVIOUR[entry["stage"]].own_tests:
        return None
    chk = next(c for c in contract.checks_for(entry["stage"]) if c.id == entry["check"])
    return {chk.id, *chk.needs}


def diagnose(mistake, tmp):
    entry = CATALOGUE[mistake]
    project = apply_mistake(mistake, tmp / mistake / entry["stage"])
    # In memory, one server process: two processes on Redis are not needed to tell any of these.
    return check.check_project(
        entry["stage"],
        project,
        redis_url=None,
        checks=only_what_diagnoses(mistake),
        frame_timeout=3,
    )


@pytest.fixture(scope="module")
def diagnosed(request, tmp_path_factory):
    """Every selected mistake's checker run, three at a time: most of a run is waiting (for a
    frame that never comes, or for daphne, which closes a failed socket about a second later)."""
    selected = [
        item.callspec.params["mistake"]
        for item in request.session.items
        if getattr(item, "originalname", "") == "test_catalogued_mistake_is_named_with_its_hint"
    ]
    tmp = tmp_path_factory.mktemp("mistakes")
    with ThreadPoolExecutor(3) as pool:
        return dict(zip(selected, pool.map(lambda m: diagnose(m, tmp), selected), strict=True))


@pytest.mark.parametrize(
    "mistake",
    [pytest.param(m, marks=pytest.mark.xdist_group("checker-mistakes")) for m in MISTAKES],
)
def test_catalogued_mistake_is_named_with_its_hint(mistake, diagnosed):
    entry = CATALOGUE[mistake]
    stage = entry["stage"]
    result = diagnosed[mistake]
    english, korean = rendered(result)
    assert result["exit_code"] == 1, english
    failed = [c for c in result["checks"] if c["status"] == "fail"]
    assert {c["mistake"] for c in failed} == {mistake}, english
    assert entry["check"] in {c["id"] for c in failed}, english
    assert english.count(entry["en"]) >= 1, english
    assert korean.count(entry["ko"]) >= 1, korean
    caught = next(c for c in failed if c["id"] == entry["check"])
    assert caught["look_at"].endswith(entry["file"])
    assert caught["diff"].startswith("git diff --no-index ")
    assert caught["diff"].endswith(f"{stage}/{entry['file']}")


# --- Exit codes, --json, --lang ----------------------------------------------------------------


def test_json_and_exit_codes_from_the_command_line(tmp_path):
    project = apply_mistake("echo-not-json", tmp_path / "part1_echo")
    done = cli("part1_echo", str(project), "--json")
    assert done.returncode == 1, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "fail" and result["exit_code"] == 1
    assert {c["mistake"] for c in result["checks"] if c["status"] == "fail"} == {"echo-not-json"}
    assert all(set(c["title"]) == {"en", "ko"} for c in result["checks"])
    korean = check.render(result, "ko")
    assert "[실패]" in korean and CATALOGUE["echo-not-json"]["ko"] in korean
    n = len(result["checks"])
    assert korean.splitlines()[-1] == (
        f"실패: part1_echo 체크포인트를 통과하지 못했습니다(검사 {n}개 중 1개 실패)"
    )


def test_the_unchanged_reference_passes_from_the_command_line():
    done = cli("part1_echo", "part1_echo", "--lang", "en")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[ok] WebSocket /ws/chat/lobby/ opens" in done.stdout
    assert done.stdout.rstrip().splitlines()[-1].startswith("PASS: part1_echo checkpoint holds")


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_folder_that_is_not_a_django_project_gets_exit_2(tmp_path, lang):
    (tmp_path / "notes.txt").write_text("hello")
    done = cli("part1_echo", str(tmp_path), "--lang", lang)
    assert done.returncode == 2
    expected = (
        "has no manage.py, so it is not a Django project folder"
        if lang == "en"
        else "manage.py가 없어서 Django 프로젝트 폴더가 아닙니다"
    )
    assert done.stdout.count("\n") == 1 and expected in done.stdout, done.stdout

    done = cli("part1_echo", str(tmp_path / "missing"), "--json")
    assert done.returncode == 2
    assert "does not exist" in json.loads(done.stdout)["reason"]["en"]


def test_a_server_that_does_not_start_gets_exit_2_with_its_traceback(tmp_path):
    project = apply_mistake("no-as-asgi", tmp_path / "part1_echo")
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + "\nthis is not python(\n")
    done = cli("part1_echo", str(project), "--lang", "en")
    assert done.returncode == 2
    first, *log = done.stdout.splitlines()
    assert first.startswith("ERROR: could not check") and "the server did not start" in first
    assert any("SyntaxError" in line for line in log), done.stdout


def fake_redis_server(tmp_path, monkeypatch, script):
    """A redis-server first on PATH that runs script (sh, or cmd on Windows); no REDIS_URL."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if os.name == "nt":
        (bin_dir / "redis-server.bat").write_text(f"@echo off\n{script['nt']}\n")
    else:
        program = bin_dir / "redis-server"
        program.write_text(f"#!/bin/sh\n{script['posix']}\n")
        program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("REDIS_URL", raising=False)


# As a redis-server whose port is taken says it, then exits 1.
EXITS = {
    "posix": "echo 'Could not create server TCP listening socket'; exit 1",
    "nt": "echo Could not create server TCP listening socket\nexit /b 1",
}


def test_a_redis_server_that_exits_is_reported_with_what_it_said(tmp_path, monkeypatch):
    fake_redis_server(tmp_path, monkeypatch, EXITS)
    server = RedisServer()
    with pytest.raises(RedisDidNotStart, match="exited with code 1: Could not create server TCP"):
        server.start()
    assert server.proc.poll() == 1


def test_a_redis_server_that_never_answers_is_stopped(tmp_path, monkeypatch):
    fake_redis_server(tmp_path, monkeypatch, {"posix": "exec sleep 60", "nt": "ping -n 60 ::1"})
    server = RedisServer()
    with pytest.raises(RedisDidNotStart, match=f"did not answer on port {server.port} within 1s"):
        server.start(timeout=1)
    assert server.proc.poll() is not None


def test_part2_with_a_redis_server_that_will_not_start_is_checked_in_memory_saying_why(
    tmp_path, monkeypatch
):
    fake_redis_server(tmp_path, monkeypatch, EXITS)
    result = check.check_project("part2_groups", ROOT / "part2_groups")
    english, korean = rendered(result)
    assert (result["exit_code"], result["layer"]) == (0, "memory"), english
    why = "exited with code 1: Could not create server TCP listening socket"
    skip = "[skip] Two server processes on one Redis share the room (our redis-server did not start"
    assert skip in english and why in english, english
    assert "redis-server가 시작되지 않아서" in korean and why in korean, korean


@pytest.mark.parametrize(
    "env, lang",
    [
        ({"LC_ALL": "ko_KR.UTF-8"}, "ko"),
        ({"LANG": "ko_KR.UTF-8"}, "ko"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LC_ALL": "C.UTF-8", "LANG": "ko_KR.UTF-8"}, "en"),
    ],
)
def test_language_follows_the_locale(monkeypatch, env, lang):
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert bilingual.default_lang() == lang


# --- tools/start.py ----------------------------------------------------------------------------


def start(*args):
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "start.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_start_copies_the_previous_stage_and_never_overwrites(tmp_path):
    dest = tmp_path / "part3_async"
    done = start("part3_async", "--dest", str(dest), "--lang", "en")
    assert done.returncode == 0, done.stderr
    assert "Build it yourself" in done.stdout and "README.md" in done.stdout
    assert (dest / "chat" / "consumers.py").read_text() == (
        ROOT / "part2_groups" / "chat" / "consumers.py"
    ).read_text()
    assert not (dest / "README.md").exists()
    (dest / "chat" / "consumers.py").write_text("# my work\n")

    done = start("part3_async", "--dest", str(dest), "--lang", "ko")
    assert done.returncode == 1 and "--force" in done.stdout
    assert (dest / "chat" / "consumers.py").read_text() == "# my work\n"

    done = start("part3_async", "--dest", str(dest), "--force", "--lang", "ko")
    assert done.returncode == 0 and "직접 만들어 보기" in done.stdout
    assert (dest / "chat" / "consumers.py").read_text() != "# my work\n"


def test_part1_built_step_by_step_passes_the_checker(tmp_path):
    """tools/start.py part1_echo, then part1's "Build it yourself" steps (tools/build_along.py),
    then the checker: the path a learner takes, end to end."""
    import build_along  # tools/build_along.py (h3-notes)

    dest = tmp_path / "part1_echo"
    done = start("part1_echo", "--dest", str(dest))
    assert done.returncode == 0, done.stderr
    build_along.apply(ROOT / "part1_echo" / "README.md", dest)
    result = check.check_project("part1_echo", dest)
    assert result["exit_code"] == 0, check.render(result, "en")
