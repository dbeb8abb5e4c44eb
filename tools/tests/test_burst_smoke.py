"""The workshop-burst scenario (tools/bench/burst.py): run small, it serves part 4 as a learner
does on both layers, counts every delivery, reads the capacity through Django and samples what
waits in Redis; and the docs' table is the one the recorded results render."""

import json

import pytest
from bench import burst
from bench.report import DOCS
from stages import ROOT


def test_the_docs_show_the_recorded_burst_results():
    data = json.loads(burst.RESULTS.read_text(encoding="utf-8"))
    rows = burst.summarise(data)
    for lang, path in DOCS.items():
        text = path.read_text(encoding="utf-8")
        assert burst.results_block(data, rows, lang) in text, (
            f"{path.relative_to(ROOT)}: the burst table differs from {burst.RESULTS.name}; "
            f"re-render it: {burst.COMMAND} --from-json {burst.RESULTS.relative_to(ROOT)}"
        )


@pytest.mark.slow
def test_the_waiting_sampler_sees_a_process_key(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    key = "asgispecific.smoke!"
    try:
        client.zadd(key, {b"a": 1, b"b": 2, b"c": 3})
        client.zadd("asgi:group:smoke", {b"x": 1, b"y": 2, b"z": 3, b"w": 4})  # not a process key
        with burst.RedisWaiting(redis_url) as waiting:
            burst.time.sleep(0.1)
        assert waiting.most == 3 and waiting.bytes > 0
    finally:
        client.delete(key, "asgi:group:smoke")
        client.close()


@pytest.mark.slow
def test_a_tiny_burst_on_both_layers(redis_url, tmp_path):
    out = tmp_path / "burst.json"
    argv = ["--stages", "part4_tests", "--rooms", "3", "--messages", "2", "--repeats", "1"]
    assert burst.main([*argv, "--redis-url", redis_url, "--out", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    # Read through Django from the stage's settings: part 4 raises Channels' default of 100
    capacity = {t["layer"]: t["capacity"] for t in data["targets"]}
    assert capacity.keys() == {"redis", "memory"} and min(capacity.values()) > 100
    assert len(data["runs"]) == 2
    for run in data["runs"]:
        assert run["expected"] == run["delivered"] == 3 * 3 * 2, run
        assert run["missing"] == run["duplicates"] == run["connect_failures"] == 0
        assert run["p50_ms"] <= run["p99_ms"] and run["server_cpu_s"] > 0
    assert {"redis_waiting_most", "redis_waiting_bytes"} <= set(data["runs"][0])
    table = burst.table(burst.summarise(data), "en")
    row = f"| Redis core | part4 ({capacity['redis']:,}) | 3 × 2 | 1 | 18 | 18 / 18 | 0 | 0 |"
    assert row in table
