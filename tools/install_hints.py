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
