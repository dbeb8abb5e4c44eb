"""A thousand people in one room: part3 (async consumer, in-memory layer) holds 1,000 sockets in
one process and delivers one message to each. Memory per socket and delivery time are printed,
not asserted: performance goes in numbers, not pass/fail.
"""

import asyncio
import json
import resource
import time

import psutil
import pytest
import websockets
from servers import StageServer

SOCKETS = 1000


def raise_open_file_limit(needed):
    """Each socket is a file descriptor on both ends; the server process inherits this limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.fail(f"open-file limit {hard} is below the {needed} this test needs (ulimit -n)")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


@pytest.mark.timeout(300)
async def test_part3_holds_1000_sockets_and_delivers_to_each():
    raise_open_file_limit(2 * SOCKETS + 200)
    server = StageServer("part3_async").start(timeout=60)
    try:
        process = psutil.Process(server.proc.pid)
        url = server.ws_url + "/ws/chat/crowd/"
        baseline = process.memory_info().rss

        started = time.monotonic()
        sockets = []
        limit = asyncio.Semaphore(50)  # handshakes in flight at once

        async def join():
            async with limit:
                sockets.append(await websockets.connect(url, origin=server.origin, open_timeout=60))

        await asyncio.gather(*(join() for _ in range(SOCKETS)))
        connect_time = time.monotonic() - started
        per_socket = (process.memory_info().rss - baseline) / SOCKETS

        started = time.monotonic()
        await sockets[0].send(json.dumps({"message": "hello, everyone"}))
        got = await asyncio.wait_for(asyncio.gather(*(ws.recv() for ws in sockets)), 120)
        delivery_time = time.monotonic() - started

        print(
            f"\npart3 (in-memory layer), {SOCKETS} sockets in one room: connected in "
            f"{connect_time:.1f} s, {per_socket / 1024:.1f} KiB of server memory per socket, "
            f"one message delivered to all in {delivery_time * 1000:.0f} ms"
        )
        assert all(json.loads(frame) == {"message": "hello, everyone"} for frame in got)
        assert server.proc.poll() is None
        await asyncio.gather(*(ws.close() for ws in sockets))
    finally:
        server.stop()
