"""A forked process inherits asgiref's thread-sensitive executor without its thread, so its first
sync_to_async(thread_sensitive=True) call waits forever (see REPORT.md beside this file).

    uv run python tools/upstream/forked-live-server-pool/repro.py

Runs each case in a fresh forked child and says whether the child's call answered within 5 s:
  1-3. asgiref alone: sync_to_async in a forked child, after the parent has (or has not) used
       sync_to_async, and with the proposed fix (reset the executor after fork);
  4-6. channels' live server: daphne's DaphneProcess (what ChannelsLiveServerTestCase starts)
       serving a consumer that runs one query through database_sync_to_async, after the parent
       has (or has not) used database_sync_to_async, as an async test before it would, and with
       the same fix.
Needs the fork start method (Linux, macOS with it chosen); nothing is left behind.
"""

import asyncio
import multiprocessing
import os
import signal
import sys
import tempfile
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version

import django
from asgiref.sync import SyncToAsync, sync_to_async
from django.conf import settings

ANSWER_TIMEOUT = 5  # seconds; an answer takes milliseconds
FORK = multiprocessing.get_context("fork") if hasattr(os, "fork") else None


def reset_executor_after_fork():
    """The proposed fix: a forked child gets a thread-sensitive executor of its own."""
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)


def warm_up():
    """What an async test does before the live server starts: one thread-sensitive call, which
    starts the executor's thread in this process."""
    from channels.db import database_sync_to_async

    asyncio.run(database_sync_to_async(lambda: None)())


# --- asgiref alone -----------------------------------------------------------------------------


def child_call(results):
    async def call():
        return await sync_to_async(lambda: "answered")()

    try:
        results.put(asyncio.run(asyncio.wait_for(call(), ANSWER_TIMEOUT)))
    except TimeoutError:
        results.put(f"no answer within {ANSWER_TIMEOUT} s")


def asgiref_case():
    results = FORK.Queue()
    child = FORK.Process(target=child_call, args=(results,))
    child.start()
    try:
        return results.get(timeout=ANSWER_TIMEOUT + 10)
    finally:
        child.join(5)
        if child.is_alive():
            child.kill()
            child.join()


# --- channels' live server ---------------------------------------------------------------------


def make_application():
    from channels.db import database_sync_to_async
    from channels.generic.http import AsyncHttpConsumer
    from channels.routing import ProtocolTypeRouter
    from django.db import connection

    def one_query():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()[0]

    class OneQuery(AsyncHttpConsumer):
        async def handle(self, body):
            value = await database_sync_to_async(one_query)()
            await self.send_response(200, f"query answered {value}".encode())

    return ProtocolTypeRouter({"http": OneQuery.as_asgi()})


def live_server_case():
    from daphne.testing import DaphneProcess

    server = DaphneProcess("127.0.0.1", make_application)
    server.start()
    try:
        if not server.ready.wait(timeout=20):
            return "the live server did not start"
        url = f"http://127.0.0.1:{server.port.value}/"
        try:
            with urllib.request.urlopen(url, timeout=ANSWER_TIMEOUT) as response:
                return response.read().decode()
        except TimeoutError:
            return f"no answer within {ANSWER_TIMEOUT} s"
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):
                return f"no answer within {ANSWER_TIMEOUT} s"
            return f"the request failed: {error.reason!r}"
    finally:
        server.terminate()
        server.join(10)


def main():
    if FORK is None:
        sys.exit("this platform has no fork start method: the bug cannot happen here")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on a kill too
    print(
        f"Python {sys.version.split()[0]}, asgiref {version('asgiref')}, channels "
        f"{version('channels')}, daphne {version('daphne')}, Django {version('django')}; "
        f"default start method: {multiprocessing.get_start_method()}"
    )
    with tempfile.TemporaryDirectory(prefix="forked-live-server-pool-") as scratch:
        settings.configure(
            DATABASES={
                "default": {
                    "ENGINE": "django.db.backends.sqlite3",
                    "NAME": os.path.join(scratch, "db.sqlite3"),
                }
            },
            ALLOWED_HOSTS=["127.0.0.1"],
        )
        django.setup()
        # Each case runs in a fresh child of this process: the parent's state is what matters.
        cases = [
            ("1 asgiref: parent has not used sync_to_async", "none", asgiref_case),
            ("2 asgiref: parent has used sync_to_async", "warm", asgiref_case),
            ("3 asgiref: same, with the fix", "fixed", asgiref_case),
            ("4 live server: parent has not used database_sync_to_async", "none", live_server_case),
            ("5 live server: parent has used database_sync_to_async", "warm", live_server_case),
            ("6 live server: same, with the fix", "fixed", live_server_case),
        ]
        for title, state, case in cases:
            results = FORK.Queue()
            runner = FORK.Process(target=run_case, args=(state, case, results))
            runner.start()
            print(f"{title}: {results.get(timeout=60)}", flush=True)
            runner.join(10)


def run_case(state, case, results):
    """A fresh copy of the untouched parent, in the state the case needs, then the case."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if state == "fixed":
        os.register_at_fork(after_in_child=reset_executor_after_fork)
    if state in ("warm", "fixed"):
        warm_up()
    results.put(case())


if __name__ == "__main__":
    main()
