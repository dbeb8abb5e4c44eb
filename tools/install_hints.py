"""How to get what a laptop lacks, per operating system, in both languages: written once for the
doctor's fixes, the checker's skip reasons and the tests' skip lines.

Standard library only: tools/doctor.py imports it before `uv sync`.
"""

import sys

from bilingual import Text

REDIS_INSTALL = {
    "linux": Text(
        "`sudo apt-get install redis-server` (Fedora: `sudo dnf install redis`), or "
        "`docker compose up -d redis`",
        "`sudo apt-get install redis-server`(Fedora: `sudo dnf install redis`) 또는 "
        "`docker compose up -d redis`",
    ),
    "darwin": Text(
        "`brew install redis`, then `brew services start redis`; or with Docker Desktop "
        "`docker compose up -d redis`",
        "`brew install redis` 다음 `brew services start redis`, 또는 Docker Desktop에서 "
        "`docker compose up -d redis`",
    ),
    "win32": Text(
        "Windows has no native redis-server: Docker Desktop's `docker compose up -d redis`, "
        "or `sudo apt-get install redis-server` inside WSL, or a Redis-compatible server "
        "(such as Memurai); then run with `uv run --env-file redis.env ...`",
        "Windows용 redis-server는 없습니다: Docker Desktop에서 `docker compose up -d redis`, "
        "또는 WSL 안에서 `sudo apt-get install redis-server`, 또는 Redis 호환 서버(Memurai 등). "
        "그다음 `uv run --env-file redis.env ...`로 실행하세요",
    ),
}


def redis_install(platform=sys.platform):
    """How to get a Redis on this operating system (Linux's way on any other)."""
    return REDIS_INSTALL.get(platform, REDIS_INSTALL["linux"])


FETCH_DRIVER = "uv run python tools/doctor.py --fetch-driver"

BROWSER_INSTALL = {
    "linux": Text(
        "Debian: `sudo apt-get install chromium chromium-driver`; Ubuntu and others: install "
        f"Google Chrome or Chromium, then `{FETCH_DRIVER}` while online",
        "데비안: `sudo apt-get install chromium chromium-driver`, 우분투 등: Google Chrome이나 "
        f"Chromium을 설치한 뒤 인터넷에 연결된 상태에서 `{FETCH_DRIVER}`",
    ),
    "darwin": Text(
        "install Google Chrome (google.com/chrome, or `brew install --cask google-chrome`), "
        f"then `{FETCH_DRIVER}` while online (Homebrew's chromium cask is disabled)",
        "Google Chrome을 설치하고(google.com/chrome 또는 `brew install --cask google-chrome`) "
        f"인터넷에 연결된 상태에서 `{FETCH_DRIVER}`"
        "(Homebrew의 chromium cask는 더 이상 설치되지 않습니다)",
    ),
    "win32": Text(
        f"Microsoft Edge comes with Windows (or install Google Chrome): run `{FETCH_DRIVER}` once "
        "while online to get its driver",
        "Windows에는 Microsoft Edge가 들어 있습니다(Google Chrome도 됩니다). 인터넷에 연결된 "
        f"상태에서 `{FETCH_DRIVER}`를 한 번 실행해 드라이버를 받으세요",
    ),
}


def browser_install(platform=sys.platform):
    """What to install on this operating system to run the browser tests (Linux's on any other)."""
    return BROWSER_INSTALL.get(platform, BROWSER_INSTALL["linux"])
