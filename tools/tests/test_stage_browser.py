"""Each stage in a real browser: what a person types, what they see, and what must never run."""

from urllib.parse import quote

import pytest
from chat_client import wait_for_page_socket
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait
from stages import STAGES

pytestmark = pytest.mark.slow  # see pyproject: `uv run pytest -m slow`

ROOM = "브라우저 방"  # no other test on these servers uses it (part4 replays history)
MARKUP = '<img src=x onerror="window.pwned=1">'


def active_id(browser):
    return browser.switch_to.active_element.get_attribute("id")


@pytest.mark.parametrize(
    "stage", [pytest.param(s, marks=pytest.mark.xdist_group(f"{s}-memory")) for s in STAGES]
)
def test_person_enters_a_room_and_chats_safely(stage_servers, browser, stage):
    server = stage_servers(stage)
    wait = WebDriverWait(browser, 20)

    browser.get(server.base_url + "/chat/")
    assert active_id(browser) == "room-name-input"
    browser.switch_to.active_element.send_keys(ROOM + Keys.ENTER)
    wait.until(EC.url_to_be(server.base_url + "/chat/" + quote(ROOM) + "/"))
    wait_for_page_socket(browser, stage, wait)
    assert active_id(browser) == "chat-message-input"

    browser.switch_to.active_element.send_keys(MARKUP + Keys.ENTER)
    log = browser.find_element(By.ID, "chat-log")
    wait.until(lambda b: MARKUP in log.get_attribute("value"))
    assert log.get_attribute("value").splitlines()[-1] == MARKUP
    assert browser.execute_script("return typeof window.pwned") == "undefined"
    assert browser.find_elements(By.TAG_NAME, "img") == []
