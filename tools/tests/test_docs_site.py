"""The docs site works with no internet (a workshop room, a train): built once, served from
127.0.0.1, and opened in headless Chromium that can resolve no other host. Every diagram renders
at a readable size, search answers, and no page asks another host for anything.
"""

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import pytest
from browsers import rendered_diagrams
from conftest import HEADLESS_FLAGS, missing, needs_group
from stages import ROOT

DOCS = ROOT / "docs"
# Pages with diagrams, as built: docs/x.md -> x/, docs/x.ko.md -> ko/x/.
DIAGRAM_PAGES = sorted(
    ("ko/" + p.name[: -len(".ko.md")] if p.name.endswith(".ko.md") else p.stem) + "/"
    for p in DOCS.glob("*.md")
    if "```mermaid" in p.read_text(encoding="utf-8")
)
# At 1280 px the content column is ~690 px wide: a diagram drawn below 3/4 of its natural size
# has text smaller than 12 px.
READABLE_SCALE = 0.75

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("docs-site")]


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    """`mkdocs build --strict`, once per session (and xdist worker)."""
    needs_group("docs", "mkdocs")
    site = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return site


def test_site_builds_strict_with_notes_code_and_diffs(built_site):
    def page(path):
        return (built_site / path / "index.html").read_text(encoding="utf-8")

    korean_part2 = page("ko/part2_groups")
    assert "이 단계에서 배우는 것" in korean_part2  # the Korean notes, through the hook
    assert "hashlib.sha256(self.room_name.encode())" in korean_part2  # the stage's code
    assert "part2_groups/chat/consumers.py" in page("diffs")
    assert "channels-redis" in page("versions")
    # A command with one form per shell renders as content tabs.
    instructor = page("instructor")
    assert '<div class="tabbed-set tabbed-alternate"' in instructor
    assert '">PowerShell</label>' in instructor and '">cmd</label>' in instructor


@pytest.fixture(scope="module")
def site_url(built_site):
    """The built site over HTTP on 127.0.0.1, as `mkdocs serve` or any static server would."""
    handler = functools.partial(QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def offline_browser(tmp_path_factory):
    """Headless Chromium that resolves no host but 127.0.0.1, logging every request it makes."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not (chromium and driver_path):
        missing("browser", "Chromium and chromedriver, for its host-resolver rules")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        *HEADLESS_FLAGS,
        "--window-size=1280,1000",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--user-data-dir={tmp_path_factory.mktemp('profile')}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


def requested_urls(driver):
    """URLs the page asked for since the last call (Chrome's DevTools network events)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def foreign(urls):
    return [
        u
        for u in urls
        if urlsplit(u).scheme in ("http", "https", "ws", "wss")
        and urlsplit(u).hostname != "127.0.0.1"
    ]


def wait_for(check, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_pages_with_diagrams_are_found():
    assert "channel-layers/" in DIAGRAM_PAGES and "ko/channel-layers/" in DIAGRAM_PAGES


@pytest.mark.parametrize("page", DIAGRAM_PAGES)
def test_every_diagram_renders_offline_at_a_readable_size(
    built_site, site_url, offline_browser, page
):
    expected = (
        (built_site / page / "index.html")
        .read_text(encoding="utf-8")
        .count('<pre class="mermaid">')
    )
    assert expected > 0
    requested_urls(offline_browser)  # forget earlier pages' requests
    offline_browser.get(site_url + page)
    diagrams = wait_for(lambda: len(rendered_diagrams(offline_browser)) == expected)
    urls = requested_urls(offline_browser)
    assert foreign(urls) == [], "the page asked another host"
    assert diagrams, f"{len(rendered_diagrams(offline_browser))} of {expected} diagrams rendered"
    for number, (natural, drawn, markup) in enumerate(rendered_diagrams(offline_browser), 1):
        assert "Syntax error" not in markup, f"diagram {number} of {page} does not parse"
        scale = drawn / natural
        assert scale >= READABLE_SCALE, (
            f"diagram {number} of {page} is drawn at {scale:.0%} of its size: "
            "lay it out top-down (flowchart TB) or split it"
        )
    assert any(u.endswith(".min.js") and "/assets/mermaid/" in u for u in urls)


@pytest.mark.parametrize("page, query", [("", "Redis"), ("ko/", "컨슈머")])
def test_search_answers_offline(site_url, offline_browser, page, query):
    from selenium.webdriver.common.by import By

    requested_urls(offline_browser)
    offline_browser.get(site_url + page)
    offline_browser.find_element(By.CSS_SELECTOR, "label.md-search__icon, .md-search__input")
    box = offline_browser.find_element(By.CSS_SELECTOR, "input.md-search__input")
    offline_browser.execute_script("arguments[0].focus()", box)
    box.send_keys(query)
    results = wait_for(
        lambda: offline_browser.find_elements(By.CSS_SELECTOR, ".md-search-result__item")
    )
    assert results, f"no search results for {query!r}"
    assert foreign(requested_urls(offline_browser)) == []


def test_no_built_page_links_a_script_stylesheet_or_font_from_another_host(built_site):
    """Every page, not only the ones opened above: no <script src>, <link href> or CSS url()
    pointing at another host (a font from Google, a script from a CDN)."""
    external = re.compile(
        r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=\"(https?:)?//[^\"]+\"|url\((https?:)?//"
    )
    offenders = {}
    for page in built_site.rglob("*.html"):
        found = [
            m.group(0)
            for m in external.finditer(page.read_text(encoding="utf-8"))
            if 'rel="alternate"' not in m.group(0) and 'rel="canonical"' not in m.group(0)
        ]
        if found:
            offenders[str(page.relative_to(built_site))] = found[:3]
    assert offenders == {}
