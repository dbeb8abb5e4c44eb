import asyncio
import os
import signal
import subprocess
import sys
import threading

from daphne.management.commands.runserver import Command as DaphneRunserverCommand
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from django.core.management import call_command
from django.utils import autoreload
from twisted.internet import defer, reactor


class GoingAwayServer(Server):
    def kill_all_applications(self):
        # Daphne only cancels the consumers and waits for them; first close each socket
        # properly, and wait for it all 2 s at most, so the server always stops.
        closed = defer.Deferred.fromFuture(asyncio.ensure_future(self.close_sockets()))
        closed.addCallback(lambda _: Server.kill_all_applications(self))
        return closed.addTimeout(2, reactor).addErrback(lambda _: None)

    async def close_sockets(self):
        """Tell each browser the server is going away (close code 1001, so the page reconnects)
        and give it up to 1 s to answer, so the closing handshake completes before we exit."""
        sockets = [p for p in self.connections if isinstance(p, WebSocketProtocol)]
        for protocol in sockets:
            if protocol.state == protocol.STATE_OPEN:
                protocol.sendCloseFrame(code=1001)
        for _ in range(20):
            if all(protocol.state == protocol.STATE_CLOSED for protocol in sockets):
                return
            await asyncio.sleep(0.05)


def leave(code):
    # A sync consumer's thread can still be waiting on daphne's stopped event loop (an
    # async_to_sync call in flight); Python would wait for that thread forever at exit.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 0)


def serve_with_reloader():
    """Django's autoreloader parent, except that SIGTERM is passed on to the server (Django's
    parent kills it outright) and Ctrl-C, which the server hears too, waits for it to finish."""
    env = {**os.environ, autoreload.DJANGO_AUTORELOAD_ENV: "true"}
    while True:
        server = subprocess.Popen(autoreload.get_child_arguments(), env=env, close_fds=False)
        signal.signal(signal.SIGTERM, lambda *_, server=server: server.terminate())
        signal.signal(signal.SIGINT, lambda *_: None)
        if server.wait() != 3:  # 3: a file changed, so start a fresh server
            return server.returncode


class Command(DaphneRunserverCommand):
    """Daphne's runserver that first applies migrations, so a fresh clone needs no other step,
    and stops cleanly on Ctrl-C or SIGTERM: sockets closed with 1001, exit within seconds."""

    server_cls = GoingAwayServer

    def check_migrations(self):
        call_command("migrate", interactive=False, verbosity=0)

    def run(self, **options):
        if not options["use_reloader"]:
            super().run(**options)  # daphne stops itself on SIGTERM or Ctrl-C
            leave(0)
        if os.environ.get(autoreload.DJANGO_AUTORELOAD_ENV) != "true":
            sys.exit(serve_with_reloader())
        # The reloader's server process: daphne runs in a thread and hears no signals, and
        # Django turns SIGTERM (or a changed file) into SystemExit here, so stop daphne ourselves.
        code = 0
        try:
            super().run(**options)
        except SystemExit as stop:
            code = stop.code
        reactor.callFromThread(reactor.stop)
        for thread in threading.enumerate():
            if thread.name == "django-main-thread":
                thread.join(5)
        leave(code)
