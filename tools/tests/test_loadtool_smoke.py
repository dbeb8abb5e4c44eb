"""The benchmark's tools, run small: the load tool counts every stamped message, the tuning diffs
the docs show apply to part3 and the tuned copy serves the chat, and the docs quote the table."""

import re

import pytest
from bench.compare import BEGIN, BOTH, END, target, targets
from bench.load import REPORT_FIELDS, run_load
from bench.targets import TUNING, BareServer, make_server, tuned_copy
from stages import ROOT
from unified_diff import apply_to_folder

pytestmark = pytest.mark.slow  # see pyproject: `uv run pytest -m slow`


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
async def test_load_tool_against_part3_with_both_tuning_diffs(tmp_path):
    server = make_server(target("part3_async", "daphne", "memory", BOTH), None, tmp_path)
    consumers = (server.workdir / "chat" / "consumers.py").read_text()
    assert "async def dispatch" in consumers  # the copy is tuned; the stage is not
    assert "async def dispatch" not in (ROOT / "part3_async/chat/consumers.py").read_text()
    server.start()
    try:
        report = await run_load(
            server.ws_url, clients=3, messages=5, server_pids=[server.proc.pid], max_seconds=8
        )
        check(report, 3, 5)
    finally:
        server.stop()


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


def test_every_target_of_a_full_run_can_be_built(tmp_path):
    """Each stage copy of `compare.py`'s full run, tuned as its target says (not started)."""
    blocks = targets(["daphne", "uvicorn"], sync_everywhere=True)
    everything = [t for block in blocks for t in block]
    servers = {t["name"]: make_server(t, "redis://127.0.0.1:9/0", tmp_path) for t in everything}
    assert len(servers) == len(everything)  # no two targets share a name (or a folder)
    for t in everything:
        consumer = (servers[t["name"]].workdir / "chat" / "consumers.py").read_text()
        assert ("async def dispatch" in consumer) == ("dispatch" in t.get("tuning", [])), t


def test_a_tuning_diff_that_no_longer_matches_is_refused(tmp_path):
    workdir = tuned_copy("part3_async", tmp_path, tuning=("dispatch",))
    with pytest.raises(ValueError, match="does not match"):
        # already applied: no match
        apply_to_folder(TUNING["dispatch"].read_text(), workdir, "part3_async")


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_docs_include_the_diffs_and_quote_the_benchmark_table(lang):
    suffix = ".md" if lang == "en" else ".ko.md"
    benchmark = (ROOT / "docs" / f"benchmark{suffix}").read_text()
    choosing = (ROOT / "docs" / f"choosing-a-layer{suffix}").read_text()
    for text in (benchmark, choosing):
        for diff in TUNING.values():
            assert f'--8<-- "{diff.relative_to(ROOT).as_posix()}"' in text
    table = benchmark.split(BEGIN)[1].split(END)[0]
    quoted = set(re.findall(r"\d+\.\d%", choosing))
    assert quoted and quoted <= set(re.findall(r"\d+\.\d%", table))
