"""The chat protocol from a client's side, for tests and tools: JSON frames on /ws/chat/<room>/."""

import asyncio
import json
from urllib.parse import quote

import websockets

RECV_TIMEOUT = 10  # generous: only a failing test waits this long


def socket_path(room):
    return "/ws/chat/" + quote(room, safe="") + "/"


def connect(server, path, **kwargs):
    """A WebSocket to a StageServer, same-origin unless told otherwise, never through a proxy."""
    kwargs.setdefault("origin", server.origin)
    return websockets.connect(server.ws_url + path, proxy=None, **kwargs)


async def say(ws, text):
    await ws.send(json.dumps({"message": text}))


async def recv_json(ws, timeout=RECV_TIMEOUT):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))
