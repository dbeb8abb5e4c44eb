"""The board's state and the rules a report must follow (no Django: the tests call it directly).

A report is what tools/board_report.py builds from the checker's result: the stage, the status,
each check's id, status, mistake id and seconds. Anything else is refused, so no code, path or log
line can reach the board. The state is the latest report of each learner per stage, in memory.
"""

import json
import math
import os
import secrets
import time
import unicodedata
from collections import Counter
from pathlib import Path

import contract
from bilingual import Text
from contract.catalogue import load_catalogue
from stages import STAGES

MAX_BODY = 8 * 1024  # bytes; a part4 report with every check failing is about 1.5 KB
MAX_NAME = 40  # characters
MAX_LEARNERS = 200
MAX_SECONDS = 3600
# Per learner: RATE_BURST reports at once, then one more every RATE_EVERY seconds. A real check
# takes seconds (part4's 10 to 20), so only a loop or a script comes near it.
RATE_BURST = 10
RATE_EVERY = 6.0
# No 0/O, 1/I/L: a code read off a projector is typed without doubt.
CODE_LETTERS = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6

REPORT_FIELDS = {"code", "name", "stage", "status", "seconds", "checks", "mistake"}
CHECK_FIELDS = {"id", "status", "mistake", "seconds"}
STATUSES = ("pass", "fail", "error")


def new_code():
    return "".join(secrets.choice(CODE_LETTERS) for _ in range(CODE_LENGTH))


def normal_code(code):
    """What a learner typed, as compared: case and surrounding spaces do not matter."""
    return code.strip().upper() if isinstance(code, str) else ""


class Refused(Exception):
    """A report the board does not take: the HTTP status and why (Text)."""

    def __init__(self, status, reason, retry_after=None):
        super().__init__(reason.en)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after

    def to_dict(self):
        return {"ok": False, "error": self.reason.to_dict()}


def bad(reason_en, reason_ko, status=422):
    return Refused(status, Text(reason_en, reason_ko))


def check_ids(stage):
    return {c.id for c in contract.checks_for(stage, checkpoint_only=True)}


def clean_name(name):
    """The name as shown (spaces collapsed, NFC), or Refused."""
    if not isinstance(name, str):
        raise bad("the name must be text", "이름은 문자열이어야 합니다")
    shown = " ".join(unicodedata.normalize("NFC", name).split())
    if not shown:
        raise bad(
            "the name is empty: pass --name YOUR_NAME",
            "이름이 비어 있습니다. --name 뒤에 이름을 쓰세요",
        )
    if len(shown) > MAX_NAME:
        raise bad(
            f"the name is longer than {MAX_NAME} characters",
            f"이름이 {MAX_NAME}자보다 깁니다",
        )
    if any(unicodedata.category(ch).startswith("C") for ch in shown):
        raise bad("the name has control characters", "이름에 제어 문자가 있습니다")
    return shown


def seconds_of(value, where):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise bad(f"{where}: seconds must be a number", f"{where}: seconds는 숫자여야 합니다")
    if not 0 <= value <= MAX_SECONDS:
        raise bad(
            f"{where}: seconds must be 0 to {MAX_SECONDS}",
            f"{where}: seconds는 0에서 {MAX_SECONDS} 사이여야 합니다",
        )
    return round(float(value), 2)


def mistake_of(value, where):
    if value is None:
        return None
    if not isinstance(value, str) or value not in load_catalogue():
        raise bad(
            f"{where}: {str(value)[:40]!r} is no mistake of tools/mistakes.toml",
            f"{where}: {str(value)[:40]!r}은(는) tools/mistakes.toml에 없는 실수입니다",
        )
    return value


def parse_body(body):
    """The report as a dict, or Refused (too big, not JSON, not an object)."""
    if len(body) > MAX_BODY:
        raise too_big(len(body))
    try:
        report = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise bad(
            "the report is not JSON: send what tools/check.py --report sends",
            "보고가 JSON이 아닙니다. tools/check.py --report가 보내는 형식으로 보내세요",
            status=400,
        ) from None
    if not isinstance(report, dict):
        raise bad("the report must be a JSON object", "보고는 JSON 객체여야 합니다", status=400)
    return report


def too_big(size):
    return bad(
        f"the report is {size} bytes; the board takes at most {MAX_BODY}",
        f"보고가 {size}바이트입니다. 현황판은 {MAX_BODY}바이트까지만 받습니다",
        status=413,
    )


