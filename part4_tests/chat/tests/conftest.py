# chat/tests/conftest.py
"""pytest fixtures: Redis servers, each channel layer in turn, and sockets that must close."""

import asyncio
import os
import runpy
import sys
from importlib.util import find_spec
from urllib.parse import quote

import pytest
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from chat.routing import websocket_urlpatterns

from .helpers import TIMEOUT, RedisServer

STOP_WITHIN = 5  # seconds a consumer may take to finish after its socket closes


@pytest.fixture(scope="session")
def redis_url():
    """REDIS_URL if it is set, else a redis-server of our own for the whole run."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = RedisServer().start()
    yield server.url
    server.stop()


@pytest.fixture
def redis_server():
    """A redis-server for one test, which the test may stop and start again."""
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["memory", "redis"])
def channel_layer(request, settings, monkeypatch):
    """Run the test once with each channel layer, configured by mysite/settings.py itself: the
    file is run again with REDIS_URL set or unset, and its CHANNEL_LAYERS used."""
    if request.param == "memory":
        monkeypatch.delenv("REDIS_URL", raising=False)
    elif request.param == "redis":
        monkeypatch.setenv("REDIS_URL", request.getfixturevalue("redis_url"))
    else:  # "own redis", for a test that stops its Redis
        monkeypatch.setenv("REDIS_URL", request.getfixturevalue("redis_server").url)
    settings.CHANNEL_LAYERS = runpy.run_path(find_spec("mysite.settings").origin)["CHANNEL_LAYERS"]
    return get_channel_layer()


async def wait_for(awaitable, timeout):
    """asyncio.wait_for as Python 3.12 has it. Python 3.11's can swallow a cancellation that
    arrives just as the awaited task finishes (https://github.com/python/cpython/issues/86296).
    redis-py sends every command through it, so a consumer cancelled at that moment goes on
    reading from Redis after its socket closed, and the check in connect() fails."""
    async with asyncio.timeout(timeout):
        return await awaitable


@pytest.fixture
async def connect(channel_layer, monkeypatch):
    """Open a WebSocket to a room and check that the handshake is accepted (expect=False:
    refused; None: not checked, see .accepted). After the test every socket is closed, and each
    consumer must finish within STOP_WITHIN seconds, or the test fails."""
    if sys.version_info < (3, 12):
        monkeypatch.setattr(asyncio, "wait_for", wait_for)
    opened = []

    async def open_socket(room, application=None, headers=None, expect=True):
        application = application or URLRouter(websocket_urlpatterns)
        communicator = WebsocketCommunicator(application, f"/ws/chat/{quote(room)}/", headers)
        opened.append(communicator)
        communicator.accepted, _ = await communicator.connect(timeout=TIMEOUT)
        if expect is not None:
            assert communicator.accepted == expect, f"room {room!r}: expected accepted={expect}"
        return communicator

    yield open_socket
    for communicator in reversed(opened):
        if communicator.future.cancelled():  # a connect() that timed out cancelled it
            continue
        # send_input() also raises what a consumer that already stopped raised
        await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
        done, _ = await asyncio.wait([communicator.future], timeout=STOP_WITHIN)
        if not done:
            communicator.future.cancel()
            pytest.fail(f"a consumer was still running {STOP_WITHIN} s after its socket closed")
        communicator.future.result()
