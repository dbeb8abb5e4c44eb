"""The chat from a client's side, for tests and tools: JSON frames on /ws/chat/<room>/, and the
room page's socket as a browser test sees it."""

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


async def keep_talking(ws, received):
    """Talk as fast as the server answers, counting frames in received[ws]; return the close code
    once the server goes away."""
    try:
        while True:
            await say(ws, "talking")
            while True:  # read what has arrived, then talk again
                try:
                    await asyncio.wait_for(ws.recv(), 0.005)
                    received[ws] += 1
                except TimeoutError:
                    break
    except websockets.ConnectionClosed:
        return ws.close_code


def page_socket_is_open(browser, stage):
    """Parts 1-3 keep the tutorial's one top-level `chatSocket`; part4's page reports its state
    in `document.body.dataset.connected`, since it replaces the socket when it reconnects."""
    if stage == "part4_tests":
        return browser.execute_script("return document.body.dataset.connected") == "true"
    return browser.execute_script(
        "return typeof chatSocket !== 'undefined' && chatSocket.readyState === WebSocket.OPEN"
    )


def wait_for_page_socket(browser, stage, wait):
    """Block until the room page's socket is open (`wait` is a selenium WebDriverWait)."""
    wait.until(lambda b: page_socket_is_open(b, stage), f"{stage}: the chat socket never opened")
