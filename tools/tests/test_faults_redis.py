"""Redis stops and comes back: the server survives, sockets close with 4013 ("try again later"),
never a crash (1011), and the chat works again within seconds of Redis returning.

"Acknowledged" here: a message is acknowledged when its sender sees it come back from the room.
Every send ends in that acknowledgement or in a 4013 close, never in silence, and every message
acknowledged before the outage reached the other person in the room.
"""

import asyncio
import json
import time

import pytest
import websockets
from servers import RedisServer, StageServer

RECOVER_WITHIN = 20  # seconds; generous, the measured time is printed


async def ack(ws, text):
    """Send text and wait until it comes back (skipping other people's messages)."""
    await ws.send(json.dumps({"message": text}))
    while json.loads(await ws.recv()).get("message") != text:
        pass


@pytest.mark.timeout(180)
@pytest.mark.parametrize("stage", ["part2_groups", "part3_async"])
async def test_redis_outage_closes_with_4013_and_chat_recovers(stage):
    redis = RedisServer().start()
    server = StageServer(stage, redis_url=redis.url).start(timeout=60)
    try:
        url = server.ws_url + "/ws/chat/outage/"
        alice = await websockets.connect(url, origin=server.origin)
        bob = await websockets.connect(url, origin=server.origin)
        for n in range(3):
            await ack(alice, f"before {n}")
        bob_got = [json.loads(await bob.recv())["message"] for _ in range(3)]
        assert bob_got == ["before 0", "before 1", "before 2"]

        # Alice keeps talking while Redis goes away.
        sent, acked = [], []

        async def talk():
            try:
                for n in range(10_000):
                    sent.append(f"during {n}")
                    await ack(alice, sent[-1])
                    acked.append(sent[-1])
            except websockets.ConnectionClosed:
                pass

        talker = asyncio.create_task(talk())
        while len(acked) < 3:
            await asyncio.sleep(0.01)
        redis.stop()
        await asyncio.wait_for(talker, 15)
        with pytest.raises(websockets.ConnectionClosed):
            while True:  # Bob's socket closes too, though he sent nothing
                await asyncio.wait_for(bob.recv(), 15)

        # No silent drop: the one send that never came back ended in a 4013 close.
        assert sent[: len(acked)] == acked and len(sent) == len(acked) + 1
        assert (alice.close_code, bob.close_code) == (4013, 4013)
        # During the outage a new socket is refused (the page keeps retrying).
        with pytest.raises((websockets.InvalidStatus, websockets.InvalidMessage, TimeoutError)):
            await websockets.connect(url, origin=server.origin, open_timeout=8)
        assert server.proc.poll() is None, "the server died with Redis"

        redis = RedisServer(port=redis.port).start()
        back = time.monotonic()
        while True:
            try:
                alice = await websockets.connect(url, origin=server.origin, open_timeout=10)
                bob = await websockets.connect(url, origin=server.origin, open_timeout=10)
                await asyncio.wait_for(ack(alice, "after"), 10)
                assert json.loads(await asyncio.wait_for(bob.recv(), 10)) == {"message": "after"}
                break
            except (OSError, websockets.WebSocketException, TimeoutError):
                assert time.monotonic() - back < RECOVER_WITHIN, server.log()
                await asyncio.sleep(0.2)
        recovered = time.monotonic() - back
        print(
            f"\n{stage}: {len(acked)} messages acknowledged during the outage's start, "
            f"chat working again {recovered:.2f} s after Redis returned"
        )
        await alice.close()
        await bob.close()

        log = server.log()
        assert "Redis is unavailable" in log
        assert "Exception inside application" not in log  # no crash, no 1011
    finally:
        server.stop()
        redis.stop()
