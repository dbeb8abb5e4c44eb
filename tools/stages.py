"""The stages, in order, and where they live.

Shared by the repo's tools and tests (never by the stages).
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

STAGES = ["part1_echo", "part2_groups", "part3_async", "part4_tests"]

# Stages whose consumer broadcasts to the room through a channel layer.
GROUP_STAGES = STAGES[1:]

# Generated files a stage folder may hold that are never part of the lesson.
GENERATED = [
    "__pycache__",
    "*.pyc",
    "db.sqlite3",
    "*.sqlite3",
    "*.sqlite3-journal",
    ".pytest_cache",
]
