"""Check your own project against a stage's checkpoint.

    uv run python tools/check.py STAGE [PATH] [--lang ko|en] [--json]
    uv run python tools/check.py STAGE --report ADDRESS --name NAME --code CODE

PATH defaults to workspace/STAGE (made by tools/start.py); any folder with a manage.py works. The
project is served by its own `manage.py runserver` on a free port and driven from outside with the
checks in tools/contract/, the same ones the repo's tests run against the reference stages.
Exit code: 0 the checkpoint holds, 1 it does not, 2 it could not be checked (always saying why).
--report sends the result to the instructor's classroom board (tools/board_report.py); whether it
arrived changes neither the output above it nor the exit code.
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import board_report
import contract
from bilingual import Text, default_lang
from contract.catalogue import hint
from contract.evidence import mistake_in_log, trim_traceback
from install_hints import redis_install
from notes import ERRORS_SECTION, NOTES_FILE, heading_lines
from servers import RedisDidNotStart, RedisServer, StageServer, listens, redis_answers
from stages import BEHAVIOUR, ROOT, STAGES, display

START_TIMEOUT = 30  # seconds for runserver to listen
# Seconds to wait for a frame that should come. A working server takes milliseconds, but after the
# malformed-frame check has crashed the tutorial's consumers, the Redis layer of a busy machine was
# seen to take over 4 s to deliver again (the reference part3 then failed its own checkpoint).
FRAME_TIMEOUT = 10

WORDS = {
    "ok": Text("[ok]", "[통과]"),
    "fail": Text("[FAIL]", "[실패]"),
    "skip": Text("[skip]", "[건너뜀]"),
    "seen": Text("Seen", "확인한 내용"),
    "mistake": Text("Likely mistake", "예상되는 실수"),
    "no_mistake": Text(
        "No catalogued mistake matches this; compare your file with the reference.",
        "카탈로그에 있는 실수와 맞지 않습니다. 참고 단계의 파일과 비교해 보세요.",
    ),
    "look_at": Text("Look at", "살펴볼 파일"),
    "reread": Text("Reread", "다시 읽을 곳"),
    "compare": Text("Compare", "비교 명령"),
    "log": Text("Server log (last lines)", "서버 로그(마지막 몇 줄)"),
    "tests_log": Text("Test output (last lines)", "테스트 출력(마지막 몇 줄)"),
    "header": Text(
        "Checking {path} against the {stage} checkpoint ({layer})",
        "검사 대상: {path} ({stage} 체크포인트, {layer})",
    ),
    "memory": Text(
        "in-memory channel layer, 1 server process", "인메모리 레이어, 서버 프로세스 1개"
    ),
    "redis": Text(
        "Redis channel layer, 2 server processes", "Redis 코어 레이어, 서버 프로세스 2개"
    ),
    "none": Text("1 server process", "서버 프로세스 1개"),
    # No count of checks: the notes quote these lines, and a new check must not change them.
    "pass": Text("PASS: {stage} checkpoint holds", "통과: {stage} 체크포인트를 통과했습니다"),
    "passed_with_skips": Text(
        "PASS: {stage} checkpoint holds (except the skipped checks)",
        "통과: {stage} 체크포인트를 통과했습니다(건너뛴 검사 제외)",
    ),
    "failed": Text(
        "FAIL: {stage} checkpoint does not hold ({k} of {n} checks failed)",
        "실패: {stage} 체크포인트를 통과하지 못했습니다(검사 {n}개 중 {k}개 실패)",
    ),
    "error": Text(
        "ERROR: could not check {path}: {reason}", "검사할 수 없습니다({path}): {reason}"
    ),
}


def no_redis(platform=sys.platform):
    how = redis_install(platform)
    return Text(
        "no Redis here, so two server processes were not checked: install redis-server, or pass "
        "the REDIS_URL of a running Redis (uv run --env-file redis.env python tools/check.py ...), "
        f"and run the check again. To install: {how.en}",
        "Redis가 없어서 서버 프로세스 두 개는 검사하지 않았습니다. redis-server를 설치하거나, "
        "떠 있는 Redis의 REDIS_URL을 넘겨(uv run --env-file redis.env python tools/check.py "
        f"...) 다시 검사하세요. 설치 방법: {how.ko}",
    )


def redis_silent(url):
    return Text(
        f"REDIS_URL ({url}) does not answer, so two server processes were not checked: "
        "start that Redis, or unset REDIS_URL to let the checker start its own redis-server",
        f"REDIS_URL({url})이 응답하지 않아서 서버 프로세스 두 개는 검사하지 않았습니다. "
        "그 Redis를 켜거나, REDIS_URL을 지워서 검사 도구가 redis-server를 직접 띄우게 하세요",
    )


def redis_broken(error):
    return Text(
        f"our redis-server did not start ({error}), so two server processes were not checked: "
        "run `redis-server` yourself to see why, or pass the REDIS_URL of a running Redis",
        f"검사 도구가 띄운 redis-server가 시작되지 않아서({error}) 서버 프로세스 두 개는 "
        "검사하지 않았습니다. `redis-server`를 직접 실행해 이유를 확인하거나, 떠 있는 Redis의 "
        "REDIS_URL을 넘기세요",
    )


class CannotCheck(Exception):
    """The project could not be checked: one sentence why (Text)."""

    def __init__(self, reason, log=None, mistake=None):
        super().__init__(reason.en)
        self.reason = reason
        self.log = log or []
        self.mistake = mistake


# --- Serving the learner's project ---------------------------------------------------------------


class ProjectServer(StageServer):
    """The learner's project served in place, the way they serve it (`python manage.py runserver
    127.0.0.1:<port> --noreload`), its log in a folder outside the project. Ready once it
    listens (its /chat/ page may be what is broken); what stops it is said as CannotCheck."""

    def __init__(self, project, log_dir, redis_url=None, name="server", migrate=True):
        super().__init__(
            stage=Path(project).name,
            redis_url=redis_url,
            workdir=project,
            log_dir=log_dir,
            name=name,
            migrate=migrate,
        )

    def wait_ready(self, timeout=START_TIMEOUT):
        return super().wait_ready(timeout)

    def serves(self):
        if self.proc.poll() is not None:
            self.exited()
        return listens(self.port)

    def exited(self):
        log = self.log()
        if "Address already in use" in log or "port is already in use" in log:
            raise CannotCheck(
                Text(
                    f"port {self.port} was taken before the server could listen; run the check "
                    "again",
                    f"서버가 포트 {self.port}를 쓰기 전에 다른 프로그램이 차지했습니다. "
                    "다시 검사하세요",
                )
            )
        code = self.proc.returncode
        raise CannotCheck(
            Text(
                f"the server did not start: `python manage.py runserver` exited with code {code}",
                f"서버가 시작되지 않았습니다. `python manage.py runserver`가 종료 코드 {code}로 "
                "끝났습니다",
            ),
            log=trim_traceback(log, self.workdir) or log.splitlines()[-6:],
            mistake=mistake_in_log(log),
        )

    def did_not_start(self, timeout):
        raise CannotCheck(
            Text(
                f"the server did not answer on 127.0.0.1:{self.port} within {timeout} s",
                f"서버가 {timeout}초 안에 127.0.0.1:{self.port}에서 응답하지 않았습니다",
            ),
            log=self.log().splitlines()[-8:],
        )

    def stop(self, timeout=2):
        """Stopped after a short grace: it is a throwaway, and a consumer still waiting on Redis
        can hold daphne's shutdown for seconds."""
        super().stop(timeout=timeout)


# --- Running the checks ------------------------------------------------------------------------


def check_project(stage, project, redis_url="auto", checks=None, frame_timeout=FRAME_TIMEOUT):
    """Serve the project, run the stage's checkpoint checks, return the result as a dict (the
    JSON that --json prints).

    redis_url: "auto" (REDIS_URL, else a redis-server of our own if there is one), a URL, or
    None (in memory only). checks: run only these check ids.
    """
    started = time.monotonic()
    project = Path(project).resolve()
    result = {
        "stage": stage,
        "path": str(project),
        "layer": None,
        "status": "error",
        "exit_code": 2,
        "reason": None,
        "checks": [],
    }
    servers, redis, early = [], None, {}
    scratch = Path(tempfile.mkdtemp(prefix="chat-check-"))
    has_layer = BEHAVIOUR[stage].broadcasts  # a stage that only echoes has no channel layer
    try:
        require_project(project)
        why_no_redis = None
        if not has_layer:
            redis_url = None
        elif redis_url != "auto":
            why_no_redis = None if redis_url else no_redis()
        else:
            redis_url = None
            if os.environ.get("REDIS_URL"):
                redis_url = os.environ["REDIS_URL"]
                if not redis_answers(redis_url):
                    redis_url, why_no_redis = None, redis_silent(redis_url)
            elif shutil.which("redis-server"):
                try:  # a Redis that will not start is "no Redis": checked in memory, saying why
                    redis = RedisServer().start()
                    redis_url = redis.url
                except RedisDidNotStart as error:
                    why_no_redis = redis_broken(error)
            else:
                why_no_redis = no_redis()
        result["layer"] = "redis" if redis_url else ("memory" if has_layer else None)
        selected = contract.checks_for(stage, checkpoint_only=True)
        if checks is not None:
            selected = [c for c in selected if c.id in checks]
        served = [c for c in selected if c.needs_server]
        count = max((c.processes for c in served), default=1) if redis_url else 1
        # The project's own tests start now, in copies, and run beside the servers' checks.
        early = contract.start_early(selected, project, redis_url, scratch)
        # The first server migrates db.sqlite3 before it starts (the notes' step); then all start
        # together.
        for number in range(1, count + 1) if served else []:
            server = ProjectServer(project, scratch, redis_url, f"server-{number}", number == 1)
            servers.append(server.launch())
        for server in servers:
            server.wait_ready()
        served_project = contract.ServedProject(
            stage=stage,
            project=project,
            server=servers[0] if servers else None,
            second=servers[1] if len(servers) > 1 else None,
            layer=result["layer"] or "memory",
            timeout=frame_timeout,
            why_no_second=why_no_redis,
            redis_url=redis_url,
            scratch=scratch,
            early=early,
        )
        results = asyncio.run(contract.run_checks(served_project, selected))
        result["checks"] = [explain(r, stage, project) for r in results]
        failed = [r for r in results if r.status == "fail"]
        result["status"] = "fail" if failed else "pass"
        result["exit_code"] = 1 if failed else 0
    except CannotCheck as error:
        result["reason"] = error.reason.to_dict()
        result["log"] = error.log
        if error.mistake:
            result["mistake"] = error.mistake
            known = hint(error.mistake)
            result["hint"] = known.to_dict() if known else None
    finally:
        contract.stop_early(early)
        for server in servers:  # all asked at once, then each waited for
            server.ask_to_stop()
        for server in servers:
            server.stop()
        if redis:
            redis.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


def require_project(project):
    shown = display(project)
    if not project.is_dir():
        raise CannotCheck(
            Text(
                f"{shown} does not exist (make it with `uv run python tools/start.py STAGE`)",
                f"{shown} 폴더가 없습니다(`uv run python tools/start.py STAGE`로 만드세요)",
            )
        )
    manage = project / "manage.py"
    if not manage.is_file():
        raise CannotCheck(
            Text(
                f"{shown} has no manage.py, so it is not a Django project folder",
                f"{shown}에 manage.py가 없어서 Django 프로젝트 폴더가 아닙니다",
            )
        )
    if "django" not in manage.read_text(encoding="utf-8", errors="replace").lower():
        raise CannotCheck(
            Text(
                f"{shown}/manage.py is not Django's manage.py",
                f"{shown}/manage.py가 Django의 manage.py가 아닙니다",
            )
        )


def explain(r, stage, project):
    """The result, plus where to look and what to reread when it failed."""
    out = r.to_dict()
    if r.status != "fail":
        return out
    look_at = r.look_at or "chat/consumers.py"
    known = hint(r.mistake) if r.mistake else None
    out["hint"] = known.to_dict() if known else None
    out["look_at"] = display(project / look_at)
    out["notes"] = {lang: notes_section(stage, r.mistake, lang) for lang in ("en", "ko")}
    out["diff"] = (
        f"git diff --no-index {display(ROOT / stage / look_at)} {display(project / look_at)}"
    )
    return out


def github_anchor(heading):
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def notes_anchor(text, mistake, lang):
    """The anchor in a stage's notes to reread for this mistake: the heading above its
    <!-- mistake: ID --> marker, else the common errors section; None when neither is there."""
    found = heading_lines(text)
    if mistake:
        marker = f"<!-- mistake: {mistake} -->"
        lines = text.splitlines()
        at = next((i for i, line in enumerate(lines) if line.strip() == marker), None)
        above = [title for i, _, title in found if at is not None and i < at]
        if above:
            return github_anchor(above[-1])
    if any(title == ERRORS_SECTION[lang] for _, _, title in found):
        return github_anchor(ERRORS_SECTION[lang])
    return None


def notes_section(stage, mistake, lang):
    """README(.ko).md#anchor of the notes' entry for this mistake, else their common errors."""
    readme = ROOT / stage / NOTES_FILE[lang]
    try:
        anchor = notes_anchor(readme.read_text(encoding="utf-8"), mistake, lang)
    except OSError:
        anchor = None
    return f"{display(readme)}#{anchor}" if anchor else display(readme)


# --- Output ------------------------------------------------------------------------------------


def colour(text, code, enabled):
    return f"\033[{code}m{text}\033[0m" if enabled else text


def render(result, lang, colours=False):
    w = {key: text[lang] for key, text in WORDS.items()}
    path = display(result["path"])
    if result["status"] == "error":
        lines = [w["error"].format(path=path, reason=result["reason"][lang])]
        if result.get("hint"):
            lines.append(f"    {w['mistake']} [{result['mistake']}]: {result['hint'][lang]}")
        if result.get("log"):
            lines.append(f"    {w['log']}:")
            lines += [f"      {line}" for line in result["log"]]
        return "\n".join(lines)
    layer = w[result["layer"] or "none"] if result["layer"] != "redis" else w["redis"]
    lines = [w["header"].format(path=path, stage=result["stage"], layer=layer)]
    marks = {"ok": ("32", w["ok"]), "fail": ("31", w["fail"]), "skip": ("33", w["skip"])}
    for c in result["checks"]:
        code, mark = marks[c["status"]]
        line = f"{colour(mark, code, colours)} {c['title'][lang]}"
        if c["status"] == "skip":
            line += f" ({c['skip_reason'][lang]})"
        lines.append(line)
        if c["status"] != "fail":
            continue
        pad = "    "
        if c["detail"]:
            lines.append(f"{pad}{w['seen']}: {c['detail']}")
        if c.get("hint"):
            lines.append(f"{pad}{w['mistake']} [{c['mistake']}]: {c['hint'][lang]}")
        else:
            lines.append(f"{pad}{w['mistake']}: {w['no_mistake']}")
        lines.append(f"{pad}{w['look_at']}: {c['look_at']}")
        lines.append(f"{pad}{w['reread']}: {c['notes'][lang]}")
        lines.append(f"{pad}{w['compare']}: {c['diff']}")
        if c["log"]:
            lines.append(f"{pad}{w['tests_log' if c['log_source'] == 'tests' else 'log']}:")
            lines += [f"{pad}  {entry}" for entry in c["log"]]
    n = len(result["checks"])
    failed = sum(c["status"] == "fail" for c in result["checks"])
    skipped = sum(c["status"] == "skip" for c in result["checks"])
    if failed:
        last = w["failed"].format(stage=result["stage"], k=failed, n=n)
        lines.append(colour(last, "31", colours))
    else:
        last = w["passed_with_skips" if skipped else "pass"].format(stage=result["stage"])
        lines.append(colour(last, "32", colours))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Check a project against a stage's checkpoint: "
        "exit 0 it holds, 1 it does not, 2 it could not be checked."
    )
    parser.add_argument("stage", choices=STAGES)
    parser.add_argument("path", nargs="?", help="the project folder (default: workspace/STAGE)")
    parser.add_argument("--lang", choices=["ko", "en"], default=None)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--report", metavar="ADDRESS", help="also send the result to the classroom board there"
    )
    parser.add_argument("--name", help="your name on the board (with --report)")
    parser.add_argument("--code", help="the board's join code (with --report)")
    args = parser.parse_args(argv)
    board_report.check_arguments(parser, args)
    project = Path(args.path) if args.path else ROOT / "workspace" / args.stage
    result = check_project(args.stage, project)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        colours = sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.name != "nt"
        print(render(result, args.lang or default_lang(), colours))
    if args.report:  # after the result, on stderr under --json so stdout stays JSON
        out = sys.stderr if args.json else sys.stdout
        board_report.report(args, result, args.lang or default_lang(), out)
    return result["exit_code"]


if __name__ == "__main__":
    sys.exit(main())
