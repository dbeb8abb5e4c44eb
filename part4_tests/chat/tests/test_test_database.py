# chat/tests/test_test_database.py
"""Running the tests must never touch your own database, db.sqlite3."""

import os
import shutil
import sqlite3
import subprocess
import sys

from django.conf import settings


def test_tests_leave_your_db_sqlite3_alone(tmp_path):
    # A copy of this stage, with a db.sqlite3 holding some of "your" data
    stage = tmp_path / "stage"
    shutil.copytree(settings.BASE_DIR, stage, ignore=shutil.ignore_patterns("*.sqlite3*"))
    database = stage / "db.sqlite3"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
        db.execute("INSERT INTO notes VALUES ('my data')")
    db.close()
    before = database.read_bytes(), database.stat().st_mtime_ns

    # One database test, run there the way you run the suite
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "REDIS_URL"))}
    test = "chat/tests/test_consumers.py::test_history_is_sent_on_connect[memory]"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", test], cwd=stage, env=env, capture_output=True, text=True
    )
    assert "1 passed" in result.stdout, result.stdout + result.stderr

    assert (database.read_bytes(), database.stat().st_mtime_ns) == before
    assert not (stage / "test_db.sqlite3").exists(), "the test database was not removed"
