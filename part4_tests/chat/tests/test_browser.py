# chat/tests/test_browser.py
"""End-to-end tests: a real browser, driven by Selenium, against a live Daphne server.

The official tutorial's chat/tests.py, plus a Korean room name, markup, history and reconnecting.
"""

import contextlib
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from channels.testing import ChannelsLiveServerTestCase
from django.conf import settings
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.wait import WebDriverWait

from .helpers import LiveServerProcess, start_browser

WAIT = 5  # seconds a wait may take before the test fails (the tutorial: 2)
ARTIFACTS = Path(settings.BASE_DIR).parent / "test-artifacts" / "part4"


class ChatTests(ChannelsLiveServerTestCase):
    serve_static = True  # emulate StaticLiveServerTestCase
    ProtocolServerProcess = LiveServerProcess

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.driver = start_browser()
        except BaseException:
            super().tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        super().tearDownClass()

    def test_when_chat_message_posted_then_seen_by_everyone_in_same_room(self):
        with self._windows():
            self._enter_chat_room("room_1")

            self._open_new_window()
            self._enter_chat_room("room_1")

            self._switch_to_window(0)
            self._post_message("hello")
            self._wait_for_log("hello", "Message was not received by window 1 from window 1")
            self._switch_to_window(1)
            self._wait_for_log("hello", "Message was not received by window 2 from window 1")

    def test_when_chat_message_posted_then_not_seen_by_anyone_in_different_room(self):
        with self._windows():
            self._enter_chat_room("room_1")

            self._open_new_window()
            self._enter_chat_room("room_2")

            self._switch_to_window(0)
            self._post_message("hello")
            self._wait_for_log("hello", "Message was not received by window 1 from window 1")

            self._switch_to_window(1)
            self._post_message("world")
            self._wait_for_log("world", "Message was not received by window 2 from window 2")
            self.assertTrue(
                "hello" not in self._chat_log_value,
                "Message was improperly received by window 2 from window 1",
            )

    def test_korean_room_name(self):
        with self._windows():
            self._enter_chat_room("한국어 방")

            self._open_new_window()
            self._enter_chat_room("한국어 방")
            self._post_message("안녕하세요")
            self._wait_for_log("안녕하세요", "Message was not received by window 2 from window 2")
            self._switch_to_window(0)
            self._wait_for_log("안녕하세요", "Message was not received by window 1 from window 2")

    def test_markup_in_a_message_is_shown_as_text(self):
        markup = '<img src="x" onerror="document.body.dataset.hacked = 1">'
        with self._windows():
            self._enter_chat_room("room_1")
            self._post_message(markup)
            self._wait_for_log(markup, "The markup did not come back as text")
            self.assertIsNone(
                self.driver.find_element(By.TAG_NAME, "body").get_dom_attribute("data-hacked"),
                "The markup ran as code",
            )

    def test_room_history_is_shown_to_a_window_that_joins_later(self):
        with self._windows():
            self._enter_chat_room("room_1")
            self._post_message("first")
            self._wait_for_log("first", "Message was not received by window 1 from window 1")

            self._open_new_window()
            self._enter_chat_room("room_1")
            self._wait_for_log("first", "The room's history was not shown to window 2")

    def test_page_reconnects_by_itself_and_shows_the_history_once(self):
        with self._windows():
            self._enter_chat_room("room_1")
            self._post_message("first")
            self._wait_for_log("first", "Message was not received by window 1 from window 1")

            # Close the socket as a restarting server would, and see the page at that moment
            state_when_closed = self.driver.execute_async_script(
                """
                const done = arguments[0];
                window.closedSocket = chatSocket;
                chatSocket.addEventListener('close', () => done([
                    document.querySelector('#chat-status')?.textContent,
                    document.body.dataset.connected,
                    document.querySelector('#chat-message-submit').disabled,
                ]));
                chatSocket.close();
                """
            )
            self.assertEqual(state_when_closed, ["reconnecting…", "false", True])
            # Wait for a new socket, open: only a page that reconnected has one
            WebDriverWait(self.driver, WAIT).until(
                lambda _: self.driver.execute_script(
                    "return chatSocket !== window.closedSocket"
                    " && chatSocket.readyState === WebSocket.OPEN;"
                ),
                "The page did not reconnect by itself",
            )
            self.assertEqual(
                self.driver.find_element(By.TAG_NAME, "body").get_dom_attribute("data-connected"),
                "true",
            )
            self._post_message("second")
            self._wait_for_log("second", "Message was not received after reconnecting")
            self.assertEqual(self._chat_log_value, "first\nsecond\n")

    # === Utility ===

    def _enter_chat_room(self, room_name):
        self.driver.get(self.live_server_url + "/chat/")
        ActionChains(self.driver).send_keys(room_name, Keys.ENTER).perform()
        WebDriverWait(self.driver, WAIT).until(
            lambda _: quote(room_name) in self.driver.current_url  # 한국어 is %ED%95%9C...
        )
        # A message typed before the socket is open would be lost: wait for it
        self._wait_until_connected()

    def _wait_until_connected(self):
        WebDriverWait(self.driver, WAIT).until(
            lambda _: self.driver.execute_script(
                "return chatSocket.readyState === WebSocket.OPEN;"
            ),
            "The chat socket did not connect",
        )

    def _open_new_window(self):
        self.driver.execute_script('window.open("about:blank", "_blank");')
        self._switch_to_window(-1)

    def _close_all_new_windows(self):
        while len(self.driver.window_handles) > 1:
            self._switch_to_window(-1)
            self.driver.execute_script("window.close();")
        if len(self.driver.window_handles) == 1:
            self._switch_to_window(0)

    def _switch_to_window(self, window_index):
        self.driver.switch_to.window(self.driver.window_handles[window_index])

    def _post_message(self, message):
        ActionChains(self.driver).send_keys(message, Keys.ENTER).perform()

    def _wait_for_log(self, text, failure_message):
        WebDriverWait(self.driver, WAIT).until(
            lambda _: text in self._chat_log_value, failure_message
        )

    @property
    def _chat_log_value(self):
        return self.driver.find_element(
            by=By.CSS_SELECTOR, value="#chat-log"
        ).get_property("value")

    @contextlib.contextmanager
    def _windows(self):
        """The tutorial's try/finally, closing the new windows after the test; on a failure it
        first saves a screenshot of each window and the browser's console log."""
        try:
            yield
        except Exception:
            folder = ARTIFACTS / f"{self._testMethodName}-{datetime.now():%Y%m%d-%H%M%S}"
            folder.mkdir(parents=True, exist_ok=True)
            for index, handle in enumerate(self.driver.window_handles):
                self.driver.switch_to.window(handle)
                self.driver.save_screenshot(str(folder / f"window-{index}.png"))
            lines = [f"{e['level']} {e['message']}" for e in self.driver.get_log("browser")]
            (folder / "console.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
            print(f"Screenshots and the browser console log are in {folder}")
            raise
        finally:
            self._close_all_new_windows()
