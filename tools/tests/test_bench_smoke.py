"""The board and checker benchmarks (tools/bench/board.py, checker_runs.py), run small: each
measures for real and records the machine it ran on, without touching the docs' tables."""

import json
import shutil

import pytest
from bench import board, checker_runs
from conftest import missing

pytestmark = pytest.mark.slow


def test_the_board_benchmark_shows_every_report_and_records_the_machine(tmp_path):
    out = tmp_path / "board.json"
    assert board.main(["--learners", "2", "--rounds", "1", "--pages", "1", "--out", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["shown"] == data["expected"] > 0
    assert set(data["machine"]["versions"]) == set(board.PACKAGES)


@pytest.mark.redis
def test_the_checker_benchmark_passes_a_reference_stage_and_records_the_machine(tmp_path):
    if not shutil.which("redis-server"):
        missing("redis", "checker_runs.py starts a redis-server of its own")
    out = tmp_path / "checker_runs.json"
    argv = ["--runs", "1", "--stages", "part1_echo", "--out", str(out), "--no-docs"]
    assert checker_runs.main(argv) == 0
    [entry] = json.loads(out.read_text(encoding="utf-8")).values()
    assert entry["stages"]["part1_echo"]["passes"] == 1
    assert "redis-server" in entry["machine"]["versions"]
