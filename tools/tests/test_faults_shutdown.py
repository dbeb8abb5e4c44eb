"""SIGTERM with people chatting: every stage's server closes each socket with 1001 (going away),
so pages know to reconnect, and exits within 5 s, with or without Django's autoreloader.

A sync consumer (part2) once hung here for ever: a worker thread stuck in an async_to_sync call
waited on daphne's stopped event loop, and Python waited for that thread at exit.
"""

import asyncio
import json
import os
import signal
import socket
import time

import pytest
import websockets
from servers import StageServer
from stages import GROUP_STAGES

EXIT_WITHIN = 5  # seconds
SOCKETS = 5

CASES = [
    # The learner's exact command, with the autoreloader; `kill PID` signals its parent process.
    *[
        pytest.param(stage, True, "SIGTERM", id=f"{stage}-reloader")
        for stage in ["part1_echo", "part2_groups", "part3_async", "part4_tests"]
    ],
    # Ctrl-C in a terminal signals the whole process group (the reloader's parent and server).
    pytest.param("part1_echo", True, "Ctrl-C", id="part1_echo-reloader-ctrl-c"),
    # --noreload, where daphne hears the signal itself; part2 is the sync consumer that hung.
    pytest.param("part2_groups", False, "SIGTERM", id="part2_groups-noreload"),
]


def port_is_closed(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.timeout(240)
@pytest.mark.parametrize(("stage", "reload", "how"), CASES)
async def test_stop_closes_sockets_with_1001_and_exits(request, stage, reload, how):
    redis_url = request.getfixturevalue("redis_url") if stage in GROUP_STAGES else None
    server = StageServer(stage, redis_url=redis_url, reload=reload)
    server.start(timeout=120)  # two processes under the reloader; slow on a busy machine
    try:
        url = server.ws_url + "/ws/chat/shutdown/"
        sockets = [await websockets.connect(url, origin=server.origin) for _ in range(SOCKETS)]
        received = [0] * SOCKETS

        async def chat(i, ws):
            try:
                while True:
                    await ws.send(json.dumps({"message": f"{i} talking"}))
                    while True:  # read what has arrived, then talk again
                        try:
                            await asyncio.wait_for(ws.recv(), 0.005)
                            received[i] += 1
                        except TimeoutError:
                            break
            except websockets.ConnectionClosed:
                return ws.close_code

        talkers = [asyncio.create_task(chat(i, ws)) for i, ws in enumerate(sockets)]
        while min(received) < 5:  # messages are flowing on every socket
            await asyncio.sleep(0.05)

        started = time.monotonic()
        if how == "SIGTERM":
            os.kill(server.proc.pid, signal.SIGTERM)  # the parent only, as `kill PID` would
        else:
            os.killpg(server.proc.pid, signal.SIGINT)
        while server.proc.poll() is None and time.monotonic() - started < 30:
            await asyncio.sleep(0.02)
        took = time.monotonic() - started
        codes = await asyncio.wait_for(asyncio.gather(*talkers), 10)
        print(
            f"\n{stage} {'reloader' if reload else '--noreload'}: exited {took:.2f} s after "
            f"{how}, close codes {sorted(set(codes))}"
        )

        assert server.proc.returncode == 0, server.log()
        assert took < EXIT_WITHIN, server.log()
        assert codes == [1001] * SOCKETS
        # No server process is left behind holding the port (the reloader's child included).
        assert port_is_closed(server.port)
    finally:
        server.stop(signal.SIGKILL)
