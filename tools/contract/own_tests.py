"""The learner's own tests (chat/tests), run by the checker where a stage asks for them
(Behaviour.own_tests): once as they are, and once against a consumer that never delivers a
message, which tests worth having must catch. Each run is in a copy of the project.
"""

import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from stages import GENERATED, stages_where

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


def run_project_tests(project, redis_url=None, timeout=300):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))}
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    command = own_tests_command(project)
    try:
        done = subprocess.run(
            command,
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
        return done.returncode, done.stdout, command
    except subprocess.TimeoutExpired as expired:
        out = expired.stdout or ""
        out = out.decode(errors="replace") if isinstance(out, bytes) else out
        return None, out + f"\n(timed out after {timeout} s)", command


def copy_project(project, dest):
    shutil.copytree(project, dest, ignore=shutil.ignore_patterns(*GENERATED, "test-artifacts"))
    return dest


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
)
async def own_tests_pass(project):
    work = project.scratch / "pass"
    copy_project(project.project, work)
    code, output, command = await asyncio.to_thread(run_project_tests, work, project.redis_url)
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
)
async def own_tests_catch_bugs(project):
    work = project.scratch / "broken"
    copy_project(project.project, work)
    handler = break_consumer(work)
    code, output, command = await asyncio.to_thread(run_project_tests, work, project.redis_url)
    if code == 0:
        raise Failed(
            f"with ChatConsumer.{handler} doing nothing, "
            f"`python {' '.join(command[1:])}` still passed",
            mistake="tests-cannot-fail",
            log_text=" ",
        )
