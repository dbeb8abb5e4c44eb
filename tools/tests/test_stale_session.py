"""A browser carrying a `sessionid` cookie for the host (left by another Django project on
127.0.0.1:8000, such as the polls tutorial's admin) on a stage whose tables were never created:
what the notes say happens, happens, and `migrate` fixes it.

`AuthMiddlewareStack` looks the session up as the socket connects. Without a session cookie there
is nothing to look up and the chat works unmigrated (the other browser tests show that); with one,
the lookup needs the `django_session` table.
"""

import subprocess
import sys

import pytest
from chat_client import wait_for_page_socket
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait
from servers import StageServer
from stages import ROOT

STALE = {"name": "sessionid", "value": "2b1x6yzq8v0kq3m7n4c5d9e0f1g2h3j4", "path": "/"}
DISCONNECTED = "[disconnected: reload the page]"
SERVER_ERROR = "no such table: django_session"
CONSOLE_ERROR = "Unexpected response code: 500"


@pytest.fixture
def unmigrated(stage):
    """The stage served from a fresh copy: no db.sqlite3 tables, as after a clone."""
    server = StageServer(stage).start()
    yield server
    server.stop()


@pytest.mark.slow  # see pyproject: `uv run pytest -m slow`
@pytest.mark.parametrize("stage", ["part1_echo", "part2_groups", "part3_async"])
def test_a_stale_session_cookie_breaks_the_chat_until_migrate(stage, unmigrated, browser):
    server, wait = unmigrated, WebDriverWait(browser, 20)
    browser.get(server.base_url + "/chat/")
    browser.add_cookie(STALE)

    # The page loads; its socket's handshake fails.
    browser.get(server.base_url + "/chat/lobby/")
    assert browser.title == "Chat Room"
    log = browser.find_element(By.ID, "chat-log")
    wait.until(lambda b: DISCONNECTED in log.get_attribute("value"))
    console = " ".join(entry["message"] for entry in browser.get_log("browser"))
    assert CONSOLE_ERROR in console
    assert "Exception inside application: " + SERVER_ERROR in server.log()
    assert "django.db.utils.OperationalError: " + SERVER_ERROR in server.log()

    # `migrate` once, as runserver's warning says; the running server needs no restart.
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=server.workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    browser.refresh()
    wait_for_page_socket(browser, server.stage, wait)
    browser.find_element(By.ID, "chat-message-input").send_keys("after migrate" + Keys.ENTER)
    log = browser.find_element(By.ID, "chat-log")
    wait.until(lambda b: "after migrate" in log.get_attribute("value"))
    assert DISCONNECTED not in log.get_attribute("value")


NOTES = [
    "README.md",
    "README.ko.md",
    "part1_echo/README.md",
    "part1_echo/README.ko.md",
    "docs/troubleshooting.md",
    "docs/troubleshooting.ko.md",
]


@pytest.mark.parametrize("path", NOTES)
def test_the_notes_say_what_a_stale_cookie_does(path):
    text = (ROOT / path).read_text(encoding="utf-8")
    for seen in ("sessionid", "migrate", DISCONNECTED, SERVER_ERROR):
        assert seen in text, f"{path} does not say {seen!r}"
