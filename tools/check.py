"""Check your own project against a stage's checkpoint.

    uv run python tools/check.py STAGE [PATH] [--lang ko|en] [--json]

PATH defaults to workspace/STAGE (made by tools/start.py); any folder with a manage.py works. The
project is served by its own `manage.py runserver` on a free port and driven from outside with the
checks in tools/contract.py, the same ones the repo's tests run against the reference stages.
Exit code: 0 the checkpoint holds, 1 it does not, 2 it could not be checked (always saying why).
"""

import argparse
import asyncio
import json
import locale
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import contract
from servers import RedisServer, free_port
from stages import ROOT, STAGES

START_TIMEOUT = 30  # seconds for runserver to listen
# Seconds to wait for a frame that should come. A working server takes milliseconds, but after the
# malformed-frame check has crashed the tutorial's consumers, the Redis layer of a busy machine was
# seen to take over 4 s to deliver again (the reference part3 then failed its own checkpoint).
FRAME_TIMEOUT = 10

WORDS = {
    "en": {
        "ok": "[ok]",
        "fail": "[FAIL]",
        "skip": "[skip]",
        "seen": "Seen",
        "mistake": "Likely mistake",
        "no_mistake": "No catalogued mistake matches this; compare your file with the reference.",
        "look_at": "Look at",
        "reread": "Reread",
        "compare": "Compare",
        "log": "Server log (last lines)",
        "tests_log": "Test output (last lines)",
        "header": "Checking {path} against the {stage} checkpoint ({layer})",
        "memory": "in-memory channel layer, 1 server process",
        "redis": "Redis channel layer, 2 server processes",
        "none": "1 server process",
        "pass": "PASS: {stage} checkpoint holds ({n} checks{skipped})",
        "skipped": ", {s} skipped",
        "failed": "FAIL: {stage} checkpoint does not hold ({k} of {n} checks failed)",
        "error": "ERROR: could not check {path}: {reason}",
        "tests": "Your tests ran with: {command}",
    },
    "ko": {
        "ok": "[통과]",
        "fail": "[실패]",
        "skip": "[건너뜀]",
        "seen": "확인한 내용",
        "mistake": "예상되는 실수",
        "no_mistake": "카탈로그에 있는 실수와 맞지 않습니다. 참고 단계의 파일과 비교해 보세요.",
        "look_at": "살펴볼 파일",
        "reread": "다시 읽을 곳",
        "compare": "비교 명령",
        "log": "서버 로그(마지막 몇 줄)",
        "tests_log": "테스트 출력(마지막 몇 줄)",
        "header": "검사 대상: {path} ({stage} 체크포인트, {layer})",
        "memory": "인메모리 레이어, 서버 프로세스 1개",
        "redis": "Redis 코어 레이어, 서버 프로세스 2개",
        "none": "서버 프로세스 1개",
        "pass": "통과: {stage} 체크포인트를 통과했습니다(검사 {n}개{skipped})",
        "skipped": ", 건너뜀 {s}개",
        "failed": "실패: {stage} 체크포인트를 통과하지 못했습니다(검사 {n}개 중 {k}개 실패)",
        "error": "검사할 수 없습니다({path}): {reason}",
        "tests": "테스트 실행 명령: {command}",
    },
}

NO_REDIS = {
    "en": "no Redis here, so two server processes were not checked: install redis-server "
    "(apt-get install redis-server, brew install redis), or pass the REDIS_URL of a running Redis "
    "(uv run --env-file redis.env python tools/check.py ...), and run the check again",
    "ko": "Redis가 없어서 서버 프로세스 두 개는 검사하지 않았습니다. redis-server를 설치하거나"
    "(apt-get install redis-server, brew install redis), 떠 있는 Redis의 REDIS_URL을 넘겨"
    "(uv run --env-file redis.env python tools/check.py ...) 다시 검사하세요",
}


class CannotCheck(Exception):
    """The project could not be checked: one sentence why, in both languages."""

    def __init__(self, en, ko, log=None, mistake=None):
        super().__init__(en)
        self.reason = {"en": en, "ko": ko}
        self.log = log or []
        self.mistake = mistake


# --- Serving the learner's project ---------------------------------------------------------------


