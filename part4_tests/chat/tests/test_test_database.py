"""Running the tests must never touch the learner's own database, db.sqlite3."""

import os
import shutil
import sqlite3
import subprocess
import sys

from django.conf import settings


def test_tests_leave_your_db_sqlite3_alone(tmp_path):
    # A copy of this stage, with a db.sqlite3 holding some of "your" data
    stage = tmp_path / "part4_tests"
    shutil.copytree(
        settings.BASE_DIR,
        stage,
        ignore=shutil.ignore_patterns(
            "__pycache__", "*.sqlite3", "*.sqlite3-journal", ".pytest_cache"
        ),
    )
    database = stage / "db.sqlite3"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
        db.execute("INSERT INTO notes VALUES ('my data')")
    db.close()
    before = database.read_bytes(), database.stat().st_mtime_ns

    # Run one database test there, the way a learner runs the suite
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "chat/tests/test_consumers.py",
            "-k",
            "test_history_is_sent_on_connect and memory",
        ],
        cwd=stage,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "1 passed" in result.stdout, result.stdout + result.stderr

    assert (database.read_bytes(), database.stat().st_mtime_ns) == before
    assert not (stage / "test_db.sqlite3").exists(), "the test database was not removed"
