"""Real processes for tests and tools: a redis-server, and a stage served by its own run command."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
from chat_client import http_get
from stages import copy_stage

# A process group of its own, so stopping a server stops its autoreloader child too.
OWN_GROUP = (
    {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    if os.name == "nt"
    else {"start_new_session": True}
)


def signal_group(proc, sig=signal.SIGTERM):
    """Signal the process group of proc (started with OWN_GROUP) without waiting: a server and
    its autoreloader child alike; Ctrl+Break on Windows."""
    if proc and proc.poll() is None:
        try:
            if os.name == "nt":
                proc.send_signal(signal.CTRL_BREAK_EVENT)
            else:
                os.killpg(proc.pid, sig)
        except OSError:
            pass


def end_group(proc, sig=signal.SIGTERM, timeout=5):
    """signal_group() and wait; kill what is left after `timeout` (on Windows, the process
    tree), e.g. a server child its parent left behind."""
    signal_group(proc, sig)
    if proc and proc.poll() is None:
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    if proc:
        if os.name == "nt":
            subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True)
        else:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        proc.wait()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listens(port, timeout=0.5):
    """Does something accept connections on the loopback port?"""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def redis_answers(url, timeout=2):
    """Does a Redis answer PING at this URL (password and TLS as the URL says)?"""
    try:
        with redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout) as r:
            return r.ping()
    except (redis.RedisError, OSError, ValueError):
        return False


def wait_until(check, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


class RedisDidNotStart(RuntimeError):
    """Our redis-server exited or never answered; the message says which, with its last words."""


class RedisServer:
    """A throwaway redis-server on a free loopback port, with no persistence."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None
        self.output = None

    def start(self, timeout=10):
        """Start it and wait until it answers; RedisDidNotStart (and nothing left running) when
        it exits first or does not answer within timeout seconds."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server")
        self.output = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdin=subprocess.DEVNULL,
            stdout=self.output,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while not redis_answers(self.url, timeout=0.5):
            if self.proc.poll() is not None:
                problem = f"exited with code {self.proc.returncode}"
            elif time.monotonic() > deadline:
                problem = f"did not answer on port {self.port} within {timeout}s"
            else:
                time.sleep(0.05)
                continue
            said = self.last_words()
            self.stop()
            raise RedisDidNotStart(f"{binary} {problem}" + (f": {said}" if said else ""))
        return self

    def last_words(self, lines=2):
        """The end of what it printed, on one line."""
        self.output.seek(0)
        text = self.output.read().decode(errors="replace")
        return " / ".join([line.strip() for line in text.splitlines() if line.strip()][-lines:])

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.output:
            self.output.close()
            self.output = None


class StageServer:
    """A stage served the way a learner serves it: `python manage.py runserver` on a real port.

    The stage folder is copied to a temporary directory first (unless workdir names a folder to
    serve in place), so the run proves the stage stands alone and the learner's own db.sqlite3 is
    never touched. The server's output goes to a log file in log_dir (default: beside workdir).
    """

    def __init__(
        self,
        stage,
        redis_url=None,
        port=None,
        workdir=None,
        extra_env=None,
        reload=False,
        log_dir=None,
        name=None,
        migrate=True,
    ):
        self.stage = stage
        self.migrate = migrate  # False: another server of the same workdir has just migrated it
        self.name = name or stage  # names the log file
        self.reload = reload  # True: with Django's autoreloader, exactly as a learner starts it
        self.redis_url = redis_url
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.origin = self.base_url
        self._tmp = None
        self.workdir = Path(workdir) if workdir else None
        self.log_dir = Path(log_dir) if log_dir else None
        self.extra_env = extra_env or {}
        self.proc = None
        self.log_path = None
        self._log = None

    def command(self):
        """The server's command line, run in the stage folder: the learner's run command."""
        reload = [] if self.reload else ["--noreload"]
        return [sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.port}", *reload]

    def migrate_command(self):
        """Run in the stage folder before command(), or None: migrate for a project with a model,
        as its notes have the learner run it before runserver."""
        if self.migrate and (self.workdir / "chat" / "migrations").is_dir():
            return [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity=0"]
        return None

    def start(self, timeout=30):
        """launch(), then wait_ready()."""
        return self.launch().wait_ready(timeout)

    def wait_ready(self, timeout=30):
        """Wait until it serves; on failure stop it and raise with its log."""
        try:
            wait_until(self.serves, timeout, f"{self.name} on port {self.port}")
        except TimeoutError:
            self.did_not_start(timeout)
        return self

    def launch(self):
        if self.workdir is None:
            self._tmp = tempfile.mkdtemp(prefix=f"{self.stage}-")
            self.workdir = Path(self._tmp) / self.stage
            copy_stage(self.stage, self.workdir)
        env = {
            k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")
        }
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self.extra_env)
        self.log_path = (self.log_dir or self.workdir.parent) / f"{self.name}-{self.port}.log"
        self._log = open(self.log_path, "ab")  # a restart in the same workdir appends
        migrate = self.migrate_command()
        if migrate:
            # A failure shows in the log, and in what the server then does.
            subprocess.run(migrate, cwd=self.workdir, env=env, stdout=self._log, stderr=self._log)
        self.proc = subprocess.Popen(
            self.command(),
            cwd=self.workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            **OWN_GROUP,
        )
        return self

    def serves(self):
        """True once /chat/ answers 200; exited() if the process has ended."""
        if self.proc.poll() is not None:
            self.exited()
        try:
            return http_get(self, "/chat/", timeout=1)[0] == 200
        except OSError:
            return False

    def exited(self):
        """The server process ended before it served."""
        raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")

    def did_not_start(self, timeout):
        """It did not serve within timeout seconds (it is still running)."""
        log = self.log()  # read before stop() removes the temporary directory
        self.stop()
        raise TimeoutError(f"{self.name} did not start; its log:\n{log}") from None

    def log(self):
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except (AttributeError, OSError):  # not started, or its folder is gone
            return ""

    def ask_to_stop(self, sig=signal.SIGTERM):
        """Signal the server's whole process group (the autoreloader's parent and its server
        child, or the one --noreload process) without waiting."""
        signal_group(self.proc, sig)

    def halt(self, sig=signal.SIGTERM, timeout=5):
        """Stop the process group (end_group). The workdir stays, so `start()` can serve it
        again on the same port."""
        end_group(self.proc, sig, timeout)
        if self._log:
            self._log.close()
            self._log = None

    def stop(self, sig=signal.SIGTERM, timeout=5):
        """halt(), then remove the temporary copy of the stage."""
        self.halt(sig, timeout)
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
