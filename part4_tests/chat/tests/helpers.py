"""Helpers the tests share: skip (or fail in CI) when a tool is missing; a redis-server."""

import os
import shutil
import socket
import subprocess
import time

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"

HOW_TO_GET = {
    "redis": "install redis-server (apt-get install redis-server, brew install redis) "
    "or set REDIS_URL",
    "browser": "install Chromium and chromedriver (apt-get install chromium chromium-driver)",
}


def missing(what):
    """Skip on a laptop, fail in CI (CI=true), always saying how to get the missing piece."""
    message = f"needs {what}: {HOW_TO_GET[what]}"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis_server():
    """Start a throwaway redis-server on a free port; return (process, url)."""
    binary = shutil.which("redis-server")
    if binary is None:
        missing("redis")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"redis-server did not answer on port {port}")
