"""tools/browsers.py: the browser tests run with whichever of Chromium, Google Chrome or Microsoft
Edge a laptop has, with a driver of the same major version, found offline."""

import os
import platform
import shutil
import subprocess
import sys

import browsers
import pytest
from conftest import fake_path, missing
from install_hints import browser_install
from stages import ROOT, copy_stage

pytestmark = pytest.mark.slow  # see pyproject: `uv run pytest -m slow`

HERE = "tools/tests/test_browsers.py"


def real_chromium():
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not (found and shutil.which("chromedriver")):
        missing("browser")
    return found


def test_the_browser_fixture_drives_a_real_page(browser):
    browser.get("data:text/html,<title>ready</title><p id=x>hello</p>")
    assert browser.title == "ready"
    assert browser.find_element("id", "x").text == "hello"
    print(f"\nDRIVEN: {browser.detected.browser.name} at {browser.detected.browser.path}")


def run_fixture_test(path):
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "0",
            "-m",
            "slow",
            "-p",
            "no:cacheprovider",
            "-s",
            "-rs",
        ]
        + [f"{HERE}::test_the_browser_fixture_drives_a_real_page"],
        cwd=ROOT,
        env={**env, "PATH": path},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_google_chrome_alone_is_found_with_its_driver(tmp_path):
    chromium = real_chromium()
    path = fake_path(tmp_path, add={"google-chrome": chromium})
    found = browsers.detect(path=path)
    assert found.ready, found.problem
    assert found.browser.name == "Google Chrome"
    assert found.browser.path == os.path.join(path, "google-chrome")
    assert found.driver_major == found.browser.major


@pytest.mark.slow
def test_with_google_chrome_the_only_browser_the_browser_tests_run(tmp_path):
    path = fake_path(tmp_path, add={"google-chrome": real_chromium()})
    result = run_fixture_test(path)
    assert "1 passed" in result.stdout and "skipped" not in result.stdout, result.stdout
    assert f"DRIVEN: Google Chrome at {path}/google-chrome" in result.stdout


def test_with_no_browser_the_skip_line_says_what_to_install(tmp_path):
    result = run_fixture_test(fake_path(tmp_path))
    assert "1 skipped" in result.stdout, result.stdout
    assert "needs browser (no Chromium, Google Chrome or Microsoft Edge found)" in result.stdout
    assert browser_install().en in result.stdout


def test_edge_is_driven_with_msedgedriver(tmp_path):
    script = "#!/bin/sh\necho '{} 150.0.3000.1'\n"
    path = fake_path(
        tmp_path,
        drop={"chromedriver"},
        add={
            "microsoft-edge": script.format("Microsoft Edge"),
            "msedgedriver": script.format("Microsoft Edge WebDriver"),
        },
    )
    found = browsers.detect(path=path, use_manager=False)
    assert found.ready, found.problem
    assert (found.browser.name, found.browser.selenium_name) == ("Microsoft Edge", "edge")
    assert found.driver == os.path.join(path, "msedgedriver") and found.driver_major == 150


def test_driver_comes_from_the_selenium_manager_cache_offline(tmp_path, monkeypatch):
    chromium = real_chromium()
    if not (sys.platform == "linux" and platform.machine() == "x86_64"):
        pytest.skip("the cache layout built here is Selenium Manager's for Linux x86_64")
    path = fake_path(tmp_path, drop={"chromedriver"}, add={"google-chrome": chromium})
    version = browsers.program_version(chromium)
    cache = tmp_path / "selenium-cache"
    monkeypatch.setenv("SE_CACHE_PATH", str(cache))
    assert not browsers.detect(path=path).ready  # an empty cache, and no download offline
    cached = cache / "chromedriver" / "linux64" / version / "chromedriver"
    cached.parent.mkdir(parents=True)
    shutil.copy(shutil.which("chromedriver"), cached)
    found = browsers.detect(path=path)
    assert found.ready, found.problem
    assert (found.driver, found.source) == (str(cached), "Selenium Manager cache")


