"""The checkpoint checks: what a stage's chat must do, driven from outside as a browser would.

The learner's checker (tools/check.py) runs these against their project, and the repo's tests
(tools/tests/test_stage_contract.py) against the reference stages. Which stages a check applies
to comes from what each stage does (stages.stages_where), in tools/stages.py.
"""

import asyncio
import json
import time
from contextlib import AsyncExitStack

from bilingual import Text
from chat_client import Page, connect, http_get, say, socket_path
from stages import stages_where
from websockets.exceptions import ConnectionClosed, InvalidStatus

from contract.evidence import consumer_source, daphne_first, installed_apps
from contract.probes import (
    expect_message,
    expect_nothing,
    fresh,
    open_socket,
    room_page,
    room_works,
)
from contract.registry import stage_check
from contract.runner import Failed, Skipped

# A room name a learner will type: Hangul, a space, a hyphen and a dot.
KOREAN_ROOM = "한글 방-{n}.x"  # a new n each run: part4 replays a room's history on join
SHOWN_ROOM = KOREAN_ROOM.format(n=1)

SLOW_BROADCAST = 1.0  # seconds for the broadcast check's two handshakes and four frames


@stage_check(
    "index-page",
    "GET /chat/ shows the room name box (#room-name-input, #room-name-submit)",
    "`/chat/` 페이지에 채팅방 이름 입력란(`#room-name-input`, `#room-name-submit`)이 있습니다",
    look_at="chat/templates/chat/index.html",
)
async def index_page(project):
    status, html, _ = http_get(project.server, "/chat/")
    if status != 200:
        raise Failed(f"GET /chat/ answered HTTP {status}", look_at="mysite/urls.py")
    missing = {"room-name-input", "room-name-submit"} - Page(html).ids
    if missing:
        raise Failed(f"no element with id {', '.join(sorted(missing))}")


@stage_check(
    "room-page",
    "GET /chat/lobby/ shows the chat log, message box and Send button",
    "`/chat/lobby/` 페이지에 채팅 로그, 메시지 입력란, 전송 버튼이 있습니다",
    look_at="chat/templates/chat/room.html",
)
async def lobby_page(project):
    await room_page(project, "lobby")


@stage_check(
    "socket-opens",
    "WebSocket /ws/chat/lobby/ opens",
    "웹소켓 `/ws/chat/lobby/`가 열립니다",
    look_at="mysite/asgi.py",
)
async def socket_opens(project):
    try:
        async with connect(project.server, socket_path("lobby")):
            return
    except InvalidStatus as refused:
        status = refused.response.status_code
        server = refused.response.headers.get("Server")
        detail = f"the handshake got HTTP {status}" + (f" (server: {server})" if server else "")
    except (OSError, TimeoutError) as error:
        raise Failed(f"could not connect: {error!r}") from None
    mistake = None  # else read from the server's log, once it has written it
    if status == 404:
        _, _, headers = http_get(project.server, "/chat/")
        apps = installed_apps(project.project)
        if "WSGIServer" in headers.get("Server", "") or (
            apps is not None and not daphne_first(apps)
        ):
            mistake = "daphne-not-first"
            detail += f"; Django's WSGI server answered; INSTALLED_APPS = {apps}"
    raise Failed(detail, mistake=mistake)


@stage_check(
    "echo",
    'A message comes back to its sender as JSON {"message": ...}',
    '보낸 메시지가 JSON `{"message": ...}`으로 보낸 사람에게 돌아옵니다',
    stages=stages_where(broadcasts=False),
    needs=("socket-opens",),
)
async def echo(project):
    async with AsyncExitStack() as stack:
        ws = await open_socket(stack, project, fresh("echo"), "the sender")
        await say(ws, "hello")
        await expect_message(ws, "hello", project)


@stage_check(
    "echo-sender-only",
    "A second tab in the same room gets nothing (echo, no broadcast yet)",
    "같은 채팅방의 두 번째 탭은 아무것도 받지 않습니다(아직 브로드캐스트가 없습니다)",
    stages=stages_where(broadcasts=False),
    needs=("echo",),
)
async def echo_sender_only(project):
    room = fresh("tabs")
    async with AsyncExitStack() as stack:
        sender = await open_socket(stack, project, room, "tab 1")
        other = await open_socket(stack, project, room, "tab 2")
        await say(sender, "hello")
        await expect_message(sender, "hello", project, "tab 1")
        await expect_nothing(other, project, "tab 2")


