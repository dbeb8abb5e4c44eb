"""Which browser the browser tests can drive here: Chromium, Google Chrome or Microsoft Edge, and a
driver of the same major version (chromedriver / msedgedriver on PATH, or one Selenium Manager has
cached). Shared by tools/doctor.py and the `browser` fixture of the repo's tests.

Never downloads anything unless asked (fetch_driver): Selenium Manager runs with --offline.
Standard library only, so that the doctor can use it before `uv sync`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# (name people know, Selenium's browser name, names on PATH)
KINDS = [
    ("Chromium", "chrome", ["chromium", "chromium-browser"]),
    ("Google Chrome", "chrome", ["google-chrome", "google-chrome-stable", "chrome"]),
    ("Microsoft Edge", "edge", ["microsoft-edge", "microsoft-edge-stable", "msedge"]),
]


def app_locations(platform=sys.platform, env=os.environ):
    """Where installers put the browsers outside PATH: {name: [paths]}."""
    if platform == "darwin":
        apps = [Path("/Applications"), Path.home() / "Applications"]
        bundles = {
            "Chromium": "Chromium.app/Contents/MacOS/Chromium",
            "Google Chrome": "Google Chrome.app/Contents/MacOS/Google Chrome",
            "Microsoft Edge": "Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
        }
        return {name: [str(a / b) for a in apps] for name, b in bundles.items()}
    if platform == "win32":
        roots = [env.get(k) for k in ("PROGRAMFILES", "PROGRAMFILES(X86)", "LOCALAPPDATA")]
        roots = [r for r in roots if r]
        exes = {
            "Chromium": ("Chromium", "Application", "chrome.exe"),
            "Google Chrome": ("Google", "Chrome", "Application", "chrome.exe"),
            "Microsoft Edge": ("Microsoft", "Edge", "Application", "msedge.exe"),
        }
        return {name: [str(Path(r, *exe)) for r in roots] for name, exe in exes.items()}
    return {}


@dataclass
class Browser:
    name: str  # Chromium, Google Chrome, Microsoft Edge
    selenium_name: str  # chrome or edge
    path: str
    version: str | None

    @property
    def major(self):
        return int(self.version.split(".")[0]) if self.version else None

    @property
    def driver_program(self):
        return "msedgedriver" if self.selenium_name == "edge" else "chromedriver"


@dataclass
class Detection:
    browser: Browser | None
    driver: str | None = None
    driver_version: str | None = None
    source: str | None = None  # "PATH" or "Selenium Manager cache"
    problem: str | None = None  # English: why the browser tests cannot run (None: they can)

    @property
    def ready(self):
        return self.problem is None

    @property
    def driver_major(self):
        return int(self.driver_version.split(".")[0]) if self.driver_version else None


def program_version(program, platform=sys.platform):
    """ "156.0.8078.73" from `program --version`; on Windows from the version folder beside the
    .exe, since chrome.exe --version opens a browser window there."""
    if platform == "win32" and Path(program).name.lower() in ("chrome.exe", "msedge.exe"):
        folders = [p.name for p in Path(program).parent.glob("*.*.*.*") if p.is_dir()]
        folders.sort(key=lambda v: [int(x) for x in v.split(".") if x.isdigit()])
        return folders[-1] if folders else None
    try:
        out = subprocess.run(
            [program, "--version"], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"(\d+\.\d+\.\d+(?:\.\d+)?)", out)
    return match.group(1) if match else None


def find_browser(path=None, platform=sys.platform, env=os.environ):
    """The first browser found, in the order Chromium, Google Chrome, Microsoft Edge."""
    apps = app_locations(platform, env)
    for name, selenium_name, programs in KINDS:
        candidates = [shutil.which(p, path=path) for p in programs] + [
            p for p in apps.get(name, []) if os.path.isfile(p)
        ]
        for found in filter(None, candidates):
            return Browser(name, selenium_name, found, program_version(found, platform))
    return None


def selenium_manager():
    """The Selenium Manager binary that selenium ships, or None."""
    try:
        from selenium.webdriver.common.selenium_manager import SeleniumManager

        return str(SeleniumManager._get_binary())
    except Exception:  # selenium not installed, or no binary for this platform
        return None


def manager_driver(browser, path=None, offline=True):
    """A driver path from Selenium Manager (its cache when offline), or None."""
    binary = selenium_manager()
    if binary is None:
        return None
    command = [binary, "--browser", browser.selenium_name, "--browser-path", browser.path]
    command += ["--output", "json", "--avoid-stats", "--skip-driver-in-path"]
    if offline:
        command.append("--offline")
    env = dict(os.environ)
    if path is not None:
        env["PATH"] = path
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=60 if offline else 300, env=env
        )
        found = json.loads(done.stdout)["result"].get("driver_path")
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, TypeError):
        return None
    return found if found and os.path.isfile(found) else None


def detect(path=None, platform=sys.platform, env=os.environ, use_manager=True):
    """The browser and a driver of its major version, or the reason there is none."""
    browser = find_browser(path, platform, env)
    if browser is None:
        return Detection(None, problem="no Chromium, Google Chrome or Microsoft Edge found")

    def candidates():
        on_path = shutil.which(browser.driver_program, path=path)
        if on_path:
            yield on_path, "PATH"
        cached = manager_driver(browser, path) if use_manager else None
        if cached:
            yield cached, "Selenium Manager cache"

    mismatch = None
    for driver, source in candidates():
        version = program_version(driver, platform)
        found = Detection(browser, driver, version, source)
        if browser.major is None or found.driver_major == browser.major:
            return found
        mismatch = mismatch or found
    if mismatch:
        mismatch.problem = (
            f"{browser.name} {browser.major} needs {browser.driver_program} {browser.major}, "
            f"but {mismatch.driver} is {browser.driver_program} {mismatch.driver_major}"
        )
        return mismatch
    return Detection(browser, problem=f"{browser.name} found, but no {browser.driver_program}")


def fetch_driver(browser):
    """Let Selenium Manager download a matching driver into its cache (needs the internet)."""
    return manager_driver(browser, offline=False)


def attributes_of(node):
    flat = node.get("attributes", [])
    return dict(zip(flat[::2], flat[1::2], strict=True))


def rendered_diagrams(driver):
    """(viewBox width, drawn width, svg markup) of each diagram Material drew. Material draws them
    in closed shadow roots, which only DevTools' DOM (pierce=True) can look into."""
    document = driver.execute_cdp_cmd("DOM.getDocument", {"depth": -1, "pierce": True})
    found = []

    def walk(node):
        if node.get("nodeName") == "DIV" and attributes_of(node).get("class") == "mermaid":
            for root in node.get("shadowRoots", []):
                for child in root.get("children", []):
                    if child["nodeName"].lower() == "svg":
                        found.append(child)
        for child in node.get("children", []) + node.get("shadowRoots", []):
            walk(child)

    walk(document["root"])
    diagrams = []
    for svg in found:
        natural = float(attributes_of(svg)["viewBox"].split()[2])
        box = driver.execute_cdp_cmd("DOM.getBoxModel", {"backendNodeId": svg["backendNodeId"]})
        markup = driver.execute_cdp_cmd("DOM.getOuterHTML", {"backendNodeId": svg["backendNodeId"]})
        diagrams.append((natural, box["model"]["width"], markup["outerHTML"]))
    return diagrams
