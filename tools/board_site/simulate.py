"""Simulated learners for the board's tests, benchmark and screenshots.

A real checker run per learner takes seconds to a minute, so a simulated learner's result is made
by the checker's own code without serving a project: tools/check.py's check_project() with no
check selected gives the result's frame (or, for a folder that is no project, a real "could not
check"), the stage's real checkpoint checks give CheckResults, check.explain() turns them into the
result's checks, and tools/board_report.py's payload() makes the report, as --report does.
"""

import os
import random
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import board_report
import check
import contract
import websockets
from chat_client import http_get
from contract.catalogue import load_catalogue
from contract.runner import CheckResult
from stages import ROOT, STAGES

NAMES = [
    "민지", "Hana", "준호", "Sora", "Jun", "서연", "Leo", "지우", "Mina", "도윤",
    "Yuna", "하준", "Alex", "수아", "Theo", "예린", "Sam", "시우", "Noa", "은서",
    "Kai", "지호", "Eli", "채원", "Max", "유진", "Ivy", "건우", "Zoe", "다은",
]  # fmt: skip


def mistakes_for(stage):
    """Catalogued mistakes a learner can have at this stage: their own stage is this one or an
    earlier one, and this stage runs the check that catches them."""
    ids = {c.id for c in contract.checks_for(stage, checkpoint_only=True)}
    upto = STAGES[: STAGES.index(stage) + 1]
    return sorted(
        m for m, e in load_catalogue().items() if e["stage"] in upto and e["check"] in ids
    )


def result(stage, mistake=None, could_not_check=False, seconds=8.0):
    """A tools/check.py result (check_project's dict) for the reference stage, with `mistake`
    (a catalogue id) failing the check that catches it, or a real "could not check"."""
    project = ROOT / stage
    if could_not_check:
        return check.check_project(stage, Path(project, "no-such-project"), redis_url=None)
    frame = check.check_project(stage, project, redis_url=None, checks=[])
    catches = load_catalogue()[mistake]["check"] if mistake else None
    results = []
    for c in contract.checks_for(stage, checkpoint_only=True):
        if c.id == catches:
            results.append(
                CheckResult(c.id, c.title, "fail", mistake=mistake, detail="simulated", seconds=0.4)
            )
        else:
            results.append(CheckResult(c.id, c.title, "ok", seconds=round(seconds / 10, 2)))
    frame["checks"] = [check.explain(r, stage, project) for r in results]
    failed = any(r.status == "fail" for r in results)
    frame["status"] = "fail" if failed else "pass"
    frame["exit_code"] = 1 if failed else 0
    frame["seconds"] = seconds
    return frame


def report(name, code, stage, mistake=None, could_not_check=False):
    """The report tools/check.py --report would send for that result."""
    return board_report.payload(result(stage, mistake, could_not_check), name, code)


def classroom(code, learners=30, stages=STAGES, seed=21, suffix=""):
    """Every learner's report for every stage, in stage order: [(name, stage, report)]. About one
    in four reports fails with a mistake of that stage; one in forty could not be checked. The
    suffix makes another room's names (" 2": "민지 2")."""
    rng = random.Random(seed)
    frames = {}  # the same (stage, mistake) result is made once
    out = []
    for stage in stages:
        choices = mistakes_for(stage)
        for name in [n + suffix for n in names(learners)]:
            roll = rng.random()
            mistake = rng.choice(choices) if roll < 0.25 else None
            broken = 0.25 <= roll < 0.275
            key = (stage, mistake, broken)
            if key not in frames:
                frames[key] = result(stage, mistake, broken)
            out.append((name, stage, board_report.payload(frames[key], name, code)))
    return out


def names(n):
    return [
        NAMES[i % len(NAMES)] + (f" {i // len(NAMES) + 1}" if i >= len(NAMES) else "")
        for i in range(n)
    ]


def midway(code, learners=12, seed=3):
    """A room in the middle of a workshop (for the screenshots): everyone past checkpoint 1, most
    past 2, a few at 3, nobody at 4 yet; a few failing, one that could not be checked."""
    rng = random.Random(seed)
    out = []
    for i, name in enumerate(NAMES[:learners]):
        reached = 3 if i % 4 == 0 else (2 if i % 5 else 1)
        for stage in STAGES[:reached]:
            last = stage == STAGES[reached - 1]
            roll = rng.random()
            mistake = rng.choice(mistakes_for(stage)) if last and roll < 0.35 else None
            out.append((name, stage, report(name, code, stage, mistake, last and i == 7)))
    return out


def page_socket(address, **kwargs):
    """The board page's socket to the board at address (host:port), from its own origin unless
    told otherwise; its first frame is the state."""
    kwargs.setdefault("origin", f"http://{address}")
    return websockets.connect(f"ws://{address}/ws/board/", **kwargs)


class BoardProcess:
    """tools/board.py as the instructor starts it, on a loopback port, its output in a file."""

    def __init__(self, port=None, code="TESTCODE", save=None, lang="both", host="127.0.0.1"):
        from servers import free_port

        self.port = port or free_port()
        self.host = host
        self.code = code
        self.save = save
        self.lang = lang
        self.proc = None
        self.address = f"{host}:{self.port}"
        self.base_url = f"http://{self.address}"
        self.url = self.base_url + "/"

    def command(self):
        command = [sys.executable, str(ROOT / "tools" / "board.py"), "--host", self.host]
        command += ["--port", str(self.port), "--lang", self.lang]
        if self.code:
            command += ["--code", self.code]
        if self.save:
            command += ["--save", str(self.save)]
        return command

    def start(self, timeout=30):
        from servers import OWN_GROUP, wait_until

        self.log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            self.command(), stdout=self.log, stderr=subprocess.STDOUT, env=env, **OWN_GROUP
        )
        wait_until(self.serves, timeout, f"the board on {self.address}")
        return self

    def serves(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"the board exited with {self.proc.returncode}:\n{self.output()}")
        try:
            return http_get(self, "/", timeout=1)[0] == 200
        except OSError:
            return False

    def output(self):
        return Path(self.log.name).read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout=10):
        """SIGTERM (Ctrl+Break on Windows), as Ctrl+C would; the board writes --save on its way."""
        if self.proc and self.proc.poll() is None:
            if os.name == "nt":
                self.proc.send_signal(signal.CTRL_BREAK_EVENT)
            else:
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def remove_log(self):
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)