def validate(report, stages=STAGES):
    """The report's content as the board keeps it, or Refused (code and name checked before)."""
    extra = sorted(set(report) - REPORT_FIELDS)
    if extra:
        raise bad(
            f"the report has fields the board does not take: {', '.join(extra)[:80]}",
            f"현황판이 받지 않는 필드가 있습니다: {', '.join(extra)[:80]}",
        )
    stage = report.get("stage")
    if stage not in stages:
        raise bad(
            f"unknown stage {str(stage)[:40]!r}: one of {', '.join(stages)}",
            f"알 수 없는 단계 {str(stage)[:40]!r}: {', '.join(stages)} 중 하나여야 합니다",
        )
    status = report.get("status")
    if status not in STATUSES:
        raise bad(
            f"unknown status {str(status)[:20]!r}: one of {', '.join(STATUSES)}",
            f"알 수 없는 상태 {str(status)[:20]!r}: {', '.join(STATUSES)} 중 하나여야 합니다",
        )
    checks = report.get("checks")
    known = check_ids(stage)
    if not isinstance(checks, list) or len(checks) > len(known):
        raise bad(
            f"checks must be a list of at most {len(known)} checks",
            f"checks는 검사 {len(known)}개 이하의 목록이어야 합니다",
        )
    kept = []
    for i, c in enumerate(checks):
        where = f"checks[{i}]"
        if not isinstance(c, dict) or set(c) - CHECK_FIELDS or c.get("id") not in known:
            raise bad(
                f"{where} is not one of {stage}'s checks",
                f"{where}은(는) {stage} 단계의 검사가 아닙니다",
            )
        if c.get("status") not in ("ok", "fail", "skip"):
            raise bad(
                f"{where}: status must be ok, fail or skip",
                f"{where}: status는 ok, fail, skip 중 하나여야 합니다",
            )
        kept.append(
            {
                "id": c["id"],
                "status": c["status"],
                "mistake": mistake_of(c.get("mistake"), where),
                "seconds": seconds_of(c.get("seconds"), where),
            }
        )
    failing = [c for c in kept if c["status"] == "fail"]
    if (status == "fail") != bool(failing):
        raise bad(
            "status fail needs a failing check, and only fail may have one",
            "상태 fail에는 실패한 검사가 있어야 하고, fail이 아니면 없어야 합니다",
        )
    mistake = mistake_of(report.get("mistake"), "mistake")
    if status == "error":
        mistakes = [mistake] if mistake else []
    else:
        mistakes = list(dict.fromkeys(c["mistake"] for c in failing if c["mistake"]))
    return {
        "stage": stage,
        "status": status,
        "mistakes": mistakes,
        # The checks themselves are checked, not kept: every page gets the whole state in one
        # WebSocket message (daphne's limit is 1 MiB), and a page shows only these.
        "failed": [c["id"] for c in failing],
        "seconds": seconds_of(report.get("seconds"), "seconds"),
    }


class Bucket:
    """The rate limit of one name (or one address's wrong codes): RATE_BURST at once, then one
    every RATE_EVERY seconds."""

    def __init__(self, now):
        self.tokens = RATE_BURST
        self.refilled = now

    def wait(self, now):
        """None, or the seconds until one more may come (taking nothing)."""
        self.tokens = min(RATE_BURST, self.tokens + (now - self.refilled) / RATE_EVERY)
        self.refilled = now
        if self.tokens < 1:
            return math.ceil((1 - self.tokens) * RATE_EVERY)
        return None

    def take(self, now):
        """None, or the seconds until this name may report again."""
        wait = self.wait(now)
        if wait is None:
            self.tokens -= 1
        return wait


def bounded(buckets, key, keep):
    """buckets, pruned to those keep() wants when a new key would pass 4 * MAX_LEARNERS."""
    if key not in buckets and len(buckets) >= 4 * MAX_LEARNERS:
        return {k: b for k, b in buckets.items() if keep(k)}
    return buckets


class Learner:
    def __init__(self, name):
        self.name = name
        self.cells = {}  # stage -> the latest report's content, with "at" (epoch seconds)

    def row(self):
        # The page keys rows by "key": its own lower-casing is not Python's casefold ("ß").
        return {"name": self.name, "key": self.name.casefold(), "cells": self.cells}


