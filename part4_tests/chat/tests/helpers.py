# chat/tests/helpers.py
"""What the tests share: a missing tool skips (or fails, in CI), a redis-server, a browser."""

import os
import shutil
import socket
import subprocess
import sys
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import SyncToAsync
from daphne.testing import DaphneProcess

TIMEOUT = 3  # seconds to wait for a frame that should come


def missing(what, how):
    """Skip on a laptop, saying how to get the missing tool; in CI (CI=true) it is an error.
    unittest.SkipTest, so that pytest and `manage.py test` both understand it."""
    message = f"needs {what}: {how}"
    if os.environ.get("CI", "").lower() == "true":
        raise RuntimeError(message)
    raise unittest.SkipTest(message)


class RedisServer:
    """A throwaway redis-server on a free local port, which a test may stop and start again."""

    def __init__(self):
        if shutil.which("redis-server") is None:
            missing("redis-server", "sudo apt-get install redis-server (macOS: brew install redis)")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(7) == b"+PONG\r\n":
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class LiveServerProcess(DaphneProcess):
    """The browser tests' live server. On Linux it is a fork of the test process: it inherits the
    thread pool of database_sync_to_async but not the pool's thread, so once an async test has used
    the pool, the server's first query would wait forever (see django/asgiref#194). It starts with
    a pool of its own instead."""

    def run(self):
        SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
        super().run()


# Chromium, Google Chrome and Microsoft Edge take the same options; the first one found is used.
# Each: its Selenium name, its driver, and where it may be installed (Linux, macOS, Windows).
WINDOWS = [os.environ.get(v, "-") for v in ("PROGRAMFILES", "PROGRAMFILES(X86)", "LOCALAPPDATA")]
BROWSERS = [
    ("Chrome", "chromedriver", [
        "chromium", "chromium-browser", "google-chrome", "google-chrome-stable",
        "/Applications/Chromium.app/Contents/MacOS/Chromium",
        "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
        *[f"{folder}/{app}/Application/chrome.exe"
          for folder in WINDOWS for app in ("Chromium", "Google/Chrome")],
    ]),
    ("Edge", "msedgedriver", [
        "microsoft-edge", "microsoft-edge-stable",
        "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
        *[f"{folder}/Microsoft/Edge/Application/msedge.exe" for folder in WINDOWS],
    ]),
]
HOW_TO_GET_A_BROWSER = {
    "linux": "sudo apt-get install chromium chromium-driver (or install Google Chrome)",
    "darwin": "install Google Chrome (Homebrew's chromium cask is disabled)",
    "win32": "install Google Chrome (or use Microsoft Edge)",
}
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def find_browser():
    """(Selenium name, driver name, browser path) of the first browser found."""
    for name, driver, places in BROWSERS:
        for place in places:
            if path := shutil.which(place):
                return name, driver, path
    missing("a browser", HOW_TO_GET_A_BROWSER.get(sys.platform, HOW_TO_GET_A_BROWSER["linux"]))


def start_browser():
    """Selenium driving a headless Chromium, Chrome or Edge that keeps its console log. The driver
    is the chromedriver (msedgedriver) on PATH if there is one, else Selenium Manager finds one."""
    from selenium import webdriver

    name, driver, path = find_browser()
    options = getattr(webdriver, f"{name}Options")()
    options.binary_location = path
    for flag in FLAGS:
        options.add_argument(flag)
    vendor = "ms" if name == "Edge" else "goog"
    options.set_capability(f"{vendor}:loggingPrefs", {"browser": "ALL"})
    service = getattr(webdriver, f"{name}Service")(executable_path=shutil.which(driver))
    return getattr(webdriver, name)(options=options, service=service)
