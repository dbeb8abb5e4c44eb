"""The stage contract, seen from outside: real server processes, real HTTP and WebSocket clients.

Every stage is served by its own run command (StageServer), on each channel layer it supports.
"Nothing arrived" is never checked with a timed wait: the silent socket sends a message of its own
and must get that back first, so anything leaked to it would have been queued ahead of it.
"""

import itertools
import json
import random
import urllib.error
import urllib.request
from contextlib import AsyncExitStack
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from chat_client import connect, recv_json, say, socket_path
from stages import GROUP_STAGES
from websockets.exceptions import InvalidStatus

# part1 has no channel layer; parts 2-4 run on both layers.
SERVERS = [("part1_echo", "memory")] + [
    (s, layer) for s in GROUP_STAGES for layer in ("memory", "redis")
]


def each_server():
    """Parametrize over (stage, layer); one xdist group per server, so it starts once."""
    return pytest.mark.parametrize(
        "stage, layer",
        [
            pytest.param(s, layer, id=f"{s}-{layer}", marks=pytest.mark.xdist_group(f"{s}-{layer}"))
            for s, layer in SERVERS
        ],
    )


_no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(server, path):
    """(status, body text) of a GET; an error status is an answer too, not an exception."""
    try:
        with _no_proxy.open(server.base_url + path, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


_rooms = itertools.count()


def fresh(name=""):
    """A room name no earlier test used (part4 replays a room's history to each new socket)."""
    return f"t{next(_rooms)}-{random.randrange(10**6)} {name}"


def room_path(room):
    return "/chat/" + quote(room, safe="") + "/"


async def open_sockets(stack, server, *rooms):
    return [await stack.enter_async_context(connect(server, socket_path(r))) for r in rooms]


async def assert_heard_nothing(ws):
    """ws's first frame is the answer to a message of its own: nothing else was waiting for it."""
    await say(ws, "own message")
    assert await recv_json(ws) == {"message": "own message"}


class IdCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()
        self.json_scripts = {}
        self._script_id = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "script" and attrs.get("type") == "application/json":
            self._script_id = attrs.get("id")

    def handle_data(self, data):
        if self._script_id:
            self.json_scripts[self._script_id] = data

    def handle_endtag(self, tag):
        if tag == "script":
            self._script_id = None


def parse(html):
    parser = IdCollector()
    parser.feed(html)
    return parser


# --- 1. The contract -------------------------------------------------------------------------


@each_server()
def test_index_page_has_room_name_form(stage_servers, stage, layer):
    status, html = http_get(stage_servers(stage, layer), "/chat/")
    assert status == 200
    assert {"room-name-input", "room-name-submit"} <= parse(html).ids


@each_server()
def test_room_page_has_chat_log_input_and_button(stage_servers, stage, layer):
    status, html = http_get(stage_servers(stage, layer), "/chat/lobby/")
    assert status == 200
    page = parse(html)
    assert {"chat-log", "chat-message-input", "chat-message-submit"} <= page.ids
    assert json.loads(page.json_scripts["room-name"]) == "lobby"


@each_server()
async def test_message_reaches_the_right_sockets(stage_servers, stage, layer):
    """part1 echoes to the sender only; parts 2-4 broadcast to the room and to no other room."""
    server = stage_servers(stage, layer)
    async with AsyncExitStack() as stack:
        sender, peer, elsewhere = await open_sockets(
            stack, server, *[fresh("lobby")] * 2, fresh("kitchen")
        )
        await say(sender, "hello")
        assert await recv_json(sender) == {"message": "hello"}
        if stage == "part1_echo":
            await assert_heard_nothing(peer)
        else:
            assert await recv_json(peer) == {"message": "hello"}
        await assert_heard_nothing(elsewhere)


@each_server()
async def test_longest_allowed_message_goes_through(stage_servers, stage, layer):
    server = stage_servers(stage, layer)
    text = "가" * 2000
    async with connect(server, socket_path(fresh("long"))) as ws:
        await say(ws, text)
        assert await recv_json(ws) == {"message": text}


# --- 2. Room names ---------------------------------------------------------------------------

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


@each_server()
@pytest.mark.parametrize("room", ROOM_NAMES.values(), ids=ROOM_NAMES.keys())
async def test_any_typed_room_name_works_end_to_end(stage_servers, stage, layer, room):
    server = stage_servers(stage, layer)
    status, html = http_get(server, room_path(room))
    assert status == 200
    assert json.loads(parse(html).json_scripts["room-name"]) == room
    async with AsyncExitStack() as stack:
        sender, listener = await open_sockets(stack, server, room, room)
        await say(sender, f"hi {room}")
        assert await recv_json(sender) == {"message": f"hi {room}"}
        if stage != "part1_echo":
            assert await recv_json(listener) == {"message": f"hi {room}"}


# Pairs a naive sanitiser (replace unsafe characters, strip, lowercase, drop accents) would merge.
DISTINCT_ROOMS = [
    pytest.param("a b", "a_b", id="space-vs-underscore"),
    pytest.param("로비", "로비 ", id="trailing-space"),
    pytest.param("café", "cafe", id="accent"),
    pytest.param("x.y", "x-y", id="dot-vs-hyphen"),
    pytest.param("Lobby", "lobby", id="case"),
    pytest.param("로비", "lobby", id="hangul-vs-ascii"),
    pytest.param("로비", "거실", id="two-hangul-names"),
]


@each_server()
@pytest.mark.parametrize("room_a, room_b", DISTINCT_ROOMS)
async def test_different_room_names_never_share_a_room(stage_servers, stage, layer, room_a, room_b):
    server = stage_servers(stage, layer)
    prefix = fresh()
    async with AsyncExitStack() as stack:
        a, b = await open_sockets(stack, server, prefix + room_a, prefix + room_b)
        await say(a, "for a")
        assert await recv_json(a) == {"message": "for a"}
        await assert_heard_nothing(b)
        await assert_heard_nothing(a)


TOO_LONG = "가" * 101


@each_server()
@pytest.mark.parametrize(
    "path",
    [room_path(TOO_LONG), room_path("a" * 101), "/chat/a%2Fb/"],
    ids=["101-hangul", "101-ascii", "slash"],
)
def test_unservable_room_page_is_404(stage_servers, stage, layer, path):
    status, _ = http_get(stage_servers(stage, layer), path)
    assert status == 404


@each_server()
@pytest.mark.parametrize(
    "path",
    [
        socket_path(TOO_LONG),
        socket_path("a" * 101),
        "/ws/chat/a%2Fb/",
        "/ws/chat//",
        "/ws/chat/lobby",
        "/ws/nope/",
        "/ws/",
    ],
    ids=[
        "101-hangul",
        "101-ascii",
        "encoded-slash",
        "empty-name",
        "no-trailing-slash",
        "other-route",
        "bare-ws",
    ],
)
async def test_unservable_socket_path_is_refused_with_403(stage_servers, stage, layer, path):
    with pytest.raises(InvalidStatus) as refused:
        async with connect(stage_servers(stage, layer), path):
            pass
    assert refused.value.response.status_code == 403


@each_server()
def test_markup_room_name_is_rendered_escaped(stage_servers, stage, layer):
    server = stage_servers(stage, layer)
    room = "<img src=x onerror=alert(1)>\"'&"
    status, html = http_get(server, room_path(room))
    assert status == 200
    assert "<img" not in html
    assert json.loads(parse(html).json_scripts["room-name"]) == room
    # With "/" in it the name cannot be a room; the 404 page must not echo it raw either.
    status, html = http_get(server, room_path("</script><script>alert(1)</script>"))
    assert status == 404
    assert "<script>alert(1)" not in html


# --- 3. Malformed frames ---------------------------------------------------------------------

BAD_FRAMES = {
    "not-json": "hello",
    "json-list": '["message", "hi"]',
    "json-number": "42",
    "json-string": '"hi"',
    "json-null": "null",
    "missing-message": '{"text": "hi"}',
    "number-message": '{"message": 5}',
    "null-message": '{"message": null}',
    "object-message": '{"message": {"text": "hi"}}',
    "empty-message": '{"message": ""}',
    "whitespace-message": '{"message": " \\n\\t "}',
    "binary-frame": b'{"message": "hi"}',
    "2001-characters": json.dumps({"message": "x" * 2001}),
    "deeply-nested": "[" * 100000,
    "deeply-nested-message": '{"message": ' + "[" * 100000,
}


@each_server()
@pytest.mark.parametrize("frame", BAD_FRAMES.values(), ids=BAD_FRAMES.keys())
async def test_malformed_frame_gets_an_error_and_is_never_broadcast(
    stage_servers, stage, layer, frame
):
    server = stage_servers(stage, layer)
    async with AsyncExitStack() as stack:
        sender, peer = await open_sockets(stack, server, *[fresh("malformed")] * 2)
        await sender.send(frame)
        answer = await recv_json(sender)
        assert set(answer) == {"error"}
        assert isinstance(answer["error"], str) and answer["error"].strip()
        # Still open, and the next good message works (and is the peer's first frame).
        await say(sender, "after the bad one")
        assert await recv_json(sender) == {"message": "after the bad one"}
        if stage == "part1_echo":
            await assert_heard_nothing(peer)
        else:
            assert await recv_json(peer) == {"message": "after the bad one"}
        assert sender.close_code is None and peer.close_code is None


# --- 5. Origins ------------------------------------------------------------------------------


@each_server()
@pytest.mark.parametrize("origin", ["http://evil.example", None], ids=["other-site", "no-origin"])
async def test_cross_origin_handshake_is_refused(stage_servers, stage, layer, origin):
    with pytest.raises(InvalidStatus) as refused:
        async with connect(stage_servers(stage, layer), socket_path("lobby"), origin=origin):
            pass
    assert refused.value.response.status_code == 403


@each_server()
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_same_origin_handshake_is_accepted(stage_servers, stage, layer, host):
    server = stage_servers(stage, layer)
    origin = f"http://{host}:{server.port}"
    async with connect(server, socket_path(fresh()), origin=origin) as ws:
        await say(ws, "same origin")
        assert await recv_json(ws) == {"message": "same origin"}
