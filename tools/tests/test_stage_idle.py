"""An idle chat keeps working on Redis: a room nobody spoke in for a while still delivers.

redis-py 8 gives every read a 5 s `socket_timeout` by default, and channels-redis waits for a
consumer's messages with a blocking pop (BZPOPMIN) of 5 s, so the read times out first: the
consumer raises `redis.exceptions.TimeoutError` and its socket closes, about 5-6 s after it went
quiet, one idle socket after another (upstream: https://github.com/django/channels_redis/issues/422).
Parts 2-4 set `"socket_timeout": 15` on the Redis layer for this.

The idle here is as short as shows the failure, with room for a busy machine. It proves itself:
a copy of part3 with `socket_timeout` taken out of its settings idles beside the stages and must
lose its socket, or the idle would be too short to catch anything.
"""

import asyncio
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from chat_client import connect, recv_json, say, socket_path
from servers import StageServer
from stages import GROUP_STAGES, copy_stage

IDLE_SECONDS = 10  # the first idle socket dies at 5-6 s without the deviation
START_TIMEOUT = 60
WITHOUT_DEVIATION = "part3_async"


def copy_without_socket_timeout(stage):
    """A copy of the stage whose Redis layer uses redis-py's default read timeout."""
    workdir = Path(tempfile.mkdtemp(prefix=f"{stage}-no-timeout-")) / stage
    copy_stage(stage, workdir)
    settings = workdir / "mysite" / "settings.py"
    text = settings.read_text()
    patched, count = re.subn(r""",\s*["']socket_timeout["']\s*:\s*\d+""", "", text)
    assert count == 1, f"{stage}'s settings no longer set socket_timeout in one place"
    settings.write_text(patched)
    return workdir


async def idle_then_talk(server, room):
    """Open a sender and a listener, stay silent, then speak. Returns a problem or None."""
    # ping_interval=None: like a browser, the client never pings; only the server may.
    async with AsyncExitStack() as stack:
        sender, listener = [
            await stack.enter_async_context(connect(server, socket_path(room), ping_interval=None))
            for _ in range(2)
        ]
        await asyncio.sleep(IDLE_SECONDS)
        try:
            await say(sender, "still here?")
            frame = await recv_json(listener)
        except Exception as error:  # a closed socket or a silent one: both are the failure
            codes = f"sender {sender.close_code}, listener {listener.close_code}"
            return f"{error!r} (close codes: {codes})"
        if frame != {"message": "still here?"}:
            return f"unexpected frame {frame!r}"
        return None


@pytest.fixture(scope="module")
def idle_results(redis_url):
    """Every Redis stage and the copy without the deviation, idle together once."""
    servers = {stage: StageServer(stage, redis_url=redis_url) for stage in GROUP_STAGES}
    broken = copy_without_socket_timeout(WITHOUT_DEVIATION)
    servers["without socket_timeout"] = StageServer(
        WITHOUT_DEVIATION, redis_url=redis_url, workdir=broken
    )
    try:
        with ThreadPoolExecutor(2) as pool:
            for start in [pool.submit(s.start, timeout=START_TIMEOUT) for s in servers.values()]:
                start.result()

        async def idle_all():
            # One room per server: they share one Redis, so a shared name would share a room.
            return await asyncio.gather(
                *(idle_then_talk(s, f"idle {name}") for name, s in servers.items())
            )

        problems = asyncio.run(idle_all())
        yield {name: (p, s.log()) for (name, s), p in zip(servers.items(), problems, strict=True)}
    finally:
        with ThreadPoolExecutor(len(servers)) as pool:
            list(pool.map(lambda s: s.stop(), servers.values()))
        shutil.rmtree(broken.parent, ignore_errors=True)


@pytest.mark.xdist_group("idle")
@pytest.mark.timeout(IDLE_SECONDS + 2 * START_TIMEOUT + 30)
def test_idle_sockets_keep_working_on_every_redis_stage(idle_results):
    failed = {
        stage: problem
        for stage, (problem, _) in idle_results.items()
        if stage in GROUP_STAGES and problem
    }
    assert not failed, f"after {IDLE_SECONDS} s idle: {failed}"


@pytest.mark.xdist_group("idle")
def test_without_socket_timeout_the_idle_socket_dies(idle_results):
    problem, log = idle_results["without socket_timeout"]
    assert problem, f"{WITHOUT_DEVIATION} without socket_timeout survived {IDLE_SECONDS} s idle"
    assert "Timeout reading from" in log, log[-3000:]