def test_a_driver_of_another_major_version_is_named(tmp_path):
    browser = "#!/bin/sh\necho 'Google Chrome 156.0.1.2'\n"
    old_driver = "#!/bin/sh\necho 'ChromeDriver 99.0.4844.51 (abc)'\n"
    path = fake_path(tmp_path, add={"google-chrome": browser, "chromedriver": old_driver})
    found = browsers.detect(path=path, use_manager=False)
    assert not found.ready
    assert found.problem == (
        f"Google Chrome 156 needs chromedriver 156, but {path}/chromedriver is chromedriver 99"
    )


def test_windows_chrome_is_found_in_program_files_without_starting_it(tmp_path):
    app = tmp_path / "Program Files" / "Google" / "Chrome" / "Application"
    (app / "156.0.8078.73").mkdir(parents=True)
    (app / "99.0.1.1").mkdir()
    (app / "chrome.exe").write_text("not run")
    env = {"PROGRAMFILES": str(tmp_path / "Program Files")}
    found = browsers.find_browser(path=str(tmp_path / "empty"), platform="win32", env=env)
    assert (found.name, found.version) == ("Google Chrome", "156.0.8078.73")


def test_macos_chrome_is_found_in_applications(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    macos = tmp_path / "Applications" / "Google Chrome.app" / "Contents" / "MacOS"
    macos.mkdir(parents=True)
    (macos / "Google Chrome").write_text("#!/bin/sh\necho 'Google Chrome 156.0.8078.73'\n")
    (macos / "Google Chrome").chmod(0o755)
    found = browsers.find_browser(path=str(tmp_path / "empty"), platform="darwin")
    assert (found.name, found.major) == ("Google Chrome", 156)


def test_install_advice_is_current_for_each_os():
    mac, windows = browser_install("darwin").en, browser_install("win32").en
    assert "google-chrome" in mac and "--cask chromium" not in mac
    assert "Edge" in windows and "--fetch-driver" in windows
    assert "apt-get install chromium chromium-driver" in browser_install("linux").en
    for platform_name in ("linux", "darwin", "win32"):
        assert browser_install(platform_name).ko != browser_install(platform_name).en


def test_with_google_chrome_the_only_browser_part4s_browser_tests_run(tmp_path):
    """part4 cannot import tools/browsers.py (stages stand alone): its helper must find Chrome."""
    path = fake_path(tmp_path, add={"google-chrome": real_chromium()})
    # A copy: part4's own suite may be running beside this test, on the stage's test database.
    stage = tmp_path / "part4_tests"
    copy_stage("part4_tests", stage)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"]
        + ["chat/tests/test_browser.py", "-k", "same_room"],
        cwd=stage,
        env={**env, "PATH": path, "CI": "false"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert "1 passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-3000:]


@pytest.mark.xdist_group("part4_suite")  # beside test_part4_suite.py, on part4's test database
@pytest.mark.timeout(600)
def test_without_a_driver_part4s_suite_skips_its_browser_tests_instead_of_failing(tmp_path):
    """Chromium but no chromedriver, an empty Selenium Manager cache and no internet: Selenium
    Manager cannot download a driver, so the repo's run of part4's suite leaves the browser tests
    out, passes the rest, and skips with a line saying how to get the driver."""
    chromium = real_chromium()
    nowhere = "http://127.0.0.1:9"  # the discard port: nothing listens, nothing is downloaded
    env = {k: v for k, v in os.environ.items() if k != "CI" and not k.startswith("PYTEST_")}
    env |= {"PATH": fake_path(tmp_path, drop={"chromedriver"}, add={"chromium": chromium})}
    env |= {"SE_CACHE_PATH": str(tmp_path / "selenium-cache")}
    env |= {"HTTP_PROXY": nowhere, "HTTPS_PROXY": nowhere, "NO_PROXY": "127.0.0.1,localhost"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tools/tests/test_part4_suite.py", "-m", "slow"]
        + ["-n", "0", "-rs", "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert "2 skipped" in result.stdout, result.stdout[-5000:]  # part4 runs on both layers
    assert "Chromium found, but no chromedriver; the rest of part4's suite passed" in result.stdout
    assert "--fetch-driver" in result.stdout