@stage_check(
    "broadcast",
    "Two tabs in one room both get a message either one sends",
    "같은 채팅방의 두 탭이 어느 쪽에서 보낸 메시지든 모두 받습니다",
    stages=stages_where(broadcasts=True),
    needs=("socket-opens",),
)
async def broadcast(project):
    started = time.monotonic()
    room = fresh("tabs")
    async with AsyncExitStack() as stack:
        tab1 = await open_socket(stack, project, room, "tab 1")
        tab2 = await open_socket(stack, project, room, "tab 2")
        await say(tab1, "from tab 1")
        await expect_message(tab1, "from tab 1", project, "tab 1 (the sender)")
        try:
            await expect_message(tab2, "from tab 1", project, "tab 2")
        except Failed as failure:
            if failure.mistake is None and "got nothing" in failure.detail:
                failure.mistake = "still-echo"
            raise
        await say(tab2, "from tab 2")
        await expect_message(tab1, "from tab 2", project, "tab 1")
        await expect_message(tab2, "from tab 2", project, "tab 2 (the sender)")
    took = time.monotonic() - started
    # A working server takes milliseconds; a slow machine alone is no mistake, so a slow room
    # fails only when the consumer shows what blocks it.
    source = consumer_source(project.project) if took > SLOW_BROADCAST else None
    if source and source["blocking_calls"]:
        raise Failed(
            f"two sockets and four deliveries took {took:.1f} s; blocking calls in async def "
            f"methods: {'; '.join(source['blocking_calls'])}",
            mistake="blocking-call",
        )


@stage_check(
    "room-only",
    "A tab in another room gets nothing",
    "다른 채팅방의 탭은 아무것도 받지 않습니다",
    stages=stages_where(broadcasts=True),
    needs=("broadcast",),
)
async def room_only(project):
    async with AsyncExitStack() as stack:
        sender = await open_socket(stack, project, fresh("here"), "the sender")
        elsewhere = await open_socket(stack, project, fresh("elsewhere"), "the other room")
        await say(sender, "hello")
        await expect_message(sender, "hello", project)
        await expect_nothing(elsewhere, project, "the tab in another room")


@stage_check(
    "korean-room",
    f"Room \u201c{SHOWN_ROOM}\u201d (Hangul, space, hyphen, dot): its page and socket work",
    f"채팅방 \u201c{SHOWN_ROOM}\u201d(한글, 공백, 하이픈, 마침표)의 페이지와 웹소켓이 동작합니다",
    look_at="chat/routing.py",
    needs=("echo", "broadcast"),
    # lobby has a route (its checks passed), this name has none
    log_signs=(("No route found for path", "word-route"),),
)
async def korean_room(project):
    await room_works(project, KOREAN_ROOM.format(n=fresh()))


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

# Frames with a "message" key are ordinary messages to the tutorial's code (parts 1-3).
TUTORIAL_ACCEPTS = {
    "number-message",
    "null-message",
    "object-message",
    "empty-message",
    "whitespace-message",
    "2001-characters",
}


@stage_check(
    "bad-frames",
    "A malformed frame closes at most its own socket; the server and other tabs keep working",
    "잘못된 프레임을 보내면 그 소켓만 닫힐 수 있고, 서버와 다른 탭은 계속 동작합니다",
    stages=stages_where(bad_frame="closes"),
    needs=("echo", "broadcast"),
    destructive=True,  # the tutorial's consumer raises on each of these frames
)
async def bad_frames_closing(project):
    """The tutorial's code: the consumer raises and daphne closes THAT socket.

    In phases, never sending while consumers stop: on Redis, a consumer that stops while another
    socket's message is being fetched can lose that message (channels-redis; see
    tools/upstream/redis-layer-cancel-loss/REPORT.md)."""
    frames = {k: v for k, v in BAD_FRAMES.items() if k not in TUTORIAL_ACCEPTS}
    async with AsyncExitStack() as stack:
        rooms = await asyncio.gather(*(open_pair(stack, project) for _ in frames))
        # All at once: daphne takes about a second to close each socket whose consumer raised.
        await asyncio.gather(
            *(
                frame_refused(project, name, frame, sender)
                for (name, frame), (sender, _) in zip(frames.items(), rooms, strict=True)
            )
        )
        # The server keeps serving, and the other tabs are unaffected.
        for _, peer in rooms:
            await say(peer, "still here")
        for name, (_, peer) in zip(frames, rooms, strict=True):
            await expect_message(peer, "still here", project, f"{name}: the second tab")
        ws = await open_socket(stack, project, fresh("after"), "a new socket")
        await say(ws, "after")
        await expect_message(ws, "after", project, "a new socket after the malformed frames")


