"""The chat from a client's side, for the checks, the tests and the tools: pages over HTTP, JSON
frames on /ws/chat/<room>/, and the room page's socket as a browser test sees it.

`server` is anything with base_url, ws_url and origin (servers.StageServer and its kin, Address).
Nothing here goes through a proxy: the servers are on this machine.
"""

import asyncio
import json
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import quote

import websockets
from stages import BEHAVIOUR

RECV_TIMEOUT = 10  # generous: only a failing test waits this long

_no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def room_path(room):
    return "/chat/" + quote(room, safe="") + "/"


def socket_path(room):
    return "/ws/chat/" + quote(room, safe="") + "/"


@dataclass(frozen=True)
class Address:
    """A server known only by where it listens, e.g. a port `docker compose up` publishes."""

    port: int
    host: str = "127.0.0.1"

    @property
    def base_url(self):
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self):
        return f"ws://{self.host}:{self.port}"

    @property
    def origin(self):
        return self.base_url


def http_get(server, path, headers=None, timeout=10):
    """(status, body text, headers) of a GET; an error status is an answer too."""
    request = urllib.request.Request(server.base_url + path, headers=headers or {})
    try:
        with _no_proxy.open(request, timeout=timeout) as response:
            return response.status, response.read().decode(errors="replace"), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace"), error.headers


def connect(server, path, **kwargs):
    """A WebSocket to the server, same-origin unless told otherwise (origin=None: no Origin
    header at all)."""
    kwargs.setdefault("origin", server.origin)
    # Frames left unread (a room's history, say) never hold up the close: past 16 of them
    # websockets stops reading, misses the server's close frame and waits 10 s for it.
    kwargs.setdefault("max_queue", None)
    return websockets.connect(server.ws_url + path, proxy=None, **kwargs)


def connect_via(address, port, host, path, **kwargs):
    """A WebSocket to address:port whose URL, so its Host header, names `host` (a LAN address,
    a forwarded name) while the traffic goes to `address`."""
    sock = socket.create_connection((address, port), timeout=5)
    kwargs.setdefault("open_timeout", 5)
    return websockets.connect(f"ws://{host}{path}", sock=sock, proxy=None, **kwargs)


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


class Page(HTMLParser):
    """The ids of a page's elements, and its JSON script elements' text by id."""

    def __init__(self, html):
        super().__init__()
        self.ids = set()
        self.json_scripts = {}
        self._script_id = None
        self.feed(html)

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


def page_socket_is_open(browser, stage):
    """Is the room page's socket open? Asked the way the stage's page tells it
    (stages.Behaviour.page_reports_socket)."""
    if BEHAVIOUR[stage].page_reports_socket:
        return browser.execute_script("return document.body.dataset.connected") == "true"
    return browser.execute_script(
        "return typeof chatSocket !== 'undefined' && chatSocket.readyState === WebSocket.OPEN"
    )


def wait_for_page_socket(browser, stage, wait):
    """Block until the room page's socket is open (`wait` is a selenium WebDriverWait)."""
    wait.until(lambda b: page_socket_is_open(b, stage), f"{stage}: the chat socket never opened")
