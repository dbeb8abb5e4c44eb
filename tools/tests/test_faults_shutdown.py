"""Stopping a server while people chat: every stage exits within 5 s of Ctrl-C or SIGTERM, with
and without Django's autoreloader, and leaves no process holding its port.

Ctrl-C is SIGINT to the whole process group, as a terminal sends it; SIGTERM goes to the server's
own pid, as `kill PID` sends it. The servers are stock daphne `runserver`.

A sync consumer (parts 1 and 2) can keep a worker thread waiting in `async_to_sync` on daphne's
stopped event loop; at exit Python waits for that thread, so a --noreload server can hang there
(or crash while finalising). Under the autoreloader, the learner's own command, the parent kills
the server child and the question never arises.
"""

import asyncio
import os
import signal
import time

import pytest
from chat_client import connect, keep_talking, socket_path
from servers import StageServer, port_is_closed
from stages import GROUP_STAGES, STAGES

EXIT_WITHIN = 5  # seconds
SOCKETS = 5


def case(stage, reload, how):
    mode = "reloader" if reload else "noreload"
    return pytest.param(stage, reload, how, id=f"{stage}-{mode}-{how}")


# Each stage in each mode, stopped the way its user stops it: the learner's terminal runs the
# autoreloader and sends Ctrl-C; a supervisor or the test harness runs --noreload and sends
# SIGTERM. SIGTERM under the autoreloader is `docker compose stop` (test_compose.py, every stage);
# SIGINT under --noreload takes daphne's SIGTERM path (Twisted stops its reactor on either).
CASES = [
    case(stage, reload, how)
    for reload, how in ((True, "Ctrl-C"), (False, "SIGTERM"))
    for stage in STAGES
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("stage", "reload", "how"), CASES)
async def test_server_exits_promptly_with_clients_chatting(request, stage, reload, how):
    redis_url = request.getfixturevalue("redis_url") if stage in GROUP_STAGES else None
    server = StageServer(stage, redis_url=redis_url, reload=reload)
    server.start(timeout=90)  # two processes under the reloader; slow on a busy machine
    try:
        sockets = [await connect(server, socket_path("shutdown")) for _ in range(SOCKETS)]
        received = dict.fromkeys(sockets, 0)
        talkers = [asyncio.create_task(keep_talking(ws, received)) for ws in sockets]
        while min(received.values()) < 5:  # messages are flowing on every socket
            await asyncio.sleep(0.02)

        started = time.monotonic()
        if how == "SIGTERM":
            os.kill(server.proc.pid, signal.SIGTERM)
        else:
            os.killpg(server.proc.pid, signal.SIGINT)
        while server.proc.poll() is None and time.monotonic() - started < EXIT_WITHIN + 1:
            await asyncio.sleep(0.02)
        took = time.monotonic() - started
        codes = await asyncio.wait_for(asyncio.gather(*talkers), 10)
        print(
            f"\n{stage} {'reloader' if reload else '--noreload'}: {how} -> exit code "
            f"{server.proc.returncode} after {took:.2f} s; close codes {sorted(set(codes))}"
        )

        assert server.proc.returncode is not None, f"still running {took:.0f} s after {how}"
        assert took < EXIT_WITHIN
        assert server.proc.returncode in (0, -signal.SIGINT, 128 + signal.SIGINT), (
            f"exit code {server.proc.returncode}:\n{server.log()[-3000:]}"
        )
        assert all(code is not None for code in codes)  # every client saw its socket close
        # No server process is left behind holding the port (the reloader's child included).
        assert port_is_closed(server.port)
    finally:
        server.stop(signal.SIGKILL)
