"""End-to-end tests: a real Chromium, driven by Selenium, against a live Daphne server.

The class and method names follow the official tutorial's chat/tests.py.
"""

import contextlib
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

from channels.testing import ChannelsLiveServerTestCase
from django.conf import settings
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from .helpers import missing

WAIT = 5  # seconds an explicit wait may take before the test fails
ARTIFACTS = Path(settings.BASE_DIR).parent / "test-artifacts" / "part4"
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class ChatTests(ChannelsLiveServerTestCase):
    serve_static = True  # emulate StaticLiveServerTestCase

    @classmethod
    def setUpClass(cls):
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        chromedriver = shutil.which("chromedriver")
        if not (chromium and chromedriver):
            missing("browser")
        super().setUpClass()
        cls.profile = tempfile.mkdtemp(prefix="part4-chromium-")
        try:
            options = webdriver.ChromeOptions()
            options.binary_location = chromium
            for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={cls.profile}"]:
                options.add_argument(flag)
            options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # keep console logs
            cls.driver = webdriver.Chrome(service=Service(chromedriver), options=options)
        except BaseException:
            super().tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        shutil.rmtree(cls.profile, ignore_errors=True)
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
            self.assertEqual(self._room_name_on_page, "한국어 방")

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
            self.assertEqual(self.driver.find_elements(By.TAG_NAME, "img"), [])

    def test_room_history_is_shown_to_a_window_that_joins_later(self):
        with self._windows():
            self._enter_chat_room("room_1")
            self._post_message("first")
            self._wait_for_log("first", "Message was not received by window 1 from window 1")

            self._open_new_window()
            self._enter_chat_room("room_1")
            self._wait_for_log("first", "The room's history was not shown to window 2")

    def test_history_is_not_repeated_when_the_page_reconnects(self):
        with self._windows():
            self._enter_chat_room("room_1")
            self._post_message("first")
            self._wait_for_log("first", "Message was not received by window 1 from window 1")

            # Drop the socket as a server restart would; the page reconnects by itself.
            self.driver.execute_script("chatSocket.close();")
            WebDriverWait(self.driver, WAIT).until(
                lambda _: self.driver.find_elements(
                    By.CSS_SELECTOR, 'body[data-connected="false"]'
                ),
                "The page did not notice its socket closed",
            )
            WebDriverWait(self.driver, WAIT).until(
                lambda _: self.driver.find_elements(By.CSS_SELECTOR, 'body[data-connected="true"]'),
                "The page did not reconnect by itself",
            )
            self._post_message("second")
            self._wait_for_log("second", "Message was not received after reconnecting")
            self.assertEqual(self._chat_log_value, "first\nsecond\n")

    # === Utility ===

    def _enter_chat_room(self, room_name):
        self.driver.get(self.live_server_url + "/chat/")
        ActionChains(self.driver).send_keys(room_name + "\n").perform()
        WebDriverWait(self.driver, WAIT).until(
            lambda _: self._room_name_on_page == room_name,
            f"The room page for {room_name!r} did not open",
        )
        # Typing before the socket is open would lose the message: wait for the page to say so.
        WebDriverWait(self.driver, WAIT).until(
            lambda _: self.driver.find_elements(By.CSS_SELECTOR, 'body[data-connected="true"]'),
            f"The chat socket for {room_name!r} did not connect",
        )

    def _open_new_window(self):
        self.driver.execute_script('window.open("about:blank", "_blank");')
        self.driver.switch_to.window(self.driver.window_handles[-1])

    def _close_all_new_windows(self):
        while len(self.driver.window_handles) > 1:
            self.driver.switch_to.window(self.driver.window_handles[-1])
            self.driver.execute_script("window.close();")
        if len(self.driver.window_handles) == 1:
            self.driver.switch_to.window(self.driver.window_handles[0])

    def _switch_to_window(self, window_index):
        self.driver.switch_to.window(self.driver.window_handles[window_index])

    def _post_message(self, message):
        ActionChains(self.driver).send_keys(message + "\n").perform()

    def _wait_for_log(self, text, failure_message):
        WebDriverWait(self.driver, WAIT).until(
            lambda _: text in self._chat_log_value, failure_message
        )

    @property
    def _chat_log_value(self):
        return self.driver.find_element(By.CSS_SELECTOR, "#chat-log").get_property("value")

    @property
    def _room_name_on_page(self):
        """The room name the room page was rendered for (None on any other page)."""
        return self.driver.execute_script(
            "const data = document.getElementById('room-name');"
            "return data ? JSON.parse(data.textContent) : null;"
        )

    @contextlib.contextmanager
    def _windows(self):
        """The tutorial's try/finally: close the extra windows after the test. On a failure,
        first save each window's screenshot and the browser console log."""
        try:
            yield
        except Exception:
            self._save_artifacts()
            raise
        finally:
            self._close_all_new_windows()

    def _save_artifacts(self):
        folder = ARTIFACTS / f"{self._testMethodName}-{datetime.now():%Y%m%d-%H%M%S}"
        folder.mkdir(parents=True, exist_ok=True)
        for index, handle in enumerate(self.driver.window_handles):
            self.driver.switch_to.window(handle)
            self.driver.save_screenshot(str(folder / f"window-{index}.png"))
        lines = [f"{e['level']} {e['message']}" for e in self.driver.get_log("browser")]
        (folder / "console.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"Screenshots and the browser console log are in {folder}")
