"""The stages, in order, where they live, and what each one's chat does.

Shared by the repo's tools and tests (never by the stages). Standard library only, and no syntax
newer than Python 3.6: tools/doctor.py imports it before it knows the Python is new enough.
"""

import shutil
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent


class Behaviour(NamedTuple):
    """What a stage's chat does, as a browser (and so the checks) sees it from outside."""

    stage: str
    # A channel layer carries each message to every socket of the room (else: echo to the sender).
    broadcasts: bool
    # ChatConsumer is an AsyncWebsocketConsumer.
    is_async: bool
    # A malformed frame: "closes" (the tutorial's consumer raises; daphne closes that socket with
    # 1011, a second later) or "answers" (an {"error": ...} frame; the socket stays open).
    bad_frame: str
    # The longest room name served, in characters; a longer one gets a 404 page and HTTP 403 on
    # the handshake. None: no limit of its own.
    room_name_limit: "int | None"
    # The handshake's HTTP status for a socket path that is no room.
    no_route_status: int
    # The learner writes tests (chat/tests) that the checker runs, once as they are and once
    # against a consumer that never delivers.
    own_tests: bool
    # The room page reports its socket in body.dataset.connected (it may replace the socket when
    # it reconnects); else it keeps the tutorial's one top-level `chatSocket`.
    page_reports_socket: bool


BEHAVIOUR = {
    b.stage: b
    for b in [
        Behaviour("part1_echo", False, False, "closes", None, 500, False, False),
        Behaviour("part2_groups", True, False, "closes", None, 500, False, False),
        Behaviour("part3_async", True, True, "closes", None, 500, False, False),
        Behaviour("part4_tests", True, True, "answers", None, 500, True, False),
    ]
}

STAGES = list(BEHAVIOUR)


def stages_where(**wanted):
    """The stages whose behaviour has these values, in order: stages_where(broadcasts=True)."""
    unknown = set(wanted) - set(Behaviour._fields)
    if unknown:
        raise TypeError(f"no such behaviour: {', '.join(sorted(unknown))}")
    return [
        stage
        for stage, does in BEHAVIOUR.items()
        if all(getattr(does, key) == value for key, value in wanted.items())
    ]


# Stages whose consumer broadcasts to the room through a channel layer.
GROUP_STAGES = stages_where(broadcasts=True)

# Generated files a stage folder may hold that are never part of the lesson.
GENERATED = [
    "__pycache__",
    "*.pyc",
    "db.sqlite3",
    "*.sqlite3",
    "*.sqlite3-journal",
    ".pytest_cache",
]


def copy_stage(stage_or_folder, dest, also_ignore=()):
    """Copy a stage (its name, or any folder; a relative path is from the repo root) to dest,
    without its generated files (nor the also_ignore patterns). Returns dest as a Path."""
    dest = Path(dest)
    ignore = shutil.ignore_patterns(*GENERATED, *also_ignore)
    shutil.copytree(str(ROOT / stage_or_folder), str(dest), ignore=ignore)
    return dest


def display(path):
    """A path as the learner would type it from where they are (relative when inside)."""
    path = Path(path)
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)
