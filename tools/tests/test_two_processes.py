"""Why Redis: two server processes share rooms only through a shared channel layer.

A second part3 process (stage_servers' instance 2) joins the one the contract tests already run
(same xdist group, so the first is reused): on Redis a message crosses between them; in memory
it cannot.
"""

import pytest
from chat_client import connect, recv_json, say, socket_path

STAGE = "part3_async"
ROOM = socket_path("shared")


@pytest.mark.xdist_group(f"{STAGE}-redis")
@pytest.mark.redis
async def test_redis_layer_carries_messages_between_processes(stage_servers):
    one, two = stage_servers(STAGE, "redis"), stage_servers(STAGE, "redis", instance=2)
    async with connect(one, ROOM) as alice, connect(two, ROOM) as bob:
        await say(alice, "from process one")
        assert await recv_json(bob) == {"message": "from process one"}
        assert await recv_json(alice) == {"message": "from process one"}
        await say(bob, "from process two")
        assert await recv_json(alice) == {"message": "from process two"}


@pytest.mark.xdist_group(f"{STAGE}-memory")
async def test_memory_layer_stays_inside_one_process(stage_servers):
    one, two = stage_servers(STAGE, "memory"), stage_servers(STAGE, "memory", instance=2)
    async with connect(one, ROOM) as alice, connect(two, ROOM) as bob:
        await say(alice, "from process one")
        assert await recv_json(alice) == {"message": "from process one"}
        # Bob's first frame is his own message: Alice's never reached his process.
        await say(bob, "from process two")
        assert await recv_json(bob) == {"message": "from process two"}
