"""Why Redis: two server processes share rooms only through a shared channel layer.

A second part3 process joins the one the contract tests already run (same xdist group, so the
first is reused): on Redis a message crosses between them; in memory it cannot.
"""

import asyncio
import json

import pytest
import websockets
from servers import StageServer

STAGE = "part3_async"


@pytest.fixture(scope="module")
def second_server(request):
    """A second part3 process per layer, started on first use."""
    started = {}

    def get(layer):
        if layer not in started:
            url = request.getfixturevalue("redis_url") if layer == "redis" else None
            started[layer] = StageServer(STAGE, redis_url=url).start()
        return started[layer]

    yield get
    for server in started.values():
        server.stop()


def connect(server, room):
    return websockets.connect(f"{server.ws_url}/ws/chat/{room}/", origin=server.origin, proxy=None)


async def say(ws, text):
    await ws.send(json.dumps({"message": text}))


async def recv_json(ws):
    return json.loads(await asyncio.wait_for(ws.recv(), 10))


@pytest.mark.xdist_group(f"{STAGE}-redis")
async def test_redis_layer_carries_messages_between_processes(stage_servers, second_server):
    one, two = stage_servers(STAGE, "redis"), second_server("redis")
    async with connect(one, "shared") as alice, connect(two, "shared") as bob:
        await say(alice, "from process one")
        assert await recv_json(bob) == {"message": "from process one"}
        assert await recv_json(alice) == {"message": "from process one"}
        await say(bob, "from process two")
        assert await recv_json(alice) == {"message": "from process two"}


@pytest.mark.xdist_group(f"{STAGE}-memory")
async def test_memory_layer_stays_inside_one_process(stage_servers, second_server):
    one, two = stage_servers(STAGE, "memory"), second_server("memory")
    async with connect(one, "shared") as alice, connect(two, "shared") as bob:
        await say(alice, "from process one")
        assert await recv_json(alice) == {"message": "from process one"}
        # Bob's first frame is his own message: Alice's never reached his process.
        await say(bob, "from process two")
        assert await recv_json(bob) == {"message": "from process two"}
