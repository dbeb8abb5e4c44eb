"""The benchmark's load tool, run small: every stamped message reaches every client in the room."""

import pytest
from bench.load import REPORT_FIELDS, run_load
from bench.targets import BareServer


@pytest.fixture(scope="module")
def bare_server():
    server = BareServer().start()
    yield server
    server.stop()


def check(report, clients, messages):
    assert set(REPORT_FIELDS) <= set(report)
    assert report["expected"] == clients * clients * messages
    assert report["delivered"] == report["expected"], report
    assert report["missing"] == 0 and report["errors"] == 0 and report["duplicates"] == 0
    assert report["p50_ms"] is not None and report["p50_ms"] <= report["p99_ms"]
    assert report["server_cpu_pct"] is not None and report["server_rss_mb"] > 0


@pytest.mark.xdist_group("part3_async-memory")
async def test_load_tool_against_part3(stage_servers):
    server = stage_servers("part3_async", "memory")
    report = await run_load(
        server.ws_url, clients=3, messages=5, rate=30, server_pids=[server.proc.pid], max_seconds=8
    )
    check(report, 3, 5)


@pytest.mark.xdist_group("part3_async-memory")
async def test_load_tool_against_bare_server(bare_server):
    report = await run_load(
        bare_server.ws_url, clients=3, messages=5, server_pids=[bare_server.proc.pid], max_seconds=8
    )
    check(report, 3, 5)


@pytest.mark.xdist_group("part3_async-memory")
async def test_load_tool_counts_what_never_arrives():
    # No server on port 9: the tool still returns promptly and counts every delivery as missing.
    report = await run_load("ws://127.0.0.1:9", clients=2, messages=2, max_seconds=3)
    assert report["connect_failures"] == 2
    assert report["delivered"] == 0 and report["missing"] == report["expected"] == 8
