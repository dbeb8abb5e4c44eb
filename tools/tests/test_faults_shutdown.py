"""Stopping a server while people chat: every stage, started as learners start it (stock daphne
`runserver`, with Django's autoreloader), exits within 5 s of Ctrl-C or SIGTERM and leaves no
process holding its port.

Ctrl-C is SIGINT to the whole process group, as a terminal sends it; SIGTERM goes to the server's
own pid, as `kill PID` sends it (compose's stop is in test_compose.py). Under the autoreloader the
parent kills its server child, so a sync consumer's worker thread still waiting in `async_to_sync`
on daphne's stopped loop never holds the exit up. `--noreload` is not on the learner's path: there
parts 1 and 2 can hang on that thread at exit (docs/troubleshooting says so), and the harness's
StageServer.stop() escalates to SIGKILL.
"""

import asyncio
import os
import signal
import time

import pytest
from chat_client import connect, keep_talking, socket_path
from servers import StageServer, listens
from stages import GROUP_STAGES, STAGES

pytestmark = pytest.mark.slow  # see pyproject: `uv run pytest -m slow`

EXIT_WITHIN = 5  # seconds
SOCKETS = 5


def case(stage, how):
    marks = [pytest.mark.redis] if stage in GROUP_STAGES else []  # parts 2-4 run on Redis here
    return pytest.param(stage, how, id=f"{stage}-reloader-{how}", marks=marks)


# Each stage, stopped the ways its user stops it: Ctrl-C in the terminal, or `kill PID`.
CASES = [case(stage, how) for how in ("Ctrl-C", "SIGTERM") for stage in STAGES]


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("stage", "how"), CASES)
async def test_server_exits_promptly_with_clients_chatting(request, stage, how):
    redis_url = request.getfixturevalue("redis_url") if stage in GROUP_STAGES else None
    server = StageServer(stage, redis_url=redis_url, reload=True)
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
            f"\n{stage} reloader: {how} -> exit code "
            f"{server.proc.returncode} after {took:.2f} s; close codes {sorted(set(codes))}"
        )

        assert server.proc.returncode is not None, f"still running {took:.0f} s after {how}"
        assert took < EXIT_WITHIN
        assert server.proc.returncode in (0, -signal.SIGINT, 128 + signal.SIGINT), (
            f"exit code {server.proc.returncode}:\n{server.log()[-3000:]}"
        )
        assert all(code is not None for code in codes)  # every client saw its socket close
        # No server process is left behind holding the port (the reloader's child included).
        assert not listens(server.port)
    finally:
        server.stop(signal.SIGKILL)
