"""Running checks against a served project: what a check sees (ServedProject), what it raises
(Failed, Skipped) and what comes of it (CheckResult, which names the likely mistake)."""

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

from bilingual import Text
from stages import BEHAVIOUR
from websockets.exceptions import WebSocketException

from contract.catalogue import look_at_for
from contract.evidence import mistake_in_log, trim_traceback


class Failed(Exception):
    """A check did not hold: what was seen (English: it quotes programs), and what it points to."""

    def __init__(self, detail, mistake=None, look_at=None, log_text="", log_lines=None):
        super().__init__(detail)
        self.detail = detail
        self.mistake = mistake  # a catalogue id, when the evidence names one
        self.look_at = look_at
        self.log_text = log_text  # the log to read for a mistake (default: the server's)
        self.log_lines = log_lines  # what to show of log_text, when it is no Python traceback


# What a check may meet that it did not expect, e.g. the server dying under it (a closed
# connection, a refused one, a read that times out): a failure that says what happened.
UNEXPECTED = (OSError, EOFError, WebSocketException)


class Skipped(Exception):
    def __init__(self, reason):
        super().__init__(reason.en)
        self.reason = reason  # Text


@dataclass
class ServedProject:
    """A project as the checks see it: `server` (base_url, ws_url, origin, log()) serves it;
    `second` is another process of it on the same Redis (None: not available)."""

    stage: str
    project: Path
    server: object
    second: object = None
    layer: str = "memory"
    timeout: float = 10.0  # seconds to wait for a frame that should come
    why_no_second: Text | None = None  # why there is no second process
    redis_url: str | None = None  # for the project's own tests
    scratch: Path | None = None  # a temporary folder for copies of the project
    mark: int = 0  # where the current check's part of the server log starts
    log_signs: tuple = ()  # the current check's own log signs
    # True for the repo's reference stages: hold them to their exact behaviour where a learner's
    # project may differ and still work (e.g. how a malformed frame is refused).
    reference: bool = False
    early: dict = field(default_factory=dict)  # {check id: what its Check.early started}

    @property
    def behaviour(self):
        """What the stage's chat does (tools/stages.py)."""
        return BEHAVIOUR[self.stage]

    def log(self):
        return self.server.log() if self.server else ""

    def window(self):
        """The server's log written since the current check started."""
        return self.log()[self.mark :]


@dataclass
class CheckResult:
    id: str
    title: Text
    status: str  # "ok", "fail" or "skip"
    mistake: str | None = None  # a catalogue id, when the evidence names one
    detail: str = ""  # what was observed (English: it quotes programs)
    look_at: str | None = None  # file in the project to look at
    skip_reason: Text | None = None
    log: list = field(default_factory=list)  # the server's traceback, trimmed
    log_source: str = "server"  # or "tests": the output of the project's own tests
    seconds: float = 0.0

    def to_dict(self):
        """The JSON form (tools/check.py --json): each text as {"en": ..., "ko": ...}."""
        return {
            "id": self.id,
            "title": self.title.to_dict(),
            "status": self.status,
            "mistake": self.mistake,
            "detail": self.detail,
            "look_at": self.look_at,
            "skip_reason": self.skip_reason.to_dict() if self.skip_reason else None,
            "log": list(self.log),
            "log_source": self.log_source,
            "seconds": self.seconds,
        }


async def run_one(chk, project):
    started = time.monotonic()
    result = await _run_one(chk, project)
    result.seconds = round(time.monotonic() - started, 2)
    return result


async def _run_one(chk, project):
    project.mark = len(project.log())
    project.log_signs = chk.log_signs
    try:
        await chk.run(project)
        return CheckResult(chk.id, chk.title, "ok")
    except Skipped as skip:
        return CheckResult(chk.id, chk.title, "skip", skip_reason=skip.reason)
    except (Failed, *UNEXPECTED) as error:
        failure = error if isinstance(error, Failed) else Failed(unexpected(error))
        await asyncio.sleep(0.2)  # let the server finish writing its traceback
        log = failure.log_text or project.window()
        mistake = failure.mistake or mistake_in_log(log, chk.log_signs)
        tests = failure.log_lines is not None
        return CheckResult(
            chk.id,
            chk.title,
            "fail",
            mistake=mistake,
            detail=failure.detail,
            look_at=look_at_for(mistake) or failure.look_at or chk.look_at,
            log=failure.log_lines if tests else trim_traceback(log, project.project),
            log_source="tests" if tests else "server",
        )


def unexpected(error):
    """What a check met that it did not expect, on one line."""
    said = str(error) or repr(error)
    return f"the check stopped on {type(error).__name__}: {said}"


def start_early(checks, project, redis_url, scratch):
    """Start the work of the checks that have Check.early, now: {check id: handle}."""
    return {c.id: c.early(project, redis_url, scratch) for c in checks if c.early}


def stop_early(started):
    """End what start_early started (a check skipped never read its own)."""
    for handle in started.values():
        handle.stop()


def in_running_order(checks):
    """Destructive checks last, each group in its declared order."""
    return [c for c in checks if not c.destructive] + [c for c in checks if c.destructive]


async def run_checks(project, checks):
    """Run checks in order, destructive ones last; one whose prerequisite did not pass is
    skipped, saying which."""
    results = {}
    for chk in in_running_order(checks):
        blocked = [results[n] for n in chk.needs if n in results and results[n].status != "ok"]
        if blocked:
            title = blocked[0].title
            reason = Text(
                f"needs \u201c{title.en}\u201d to pass first",
                f"\u201c{title.ko}\u201d 검사를 먼저 통과해야 합니다",
            )
            results[chk.id] = CheckResult(chk.id, chk.title, "skip", skip_reason=reason)
            continue
        results[chk.id] = await run_one(chk, project)
    return list(results.values())
