"""The steps checks are made of: open a socket, expect a frame, expect nothing, load a room.

Each raises Failed with what was seen and, when the evidence tells, the mistake it points to.
"""

import asyncio
import json
import os
import time
from contextlib import AsyncExitStack

from chat_client import Page, connect, http_get, room_path, say, socket_path
from websockets.exceptions import ConnectionClosed, InvalidStatus

from contract.evidence import mistake_in_log, silent_mistake
from contract.runner import Failed

_rooms = iter(range(10**9))


def fresh(name=""):
    """A room name no earlier check used (a room may replay its history to each new socket)."""
    unique = f"c{next(_rooms)}x{os.getpid()}x{time.monotonic_ns() % 10**6}"
    return f"{unique}_{name}" if name else unique


def nothing_arrived(project):
    """The mistake behind a frame that never came: what the log names (the check's own signs
    first), else what the consumer's source shows."""
    return mistake_in_log(project.window(), project.log_signs) or silent_mistake(
        project.project, want_group=project.behaviour.broadcasts
    )


async def expect_message(ws, text, project, who="the sender"):
    """The next frame on ws must be {"message": text}; explain anything else."""
    try:
        raw = await asyncio.wait_for(ws.recv(), project.timeout)
    except TimeoutError:
        raise Failed(
            f"{who} got nothing within {project.timeout:g} s", mistake=nothing_arrived(project)
        ) from None
    except ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd else None
        raise Failed(f"the server closed {who}'s socket (code {code})") from None
    try:
        frame = json.loads(raw)
    except (TypeError, ValueError):
        raise Failed(
            f'{who} got {raw!r}, which is not JSON like {{"message": ...}}',
            mistake="echo-not-json",
        ) from None
    if frame != {"message": text}:
        raise Failed(f"{who} got {frame!r}, expected {{'message': {text!r}}}")


async def expect_nothing(ws, project, who):
    """ws heard nothing: its first frame is the answer to a message of its own."""
    await say(ws, "own message")
    try:
        raw = await asyncio.wait_for(ws.recv(), project.timeout)
    except TimeoutError:
        raise Failed(f"{who} got not even its own message back") from None
    if raw != json.dumps({"message": "own message"}):
        raise Failed(f"{who} got {raw!r}, meant for another socket")


async def open_socket(stack, project, room, who, server=None):
    """A socket to the room, closed with the stack; the handshake's failure explained."""
    ws = connect(server or project.server, socket_path(room), open_timeout=project.timeout)
    try:
        return await stack.enter_async_context(ws)
    except InvalidStatus as refused:
        raise Failed(
            f"the handshake for {who} got HTTP {refused.response.status_code}",
            look_at="chat/routing.py",
        ) from None
    except TimeoutError:
        raise Failed(
            f"the handshake for {who} got no answer within {project.timeout:g} s",
            mistake=silent_mistake(project.project, want_group=project.behaviour.broadcasts),
        ) from None
    except OSError as error:
        raise Failed(f"{who} could not connect: {error!r}") from None


async def room_page(project, room):
    """GET the room's page: the chat's elements, and the room name in its JSON script."""
    status, html, _ = http_get(project.server, room_path(room))
    if status != 200:
        raise Failed(f"GET {room_path(room)} answered HTTP {status}", look_at="chat/urls.py")
    page = Page(html)
    missing = {"chat-log", "chat-message-input", "chat-message-submit"} - page.ids
    if missing:
        raise Failed(
            f"no element with id {', '.join(sorted(missing))}",
            look_at="chat/templates/chat/room.html",
        )
    named = page.json_scripts.get("room-name")
    if named is None or json.loads(named) != room:
        raise Failed(
            f"the page's room-name script holds {named!r}, expected {room!r}",
            look_at="chat/views.py",
        )


async def room_works(project, room, server=None):
    """Page and socket of one room: the message reaches the sender (and, where the stage
    broadcasts, a second tab)."""
    await room_page(project, room)
    async with AsyncExitStack() as stack:
        sender = await open_socket(stack, project, room, f"room {room!r}", server)
        listener = await open_socket(stack, project, room, f"room {room!r}", server)
        await say(sender, f"hi {room}")
        await expect_message(sender, f"hi {room}", project, f"the sender in room {room!r}")
        if project.behaviour.broadcasts:
            await expect_message(listener, f"hi {room}", project, f"tab 2 in room {room!r}")
