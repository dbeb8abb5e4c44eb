"""An idle chat keeps working: a room nobody spoke in for a minute still delivers messages.

This is the test that catches redis-py 8's 5 s default socket_timeout: without the settings'
"socket_timeout": 15, the Redis layer's blocking read times out and the socket is closed.
All seven servers idle at the same time, in their own xdist group, beside the other tests.
"""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack

import pytest
import websockets
from servers import StageServer
from stages import GROUP_STAGES

IDLE_SECONDS = 61
START_TIMEOUT = 90  # seven starts at once on a busy 2-core machine
SERVERS = [("part1_echo", "memory")] + [
    (s, layer) for s in GROUP_STAGES for layer in ("memory", "redis")
]


@pytest.fixture(scope="module")
def all_servers(redis_url):
    """Every (stage, layer) server, three starting at a time."""
    servers = {
        (stage, layer): StageServer(stage, redis_url=redis_url if layer == "redis" else None)
        for stage, layer in SERVERS
    }
    with ThreadPoolExecutor(3) as pool:
        starts = [pool.submit(server.start, timeout=START_TIMEOUT) for server in servers.values()]
    try:
        for start in starts:
            start.result()
        yield servers
    finally:
        for server in servers.values():
            server.stop()


async def idle_then_talk(stage, layer, server):
    """Open a sender and a listener, stay silent, then speak. Returns a problem or None."""
    # One room per server: the Redis servers share one Redis, so a shared name would share a room.
    url = f"{server.ws_url}/ws/chat/idle-{stage}-{layer}/"
    # ping_interval=None: like a browser, the client never pings; only the server may.
    async with AsyncExitStack() as stack:
        sender, listener = [
            await stack.enter_async_context(
                websockets.connect(url, origin=server.origin, proxy=None, ping_interval=None)
            )
            for _ in range(2)
        ]
        await asyncio.sleep(IDLE_SECONDS)
        try:
            await sender.send(json.dumps({"message": "still here?"}))
            expected = sender if stage == "part1_echo" else listener
            frame = await asyncio.wait_for(expected.recv(), 10)
        except (websockets.ConnectionClosed, TimeoutError) as error:
            return f"{error!r} (sender close code {sender.close_code})"
        if json.loads(frame) != {"message": "still here?"}:
            return f"unexpected frame {frame!r}"
        return None


@pytest.mark.xdist_group("idle")
@pytest.mark.timeout(IDLE_SECONDS + 2 * START_TIMEOUT + 30)
async def test_idle_sockets_keep_working_on_every_stage_and_layer(all_servers):
    keys = list(all_servers)
    problems = await asyncio.gather(*(idle_then_talk(*k, all_servers[k]) for k in keys))
    failed = {f"{stage}-{layer}": p for (stage, layer), p in zip(keys, problems, strict=True) if p}
    assert not failed, f"after {IDLE_SECONDS} s idle: {failed}"
