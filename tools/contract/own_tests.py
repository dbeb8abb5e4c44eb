"""The learner's own tests (chat/tests), run by the checker where a stage asks for them
(Behaviour.own_tests): once as they are, and once against a consumer that never delivers a
message, which tests worth having must catch. Both runs start with the checked servers
(Check.early) and run beside the other checks, each in a copy of the project (its own test
database file), on a Redis database of its own; their live servers and browsers take free ports
and profiles of their own.
"""

import asyncio
import locale
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from servers import OWN_GROUP, end_group
from stages import copy_stage, stages_where

from contract.evidence import consumer_source, mistake_in_log
from contract.registry import stage_check
from contract.runner import Failed

BROKEN_CONSUMER = """

# Added by tools/check.py: a consumer that never delivers a message to its socket.
# Tests that still pass against this cannot catch a broken chat.
{kind}def _never_delivers(self, *args, **kwargs):
    return None


ChatConsumer.{handler} = _never_delivers
"""


def own_tests_command(project):
    """pytest when the project configures it (pytest.ini and friends), else Django's runner."""
    project = Path(project)
    configured = (project / "pytest.ini").exists() or any(
        (project / name).exists() and marker in (project / name).read_text(errors="replace")
        for name, marker in [
            ("pyproject.toml", "[tool.pytest"),
            ("setup.cfg", "[tool:pytest]"),
            ("tox.ini", "[pytest]"),
        ]
    )
    if configured:
        return [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
    return [sys.executable, "manage.py", "test", "chat.tests", "--failfast", "--noinput"]


TEST_TIMEOUT = 300  # seconds for one run of the project's own tests


def run_redis_url(url, run):
    """The Redis URL for the project's own test run number `run` (1, 2): another database of the
    same Redis, so the runs, which share room names with each other, and the checked servers never
    meet in a group (channels-redis keeps a group's channels in the database)."""
    if not url:
        return None
    base, _, query = url.partition("?")
    options = parse_qs(query)
    path = "" if base.startswith("unix:") else urlsplit(base).path.strip("/")  # unix: a socket
    db = int(options.get("db", [path or 0])[0])
    # A "db" option wins over the path; a Redis has 16 databases unless told otherwise.
    options["db"] = [str((db + run) % 16)]
    return f"{base}?{urlencode(options, doseq=True)}"


class OwnTestRun:
    """One run of the project's own tests in a copy of it, started at once (beside the checked
    servers and the other run) in a process group of its own, so that its browser, driver and
    live server end with it. broken=True: against a consumer that never delivers a message."""

    def __init__(self, project, work, redis_url=None, broken=False, timeout=TEST_TIMEOUT):
        self.proc = None
        self.stopped = False
        self.code = self.output = None
        self.failure = None  # Failed while making the copy: raised by finish()
        self.handler = None  # the consumer method that broken=True made do nothing
        self.timeout = timeout
        work = copy_stage(project, work, also_ignore=("test-artifacts",))  # browser screenshots
        if broken:
            try:
                self.handler = break_consumer(work)
            except Failed as failure:
                self.failure = failure
                return
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))}
        env.pop("REDIS_URL", None)
        if redis_url:
            env["REDIS_URL"] = redis_url
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        self.command = own_tests_command(work)
        self.output_path = work.parent / f"{work.name}-tests.log"
        with open(self.output_path, "wb") as output:
            self.proc = subprocess.Popen(
                self.command,
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                **OWN_GROUP,
            )
        self.deadline = time.monotonic() + timeout

    async def finish(self):
        """Wait until it has ended (or timed out: then end it); sets code (None: timed out) and
        output."""
        if self.failure:
            raise self.failure
        while self.proc.poll() is None and time.monotonic() < self.deadline:
            await asyncio.sleep(0.05)
        self.code = self.proc.poll()
        self.stop()
        self.output = self.output_path.read_bytes().decode(
            locale.getpreferredencoding(False), errors="replace"
        )
        if self.code is None:
            self.output += f"\n(timed out after {self.timeout} s)"
        return self

    def stop(self):
        """End the run and whatever it left running (a browser, say); once."""
        if self.proc and not self.stopped:
            self.stopped = True
            end_group(self.proc, signal.SIGKILL, timeout=0)


def start_pass_run(project, redis_url, scratch):
    return OwnTestRun(project, Path(scratch) / "pass", run_redis_url(redis_url, 1))


def start_broken_run(project, redis_url, scratch):
    return OwnTestRun(project, Path(scratch) / "broken", run_redis_url(redis_url, 2), broken=True)


async def finished(project, check_id, start):
    """The check's run once it has ended: the one the checker started early (Check.early), else
    one started now."""
    run = project.early.get(check_id) or start(project.project, project.redis_url, project.scratch)
    try:
        return await run.finish()
    finally:
        run.stop()


def break_consumer(project):
    """Rewrite the copy's consumers.py so the consumer never delivers a message; say how."""
    source = consumer_source(project)
    if source is None:
        raise Failed("chat/consumers.py has no class ChatConsumer that Python can read")
    handler = "chat_message" if "chat_message" in source["methods"] else "receive"
    kind = "async " if source["methods"].get(handler, source["is_async"]) else ""
    path = Path(project) / "chat" / "consumers.py"
    path.write_text(
        path.read_text(encoding="utf-8") + BROKEN_CONSUMER.format(kind=kind, handler=handler),
        encoding="utf-8",
    )
    return handler


@stage_check(
    "own-tests-pass",
    "Your tests (chat/tests) pass",
    "직접 작성한 테스트(`chat/tests`)가 통과합니다",
    stages=stages_where(own_tests=True),
    look_at="chat/tests",
    layers=(),  # run by the checker only; the repo runs part4's suite in test_part4_suite.py
    needs_server=False,
    early=start_pass_run,
)
async def own_tests_pass(project):
    run = await finished(project, "own-tests-pass", start_pass_run)
    code, output, command = run.code, run.output, run.command
    ran = re.findall(r"Ran (\d+) tests?|(\d+) passed", output)
    if code == 0 and not any(int(a or b) for a, b in ran):
        raise Failed("no tests ran: put them in chat/tests/", log_text=" ")
    if code != 0:
        mistake = mistake_in_log(output)
        lines = output.rstrip().splitlines()
        raise Failed(
            f"`python {' '.join(command[1:])}` exited with {code}",
            mistake=mistake,
            look_at="mysite/settings.py" if mistake == "test-db-in-memory" else None,
            log_text=output,
            log_lines=[line for line in lines if line.startswith("E   ")][-3:] + lines[-3:],
        )


@stage_check(
    "own-tests-catch-bugs",
    "Your tests fail against a consumer that never delivers a message",
    "메시지를 전달하지 않는 컨슈머로 바꾸면 테스트가 실패합니다",
    stages=stages_where(own_tests=True),
    look_at="chat/tests",
    needs=("own-tests-pass",),
    layers=(),
    needs_server=False,
    # Started with the other run: if that one fails, this one is skipped and ended unread.
    early=start_broken_run,
)
async def own_tests_catch_bugs(project):
    run = await finished(project, "own-tests-catch-bugs", start_broken_run)
    if run.code == 0:
        raise Failed(
            f"with ChatConsumer.{run.handler} doing nothing, "
            f"`python {' '.join(run.command[1:])}` still passed",
            mistake="tests-cannot-fail",
            log_text=" ",
        )
