"""The server restarts under an open room page.

Every saved file makes Django's autoreloader restart the server, which closes the page's socket.
The page says so in the chat log, and a reload brings the chat back. (Parts 2 to 4 carry part1's
socket handling unchanged; the drift check keeps it so. A page that reconnects by itself is the
reconnect diff of the docs' Beyond the tutorial page, tested with that diff.)
"""

import time

import pytest
from chat_client import wait_for_page_socket
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait
from servers import StageServer, wait_until

pytestmark = pytest.mark.slow  # see pyproject: `uv run pytest -m slow`

DISCONNECTED_LINE = "[disconnected: reload the page]"


def chat_log(browser):
    return browser.find_element(By.ID, "chat-log").get_attribute("value")


@pytest.mark.timeout(120)
def test_saving_a_file_restarts_part1_and_the_page_says_it_is_disconnected(browser):
    stage = "part1_echo"
    server = StageServer(stage, reload=True).start(timeout=60)  # as a learner runs it
    try:
        wait = WebDriverWait(browser, 20)
        browser.get(server.base_url + "/chat/lobby/")
        wait_for_page_socket(browser, stage, wait)
        field = browser.find_element(By.ID, "chat-message-input")
        field.send_keys("before the save", Keys.ENTER)
        wait.until(lambda b: "before the save\n" in chat_log(b))

        # The learner saves a file: the autoreloader restarts the server. Save again each time
        # the page has not changed within 2 s: the reloader only notices a change after its first
        # look at the file, which a busy machine may not have taken yet.
        views = server.workdir / "chat" / "views.py"
        deadline = time.monotonic() + 30
        while True:
            views.write_text(views.read_text() + "\n")
            try:
                WebDriverWait(browser, 2).until(lambda b: DISCONNECTED_LINE in chat_log(b))
                break
            except TimeoutException:
                assert time.monotonic() < deadline, "no disconnected line in the log"
        assert chat_log(browser).splitlines()[-1] == DISCONNECTED_LINE
        assert server.proc.poll() is None, "the autoreloader itself stopped"

        # Reloading the page, once the new server answers, brings the chat back.
        wait_until(server.serves, 30, "the restarted server")
        browser.refresh()
        wait_for_page_socket(browser, stage, wait)
        assert DISCONNECTED_LINE not in chat_log(browser)
        browser.find_element(By.ID, "chat-message-input").send_keys("after the save", Keys.ENTER)
        wait.until(lambda b: "after the save\n" in chat_log(b))
    finally:
        server.stop()
