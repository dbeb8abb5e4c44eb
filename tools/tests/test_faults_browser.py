"""The room page keeps itself connected: when the server stops it says so, disables Send and keeps
what the person is typing; when a server is back on the same address it reconnects by itself.
"""

import signal

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait
from servers import StageServer

CONNECTED = (By.CSS_SELECTOR, 'body[data-connected="true"]')
DISCONNECTED = (By.CSS_SELECTOR, 'body[data-connected="false"]')


@pytest.mark.timeout(180)
def test_page_reconnects_after_a_server_restart_and_keeps_the_typed_text(browser):
    server = StageServer("part1_echo").start(timeout=60)
    again = None
    try:
        wait = WebDriverWait(browser, 30)
        browser.get(server.base_url + "/chat/lobby/")
        wait.until(EC.presence_of_element_located(CONNECTED))
        status = browser.find_element(By.ID, "chat-status")
        button = browser.find_element(By.ID, "chat-message-submit")
        field = browser.find_element(By.ID, "chat-message-input")
        assert status.text == "connected" and button.is_enabled()

        # The server goes away (its process only: the workdir stays for the restart).
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(10)
        wait.until(EC.presence_of_element_located(DISCONNECTED))
        wait.until(EC.text_to_be_present_in_element((By.ID, "chat-status"), "reconnecting"))
        assert not button.is_enabled()

        # Typing during the outage: Enter sends nothing and the text stays.
        field.send_keys("typed while offline", Keys.ENTER)
        assert field.get_attribute("value") == "typed while offline"

        again = StageServer("part1_echo", port=server.port, workdir=server.workdir)
        again.start(timeout=60)
        wait.until(EC.presence_of_element_located(CONNECTED))  # by itself, no reload
        assert status.text == "connected" and button.is_enabled()
        assert field.get_attribute("value") == "typed while offline"

        field.send_keys(Keys.ENTER)
        wait.until(
            EC.text_to_be_present_in_element_value((By.ID, "chat-log"), "typed while offline\n")
        )
        assert field.get_attribute("value") == ""
    finally:
        if again:
            again.stop()
        server.stop()