async def open_pair(stack, project):
    room = fresh("malformed")
    sender = await open_socket(stack, project, room, "the sender")
    peer = await open_socket(stack, project, room, "a second tab")
    return sender, peer


async def frame_refused(project, name, frame, sender):
    """A learner's consumer may close the socket (as the tutorial's does), answer, or ignore the
    frame; the reference stages close it with 1011. On Redis the close waits for the consumer's
    pending Redis read (channels-redis), seconds later: not waited for here."""
    await sender.send(frame)
    must_close = project.reference and project.layer == "memory"
    try:
        raw = await asyncio.wait_for(sender.recv(), project.timeout if must_close else 1)
    except ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd else None
        if project.reference and code != 1011:
            raise Failed(f"{name}: closed with {code}, expected 1011") from None
    except TimeoutError:
        if must_close:
            raise Failed(f"{name}: the sender's socket stayed open") from None
    else:
        if project.reference:
            raise Failed(f"{name}: the sender got {raw!r}; its socket should close")


# A "message" string of any length or content is a message to part4's read_message().
STRINGS_ARE_MESSAGES = {"empty-message", "whitespace-message", "2001-characters"}


@stage_check(
    "bad-frames",
    "A malformed frame gets an error frame, the socket stays open, nothing is broadcast",
    "잘못된 프레임에는 오류 프레임으로 답하고, 소켓은 열어 두며, 다른 탭에는 보내지 않습니다",
    stages=stages_where(bad_frame="answers"),
    needs=("broadcast",),
)
async def bad_frames_answered(project):
    for name, frame in BAD_FRAMES.items():
        if name in STRINGS_ARE_MESSAGES:
            continue
        async with AsyncExitStack() as stack:
            room = fresh("malformed")
            sender = await open_socket(stack, project, room, "the sender")
            peer = await open_socket(stack, project, room, "a second tab")
            await sender.send(frame)
            try:
                answer = json.loads(await asyncio.wait_for(sender.recv(), project.timeout))
            except (TimeoutError, ConnectionClosed, ValueError) as error:
                raise Failed(f"{name}: no error frame ({error!r})") from None
            if set(answer) != {"error"} or not str(answer["error"]).strip():
                raise Failed(f"{name}: the sender got {answer!r}, expected {{'error': ...}}")
            await say(sender, "after the bad one")
            await expect_message(sender, "after the bad one", project, f"{name}: the sender")
            # The good message is the peer's first frame: the bad one was never broadcast.
            await expect_message(peer, "after the bad one", project, f"{name}: the second tab")
            if sender.close_code is not None or peer.close_code is not None:
                raise Failed(f"{name}: a socket was closed")


@stage_check(
    "two-processes",
    "Two server processes on one Redis share the room",
    "같은 Redis를 쓰는 서버 프로세스 두 개가 채팅방을 함께 씁니다",
    stages=stages_where(broadcasts=True),
    look_at="mysite/settings.py",
    needs=("broadcast",),
    layers=("redis",),
    processes=2,
)
async def two_processes(project):
    if project.second is None:
        raise Skipped(project.why_no_second or Text("no second process", "두 번째 프로세스 없음"))
    room = fresh("two_processes")
    async with AsyncExitStack() as stack:
        on_a = await open_socket(stack, project, room, "a tab on process 1")
        on_b = await open_socket(stack, project, room, "a tab on process 2", project.second)
        await say(on_a, "across")
        await expect_message(on_a, "across", project, "the sender on process 1")
        try:
            await expect_message(on_b, "across", project, "the tab on process 2")
        except Failed as failure:
            failure.detail += " (is CHANNEL_LAYERS the Redis layer when REDIS_URL is set?)"
            failure.mistake = None
            raise


@stage_check(
    "async-consumer",
    "ChatConsumer is asynchronous (AsyncWebsocketConsumer)",
    "`ChatConsumer`가 비동기 컨슈머(`AsyncWebsocketConsumer`)입니다",
    stages=stages_where(is_async=True),
)
async def async_consumer(project):
    source = consumer_source(project.project)
    if source is None:
        raise Failed("chat/consumers.py has no class ChatConsumer that Python can read")
    if not source["is_async"]:
        raise Failed(f"ChatConsumer's base is {', '.join(source['bases'])}", mistake="still-sync")
    handlers = ("connect", "disconnect", "receive", "chat_message")
    sync_handlers = [h for h in handlers if source["methods"].get(h) is False]
    if sync_handlers:
        raise Failed(
            f"handlers not written with async def: {', '.join(sync_handlers)}",
            mistake="still-sync",
        )