class ProjectServer:
    """`python manage.py runserver 127.0.0.1:<port> --noreload` in the project folder, in a
    process group of its own, its output in a log file outside the project."""

    def __init__(self, project, log_dir, redis_url=None, name="server"):
        self.project = Path(project)
        self.redis_url = redis_url
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.origin = self.base_url
        self.log_path = Path(log_dir) / f"{name}-{self.port}.log"
        self.proc = None
        self._asked = False

    def start(self):
        env = {
            k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")
        }
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        env["PYTHONUNBUFFERED"] = "1"
        group = (
            {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
            if os.name == "nt"
            else {"start_new_session": True}
        )
        self._log = open(self.log_path, "ab")
        if (self.project / "chat" / "migrations").is_dir():
            # A project with a model: create its tables first, as its notes do before runserver
            migrate = [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity=0"]
            subprocess.run(migrate, cwd=self.project, env=env, stdout=self._log, stderr=self._log)
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.port}", "--noreload"],
            cwd=self.project,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            **group,
        )
        return self

    def wait_ready(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._exited()
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise CannotCheck(
            f"the server did not answer on 127.0.0.1:{self.port} within {timeout} s",
            f"서버가 {timeout}초 안에 127.0.0.1:{self.port}에서 응답하지 않았습니다",
            log=self.log().splitlines()[-8:],
        )

    def _exited(self):
        log = self.log()
        if "Address already in use" in log or "port is already in use" in log:
            raise CannotCheck(
                f"port {self.port} was taken before the server could listen; run the check again",
                f"서버가 포트 {self.port}를 쓰기 전에 다른 프로그램이 차지했습니다. "
                "다시 검사하세요",
            )
        raise CannotCheck(
            f"the server did not start: `python manage.py runserver` exited with code "
            f"{self.proc.returncode}",
            f"서버가 시작되지 않았습니다. `python manage.py runserver`가 종료 코드 "
            f"{self.proc.returncode}로 끝났습니다",
            log=contract.trim_traceback(log, self.project) or log.splitlines()[-6:],
            mistake=contract.mistake_in_log(log),
        )

    def log(self):
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def terminate(self):
        """Ask the server to stop (Ctrl-C's signal on Windows, SIGTERM elsewhere)."""
        if self.proc and self.proc.poll() is None and not self._asked:
            self._asked = True
            try:
                if os.name == "nt":
                    self.proc.send_signal(signal.CTRL_BREAK_EVENT)
                else:
                    os.killpg(self.proc.pid, signal.SIGTERM)
            except OSError:
                pass

    def stop(self, grace=2):
        """Stop it, and kill it after a short grace: it is a throwaway, and a consumer still
        waiting on Redis can hold daphne's shutdown for seconds."""
        self.terminate()
        if self.proc and self.proc.poll() is None:
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                if os.name == "nt":
                    self.proc.kill()
                else:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()


def redis_silent(url):
    return {
        "en": f"REDIS_URL ({url}) does not answer, so two server processes were not checked: "
        "start that Redis, or unset REDIS_URL to let the checker start its own redis-server",
        "ko": f"REDIS_URL({url})이 응답하지 않아서 서버 프로세스 두 개는 검사하지 않았습니다. "
        "그 Redis를 켜거나, REDIS_URL을 지워서 검사 도구가 redis-server를 직접 띄우게 하세요",
    }


def redis_answers(url):
    match = re.match(r"redis://(?:[^@/]*@)?([^:/]+)(?::(\d+))?", url or "")
    if not match:
        return False
    try:
        with socket.create_connection((match.group(1), int(match.group(2) or 6379)), 2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


# --- Running the checks ------------------------------------------------------------------------


def run_check(stage, project, redis_url="auto", checks=None, frame_timeout=FRAME_TIMEOUT):
    """Serve the project, run the stage's checkpoint checks, return the result as a dict.

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
    servers, redis = [], None
    scratch = Path(tempfile.mkdtemp(prefix="chat-check-"))
    try:
        require_project(project)
        why_no_redis = None
        if stage == "part1_echo":
            redis_url = None
        elif redis_url != "auto":
            why_no_redis = None if redis_url else NO_REDIS
        else:
            redis_url = None
            if os.environ.get("REDIS_URL"):
                redis_url = os.environ["REDIS_URL"]
                if not redis_answers(redis_url):
                    redis_url, why_no_redis = None, redis_silent(redis_url)
            elif shutil.which("redis-server"):
                redis = RedisServer().start()
                redis_url = redis.url
            else:
                why_no_redis = NO_REDIS
        result["layer"] = "redis" if redis_url else ("memory" if stage != "part1_echo" else None)
        selected = contract.checks_for(stage, checkpoint_only=True)
        if checks is not None:
            selected = [c for c in selected if c.id in checks]
        # One after the other: a runserver may migrate db.sqlite3 as it starts (part4's does).
        names = ["server-1", "server-2"] if redis_url else ["server-1"]
        for name in names if any(c.needs_server for c in selected) else []:
            servers.append(ProjectServer(project, scratch, redis_url, name).start())
            servers[-1].wait_ready()
        target = contract.Target(
            stage=stage,
            project=project,
            server=servers[0] if servers else None,
            second=servers[1] if len(servers) > 1 else None,
            layer=result["layer"] or "memory",
            timeout=frame_timeout,
            why_no_second=why_no_redis,
            redis_url=redis_url,
            scratch=scratch,
        )
        results = asyncio.run(contract.run_checks(target, selected))
        result["checks"] = [explain(r, stage, project) for r in results]
        failed = [r for r in results if r.status == "fail"]
        result["status"] = "fail" if failed else "pass"
        result["exit_code"] = 1 if failed else 0
    except CannotCheck as error:
        result["reason"] = error.reason
        result["log"] = error.log
        if error.mistake:
            result["mistake"] = error.mistake
            result["hint"] = hint(error.mistake)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.stop()
        if redis:
            redis.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


def require_project(project):
    if not project.is_dir():
        raise CannotCheck(
            f"{display(project)} does not exist "
            "(make it with `uv run python tools/start.py STAGE`)",
            f"{display(project)} 폴더가 없습니다(`uv run python tools/start.py STAGE`로 만드세요)",
        )
    manage = project / "manage.py"
    if not manage.is_file():
        raise CannotCheck(
            f"{display(project)} has no manage.py, so it is not a Django project folder",
            f"{display(project)}에 manage.py가 없어서 Django 프로젝트 폴더가 아닙니다",
        )
    if "django" not in manage.read_text(encoding="utf-8", errors="replace").lower():
        raise CannotCheck(
            f"{display(project)}/manage.py is not Django's manage.py",
            f"{display(project)}/manage.py가 Django의 manage.py가 아닙니다",
        )


def hint(mistake):
    entry = contract.load_catalogue().get(mistake)
    return {"en": entry["en"], "ko": entry["ko"]} if entry else None


def display(path):
    """A path as the learner would type it from where they are (relative when inside)."""
    path = Path(path)
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def explain(r, stage, project):
    """The result, plus where to look and what to reread when it failed."""
    out = r.to_dict()
    if r.status != "fail":
        return out
    look_at = r.look_at or "chat/consumers.py"
    out["hint"] = hint(r.mistake) if r.mistake else None
    out["look_at"] = display(project / look_at)
    out["notes"] = {lang: notes_section(stage, r.mistake, lang) for lang in ("en", "ko")}
    out["diff"] = (
        f"git diff --no-index {display(ROOT / stage / look_at)} {display(project / look_at)}"
    )
    return out


def github_anchor(heading):
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def notes_section(stage, mistake, lang):
    """README(.ko).md#anchor of the notes' entry for this mistake, else their common errors."""
    readme = ROOT / stage / ("README.ko.md" if lang == "ko" else "README.md")
    try:
        lines = readme.read_text(encoding="utf-8").splitlines()
    except OSError:
        return display(readme)
    headings = [
        (i, line.lstrip("#").strip()) for i, line in enumerate(lines) if line.startswith("#")
    ]
    if mistake:
        marker = next(
            (i for i, line in enumerate(lines) if line.strip() == f"<!-- mistake: {mistake} -->"),
            None,
        )
        if marker is not None:
            above = [h for i, h in headings if i < marker]
            if above:
                return f"{display(readme)}#{github_anchor(above[-1])}"
    wanted = ("common errors", "자주 겪는", "흔한 오류", "자주 하는", "오류")
    for _, heading in headings:
        if any(w in heading.lower() for w in wanted):
            return f"{display(readme)}#{github_anchor(heading)}"
    return display(readme)


# --- Output ------------------------------------------------------------------------------------


def colour(text, code, enabled):
    return f"\033[{code}m{text}\033[0m" if enabled else text


def render(result, lang, colours=False):
    w = WORDS[lang]
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
        extra = w["skipped"].format(s=skipped) if skipped else ""
        last = w["pass"].format(stage=result["stage"], n=n, skipped=extra)
        lines.append(colour(last, "32", colours))
    return "\n".join(lines)


def default_lang():
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if os.environ.get(var):
            return "ko" if os.environ[var].lower().startswith("ko") else "en"
    try:
        name = locale.getlocale()[0] or ""
    except ValueError:
        name = ""
    return "ko" if name.lower().startswith("ko") else "en"


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Check a project against a stage's checkpoint: "
        "exit 0 it holds, 1 it does not, 2 it could not be checked."
    )
    parser.add_argument("stage", choices=STAGES)
    parser.add_argument("path", nargs="?", help="the project folder (default: workspace/STAGE)")
    parser.add_argument("--lang", choices=["ko", "en"], default=None)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    project = Path(args.path) if args.path else ROOT / "workspace" / args.stage
    result = run_check(args.stage, project)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        colours = sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.name != "nt"
        print(render(result, args.lang or default_lang(), colours))
    return result["exit_code"]


if __name__ == "__main__":
    sys.exit(main())
