"""Checks only the repo's own tests run, on the reference stages: hardening a learner is not
asked to build (any room name, distinct rooms, long messages, unservable paths, escaping,
origins). Where stages differ (a room name length limit, how a path with no room is refused),
tools/stages.py says how.
"""

import asyncio
import json
from contextlib import AsyncExitStack

from chat_client import Page, connect, http_get, room_path, say, socket_path
from stages import BEHAVIOUR
from websockets.exceptions import InvalidStatus

from contract.probes import expect_message, expect_nothing, fresh, open_socket, room_works
from contract.registry import stage_check
from contract.runner import Failed

ROOM_NAMES = {
    "korean": "로비",
    "space": "my room",
    "hyphen": "front-desk",
    "dots": "v1.2.3",
    "accents": "café crème",
    "korean-with-space": "로비 방",
    "trailing-space": "로비 ",
    "100-hangul": "".join(chr(0xAC00 + i) for i in range(100)),
    "symbols": "C++ & C# (50%)?",
}


@stage_check(
    "room-names",
    "Any typed room name works end to end",
    "어떤 채팅방 이름을 입력해도 처음부터 끝까지 동작합니다",
    checkpoint=False,
)
async def room_names(project):
    names = list(ROOM_NAMES.values())
    if project.behaviour.room_name_limit is None:
        names.append("가" * 150)  # no limit of its own (the tutorial's group name is a hash)
    for room in names:
        # A fresh prefix keeps a room's history replay out; the longest names go as they are.
        await room_works(project, fresh(room) if len(room) < 80 else room)


# Pairs a naive sanitiser (replace unsafe characters, strip, lowercase, drop accents) would merge.
DISTINCT_ROOMS = [
    ("a b", "a_b"),
    ("로비", "로비 "),
    ("café", "cafe"),
    ("x.y", "x-y"),
    ("Lobby", "lobby"),
    ("로비", "lobby"),
    ("로비", "거실"),
]


@stage_check(
    "distinct-rooms",
    "Different room names never share a room",
    "이름이 다른 채팅방은 서로 섞이지 않습니다",
    checkpoint=False,
)
async def distinct_rooms(project):
    for room_a, room_b in DISTINCT_ROOMS:
        prefix = fresh() + " "
        async with AsyncExitStack() as stack:
            a = await open_socket(stack, project, prefix + room_a, repr(room_a))
            b = await open_socket(stack, project, prefix + room_b, repr(room_b))
            await say(a, "for a")
            await expect_message(a, "for a", project, repr(room_a))
            await expect_nothing(b, project, f"{room_b!r} (beside {room_a!r})")


@stage_check(
    "long-message",
    "A 2,000-character Hangul message goes through",
    "2,000자 한글 메시지도 그대로 전달됩니다",
    checkpoint=False,
)
async def long_message(project):
    text = "가" * 2000
    async with connect(project.server, socket_path(fresh("long"))) as ws:
        await say(ws, text)
        await expect_message(ws, text, project)


def unservable_paths(stage):
    """Socket paths and pages no room can have: also names over the stage's length limit."""
    paths = ["/ws/chat/a%2Fb/", "/ws/chat//", "/ws/chat/lobby", "/ws/nope/", "/ws/"]
    pages = ["/chat/a%2Fb/"]
    limit = BEHAVIOUR[stage].room_name_limit
    if limit is not None:
        paths += [socket_path("가" * (limit + 1)), socket_path("a" * (limit + 1))]
        pages += [room_path("가" * (limit + 1)), room_path("a" * (limit + 1))]
    return paths, pages


@stage_check(
    "unservable-paths",
    "Paths that are no room are refused (404 page; socket handshake refused)",
    "채팅방이 될 수 없는 경로는 거절합니다(페이지는 404, 웹소켓은 핸드셰이크 거절)",
    checkpoint=False,
)
async def unservable(project):
    paths, pages = unservable_paths(project.stage)
    for page in pages:
        status, _, _ = http_get(project.server, page)
        if status != 404:
            raise Failed(f"GET {page} answered {status}, expected 404")
    # The tutorial's URLRouter raises "No route found" and daphne answers 500 (about a second
    # later: so all at once); a stage may refuse such paths itself (Behaviour.no_route_status).
    expected = project.behaviour.no_route_status
    await asyncio.gather(*(refused(project, path, expected) for path in paths))
    await room_works(project, fresh("still_serving"))


async def refused(project, path, expected):
    try:
        async with connect(project.server, path):
            raise Failed(f"{path} opened")
    except InvalidStatus as answer:
        status = answer.response.status_code
    if status != expected:
        raise Failed(f"{path}: the handshake got HTTP {status}, expected {expected}")


@stage_check(
    "markup-escaped",
    "A room name with markup is rendered escaped",
    "마크업이 들어간 채팅방 이름은 이스케이프되어 표시됩니다",
    checkpoint=False,
)
async def markup_escaped(project):
    room = "<img src=x onerror=alert(1)>\"'&"
    status, html, _ = http_get(project.server, room_path(room))
    if status != 200 or "<img" in html:
        raise Failed(f"status {status}; raw <img in page: {'<img' in html}")
    if json.loads(Page(html).json_scripts["room-name"]) != room:
        raise Failed("room-name script does not round-trip")
    status, html, _ = http_get(project.server, room_path("</script><script>alert(1)</script>"))
    if status != 404 or "<script>alert(1)" in html:
        raise Failed(f"the 404 page (status {status}) echoes the name raw")


@stage_check(
    "origins",
    "Cross-origin handshakes are refused; same-origin ones (127.0.0.1, localhost) accepted",
    "다른 출처의 핸드셰이크는 거절하고 같은 출처(127.0.0.1, localhost)는 받아들입니다",
    look_at="mysite/asgi.py",
    checkpoint=False,
)
async def origins(project):
    for origin in ("http://evil.example", None):
        try:
            async with connect(project.server, socket_path("lobby"), origin=origin):
                raise Failed(f"origin {origin!r} was accepted")
        except InvalidStatus as answer:
            if answer.response.status_code != 403:
                raise Failed(f"origin {origin!r}: HTTP {answer.response.status_code}") from None
    for host in ("127.0.0.1", "localhost"):
        origin = f"http://{host}:{project.server.base_url.rsplit(':', 1)[1]}"
        async with connect(project.server, socket_path(fresh()), origin=origin) as ws:
            await say(ws, "same origin")
            await expect_message(ws, "same origin", project, f"origin {origin}")
