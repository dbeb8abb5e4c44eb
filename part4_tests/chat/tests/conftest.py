"""pytest fixtures: a Redis server, each channel layer in turn, and sockets that must close."""

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

from .helpers import RedisServer

TIMEOUT = 3  # seconds to wait for a frame that should come
STOP_WITHIN = 5  # seconds a consumer may take to finish after its socket closes


@pytest.fixture(scope="session")
def redis_url():
    """REDIS_URL if it is set, else a redis-server of our own."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = RedisServer().start()
    yield server.url
    server.stop()


def use_channel_layer(settings, monkeypatch, redis_url=None):
    """Configure the channel layer exactly as mysite/settings.py does, with REDIS_URL set to
    redis_url (or unset): the settings file is run again and its CHANNEL_LAYERS used."""
    if redis_url:
        monkeypatch.setenv("REDIS_URL", redis_url)
    else:
        monkeypatch.delenv("REDIS_URL", raising=False)
    settings.CHANNEL_LAYERS = runpy.run_path(find_spec("mysite.settings").origin)["CHANNEL_LAYERS"]
    return get_channel_layer()


@pytest.fixture(params=["memory", "redis"])
def channel_layer(request, settings, monkeypatch):
    """Run the test once with each channel layer."""
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    return use_channel_layer(settings, monkeypatch, redis_url)


async def wait_for(awaitable, timeout):
    """Python 3.12's asyncio.wait_for. Python 3.11's can swallow a cancellation that arrives as
    the awaited task finishes (https://github.com/python/cpython/issues/86296); redis-py sends
    every command through it, so a consumer cancelled at that moment goes on reading from Redis
    after its socket closed (daphne kills it 10 s later), and the check below would fail."""
    async with asyncio.timeout(timeout):
        return await awaitable


@pytest.fixture
async def connect(channel_layer, monkeypatch):
    """Open a WebSocket to a room and check the handshake is accepted (expect=False: refused;
    None: see .accepted). After the test every socket is closed, and each consumer must finish
    within STOP_WITHIN seconds, or the test fails."""
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
