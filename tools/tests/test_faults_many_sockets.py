"""A full lecture hall in one room: part3 (async consumer, in-memory layer) holds 250 sockets in
one process, a workshop's worth of laptops with several tabs each, and one message reaches every
one of them. Memory per socket and delivery time are printed, not asserted: performance belongs
in the benchmark (docs/benchmark.md), not in pass/fail.
"""

import asyncio
import json
import time

import psutil
import pytest
from chat_client import connect, say, socket_path

SOCKETS = 250  # each is a file descriptor on both ends: well inside the usual limit of 1,024


@pytest.mark.xdist_group("part3_async-memory")  # the contract tests' server, started once
@pytest.mark.timeout(120)
async def test_part3_holds_a_full_room_and_delivers_to_each(stage_servers):
    server = stage_servers("part3_async", "memory")
    process = psutil.Process(server.proc.pid)
    baseline = process.memory_info().rss

    started = time.monotonic()
    limit = asyncio.Semaphore(50)  # handshakes in flight at once

    async def join():
        async with limit:
            return await connect(server, socket_path("crowd"), open_timeout=60)

    sockets = await asyncio.gather(*(join() for _ in range(SOCKETS)))
    try:
        connect_time = time.monotonic() - started
        per_socket = (process.memory_info().rss - baseline) / SOCKETS

        started = time.monotonic()
        await say(sockets[0], "hello, everyone")
        got = await asyncio.wait_for(asyncio.gather(*(ws.recv() for ws in sockets)), 60)
        delivery_time = time.monotonic() - started

        print(
            f"\npart3 (in-memory layer), {SOCKETS} sockets in one room: connected in "
            f"{connect_time:.1f} s, {per_socket / 1024:.1f} KiB of server memory per socket, "
            f"one message delivered to all in {delivery_time * 1000:.0f} ms"
        )
        assert all(json.loads(frame) == {"message": "hello, everyone"} for frame in got)
        assert server.proc.poll() is None
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets))