class Board:
    """The latest report of every learner per stage. One asyncio loop uses it: no locks."""

    def __init__(self, code=None, stages=STAGES, clock=time.monotonic, wall=time.time):
        self.code = normal_code(code) or new_code()
        self.stages = list(stages)
        self.learners = {}  # name.casefold() -> Learner
        self.buckets = {}  # name.casefold() -> Bucket
        self.guesses = {}  # a sender's address -> Bucket of its wrong join codes
        self.clock = clock
        self.wall = wall
        self.seq = 0  # one more per accepted report; a page that sees a gap asks for the state

    def accept(self, body, sender=None):
        """Take a report (the request body; sender: the address it came from): the update to
        send to the pages, or Refused."""
        report = parse_body(body)
        # An address past its wrong codes is refused before its code is compared: guessing the
        # code goes no faster than one try every RATE_EVERY seconds.
        now = self.clock()
        guesses = self.guesses.get(sender)
        wait = guesses.wait(now) if guesses else None
        if wait is not None:
            raise Refused(
                429,
                Text(
                    f"too many wrong join codes from this address: try again in {wait} s",
                    f"이 주소에서 틀린 참가 코드를 너무 많이 보냈습니다. {wait}초 뒤에 다시 "
                    "보내세요",
                ),
                retry_after=wait,
            )
        if not secrets.compare_digest(normal_code(report.get("code")), self.code):
            self.guesses = bounded(self.guesses, sender, lambda k: self.guesses[k].tokens < 1)
            self.guesses.setdefault(sender, Bucket(now)).take(now)
            raise Refused(
                403,
                Text(
                    "wrong join code: use the code the instructor's board printed",
                    "참가 코드가 틀렸습니다. 강사의 현황판이 출력한 코드를 쓰세요",
                ),
            )
        name = clean_name(report.get("name"))
        key = name.casefold()
        if key not in self.learners and len(self.learners) >= MAX_LEARNERS:
            raise Refused(
                403,
                Text(
                    f"the board is full ({MAX_LEARNERS} learners)",
                    f"현황판이 가득 찼습니다(학습자 {MAX_LEARNERS}명)",
                ),
            )
        # Counted before the content is checked: a loop of bad reports is held back too.
        self.buckets = bounded(self.buckets, key, lambda k: k in self.learners)
        wait = self.buckets.setdefault(key, Bucket(now)).take(now)
        if wait is not None:
            raise Refused(
                429,
                Text(
                    f"too many reports from this name: try again in {wait} s",
                    f"이 이름으로 보낸 보고가 너무 많습니다. {wait}초 뒤에 다시 보내세요",
                ),
                retry_after=wait,
            )
        cell = validate(report, self.stages)
        cell["at"] = round(self.wall(), 1)
        learner = self.learners.setdefault(key, Learner(name))
        learner.name = name
        learner.cells[cell.pop("stage")] = cell
        self.seq += 1
        return self.update(learner, report["stage"])

    def rows(self):
        ordered = sorted(self.learners.values(), key=lambda x: (x.name.casefold(), x.name))
        return [x.row() for x in ordered]

    def counts(self):
        counts = {stage: {s: 0 for s in STATUSES} for stage in self.stages}
        for learner in self.learners.values():
            for stage, cell in learner.cells.items():
                counts[stage][cell["status"]] += 1
        return counts

    def common(self):
        """The mistake most learners have now, in any stage's latest report (a learner counts
        once per mistake): {"mistake", "learners", "stages"}, or None."""
        found = Counter()
        where = {}
        for learner in self.learners.values():
            own = set()
            for stage, cell in learner.cells.items():
                for mistake in cell["mistakes"]:
                    own.add(mistake)
                    where.setdefault(mistake, set()).add(stage)
            found.update(own)
        if not found:
            return None
        mistake, n = min(found.items(), key=lambda item: (-item[1], item[0]))
        stages = [s for s in self.stages if s in where[mistake]]
        return {"mistake": mistake, "learners": n, "stages": stages}

    def summary(self):
        return {
            "seq": self.seq,
            "learners": len(self.learners),
            "counts": self.counts(),
            "common": self.common(),
        }

    def snapshot(self):
        return {"type": "state", "stages": self.stages, "rows": self.rows(), **self.summary()}

    def update(self, learner, stage):
        return {"type": "update", "stage": stage, "row": learner.row(), **self.summary()}

    # --- --save FILE -----------------------------------------------------------------------

    def to_json(self):
        return json.dumps(
            {"code": self.code, "rows": self.rows(), "seq": self.seq},
            ensure_ascii=False,
            indent=1,
        )

    def save(self, path):
        """Write the state to path, atomically (a crash mid-write leaves the old file)."""
        path = Path(path)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(self.to_json(), encoding="utf-8")
        os.replace(partial, path)

    def load(self, path, keep_code=False):
        """Read a state that save() wrote; the saved join code too unless keep_code."""
        saved = json.loads(Path(path).read_text(encoding="utf-8"))
        if not keep_code:
            self.code = normal_code(saved["code"]) or self.code
        self.seq = int(saved.get("seq", 0))
        for row in saved["rows"]:
            learner = Learner(row["name"])
            learner.cells = {s: c for s, c in row["cells"].items() if s in self.stages}
            self.learners[row["name"].casefold()] = learner
        return self
