"""The instructor guide's board screenshots: a real board, simulated learners, headless Chromium.

    uv run python tools/board_site/screenshots.py        # writes docs/img/board.png, board.ko.png

The board runs on a loopback port; the reports are the ones tools/check.py --report would send
(simulate.midway); the page is opened once per language (?lang=en, ?lang=ko). The Korean shot
needs a CJK font (Debian: `apt-get install fonts-noto-cjk`), or its text renders as boxes.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tools/, run as a script

import board_report  # noqa: E402
import browsers  # noqa: E402
from stages import ROOT  # noqa: E402

from board_site.simulate import BoardProcess, midway  # noqa: E402

OUT = {"en": ROOT / "docs" / "img" / "board.png", "ko": ROOT / "docs" / "img" / "board.ko.png"}
SIZE = (1280, 760)


def driver():
    found = browsers.detect()
    if not found.ready:
        sys.exit(f"no browser to take the screenshots: {found.problem}")
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = found.browser.path
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"):
        options.add_argument(flag)
    chrome = webdriver.Chrome(service=webdriver.ChromeService(found.driver), options=options)
    # The page itself at SIZE, whatever the headless window's frame takes.
    metrics = {"width": SIZE[0], "height": SIZE[1], "deviceScaleFactor": 1, "mobile": False}
    chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    return chrome


def main():
    board = BoardProcess(code="K7P2QX", lang="both").start()
    browser = None
    try:
        for name, stage, report in midway(board.code):
            delivered, why = board_report.send(board.address, report)
            assert delivered, f"{name} {stage}: {why.en}"
        browser = driver()
        for lang, path in OUT.items():
            browser.get(f"{board.url}?lang={lang}")
            deadline = time.monotonic() + 10
            while (
                browser.find_element("tag name", "body").get_attribute("data-connected") != "true"
            ):
                assert time.monotonic() < deadline, "the page never got the board's state"
                time.sleep(0.1)
            browser.save_screenshot(str(path))
            print(f"wrote {path.relative_to(ROOT)}")
    finally:
        if browser:
            browser.quit()
        board.stop()
        board.remove_log()


if __name__ == "__main__":
    main()
