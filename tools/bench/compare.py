"""The comparison run: sync (part2) vs async (part3) as the stages ship, layer by layer; the two
tuning diffs (tools/bench/tuning/) on part3, alone and together; daphne vs uvicorn; and a bare
`websockets` server as the ceiling, all in one run on loopback.

    uv run --group bench python tools/bench/compare.py            # full run, updates the docs
    uv run --group bench python tools/bench/compare.py --quick    # a fifth of the messages

Every server starts once (from a copy of its stage) and stays up; the scenarios then visit the
servers in turn, with the bare server measured between blocks, so a noisy machine slows every
target alike and the ratios to the bare server hold. Writes tools/bench/results/latest.json, the
results block of docs/benchmark.md and docs/benchmark.ko.md, and docs/img/benchmark.png.
"""

import argparse
import asyncio
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bilingual import Text  # noqa: E402
from servers import RedisServer  # noqa: E402
from stages import ROOT  # noqa: E402

from bench.load import run_load  # noqa: E402
from bench.report import (  # noqa: E402
    LAYER_NAMES,
    fmt,
    load_average,
    load_text,
    machine,
    markdown_table,
    median,
    quiet,
    write_results,
)
from bench.targets import make_server  # noqa: E402

COMMAND = "uv run --group bench python tools/bench/compare.py"
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
PLOT = ROOT / "docs" / "img" / "benchmark.png"
BEGIN, END = "<!-- bench:results:begin -->", "<!-- bench:results:end -->"

SCENARIOS = {
    # 50 clients, 100 messages/s in over the room (2 per client per second) for 10 s:
    # 5,000 deliveries/s out.
    "steady": {"clients": 50, "messages": 20, "rate": 100.0},
    # 20 clients each send 50 messages at once: 1,000 in, 20,000 deliveries out.
    "burst": {"clients": 20, "messages": 50, "rate": None},
}
# After the last send, stop waiting this long after the last delivery, and never wait longer
# than this in all; whatever has not arrived by then counts as missing.
IDLE_TIMEOUT = 2.0
GRACE = {"steady": 6.0, "burst": 15.0}

LAYERS = ("memory", "redis", "pubsub")
PACKAGES = ("django", "channels", "channels-redis", "daphne", "uvicorn", "websockets", "redis")
# The tuning diffs, for labels (see tools/bench/tuning/ and docs/benchmark.md).
TUNING_LABELS = {
    "dispatch": Text("dispatch override", "dispatch 재정의"),
    "capacity": Text("capacity 1,500", "용량 1,500"),
}
BOTH = ("dispatch", "capacity")


def target(stage, server, layer, tuning=(), **extra):
    short = {"part2_groups": "part2", "part3_async": "part3"}[stage]
    name = f"{short}-{server}-{layer}" + "".join(f"+{t}" for t in tuning)
    if extra.get("workers"):
        name += f"-{extra['workers']}workers"
    spec = {"name": name, "stage": stage, "server": server, "layer": layer, **extra}
    if tuning:
        spec["tuning"] = list(tuning)
    return spec


def targets(servers, sync_everywhere=False):
    """Blocks of targets. The stages as they ship run under daphne, their own runserver; the
    tuning diffs are measured on part3 · Redis core alone and together, and together on the other
    layers (pub/sub has no capacity: the dispatch diff alone). Other servers run part3 tuned, and
    part2 as it ships only if sync_everywhere (its one sync thread, not the server, bounds it)."""
    blocks = []
    if "daphne" in servers:
        for stage in ("part2_groups", "part3_async"):
            blocks.append([target(stage, "daphne", layer) for layer in LAYERS])
        blocks.append(
            [
                target("part3_async", "daphne", "redis", tuning=tuning)
                for tuning in (("dispatch",), ("capacity",), BOTH)
            ]
        )
        blocks.append(
            [
                target("part3_async", "daphne", "memory", tuning=BOTH),
                target("part3_async", "daphne", "pubsub", tuning=("dispatch",)),
            ]
        )
    for server in servers:
        if server == "daphne":
            continue
        tuned = {layer: ("dispatch",) if layer == "pubsub" else BOTH for layer in LAYERS}
        blocks.append([target("part3_async", server, layer, tuned[layer]) for layer in LAYERS])
        if sync_everywhere:
            blocks.append([target("part2_groups", server, layer) for layer in LAYERS])
    return blocks


def measure(server, redis, scenario, room, quick):
    quiet(server.proc.pid, timeout=10.0)
    spec = dict(SCENARIOS[scenario])
    if quick:
        spec["messages"] = max(2, spec["messages"] // 5)
    send_s = spec["messages"] * spec["clients"] / spec["rate"] if spec["rate"] else 0.0
    extra = [redis.proc.pid] if redis else []
    coro = run_load(
        server.ws_url,
        clients=spec["clients"],
        messages=spec["messages"],
        rate=spec["rate"],
        room=room,
        server_pids=[server.proc.pid],
        extra_pids=extra,
        idle_timeout=IDLE_TIMEOUT,
        max_seconds=send_s + GRACE[scenario],
    )
    try:
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coro)
    except ImportError:
        return asyncio.run(coro)


def run(args):
    started = time.monotonic()
    blocks = targets(args.servers, args.sync_everywhere)
    if args.only:
        blocks = [[t for t in b if re.search(args.only, t["name"])] for b in blocks]
        blocks = [b for b in blocks if b]
    info = machine(PACKAGES)
    redis = RedisServer().start()
    parent = tempfile.mkdtemp(prefix="bench-")
    servers = {}
    results = []
    try:
        everything = [{"name": "bare", "server": "bare"}] + [t for b in blocks for t in b]
        # Start servers two at a time (a start costs ~3.5 s of CPU on this machine).
        with ThreadPoolExecutor(2) as pool:
            made = {t["name"]: make_server(t, redis.url, parent) for t in everything}
            for name, server in zip(
                made, pool.map(lambda s: s.start(timeout=120), made.values()), strict=True
            ):
                servers[name] = server
        print(f"{len(servers)} servers up in {time.monotonic() - started:.0f} s", flush=True)
        for rnd in range(args.rounds):
            for scenario in SCENARIOS:
                for block in blocks:
                    # The bare server between blocks: the ceiling measured close in time.
                    for t in [{"name": "bare", "server": "bare"}] + block:
                        server = servers[t["name"]]
                        room = f"{t['name']}-{scenario}-{rnd}"
                        report = measure(server, redis, scenario, room, args.quick)
                        report.update(target=t["name"], scenario=scenario, round=rnd)
                        results.append(report)
                        print(
                            f"{scenario:6} {t['name']:34} {report['delivered']:6}/"
                            f"{report['expected']:<6} p50 {report['p50_ms']} ms  p99 "
                            f"{report['p99_ms']} ms  cpu {report['server_cpu_pct']}%",
                            flush=True,
                        )
    finally:
        for server in servers.values():
            server.stop()
        redis.stop()
        shutil.rmtree(parent, ignore_errors=True)
    info["elapsed_s"] = round(time.monotonic() - started)
    info["load_after"] = load_average()
    info["grace_s"] = GRACE
    info["quick"] = args.quick
    all_targets = [{"name": "bare", "server": "bare"}] + [t for b in blocks for t in b]
    return {"machine": info, "targets": all_targets, "runs": results}


def summarise(data):
    """One row per target: medians over its runs, per scenario, plus the ratio to bare."""
    rows = []
    bare = {
        s: [r for r in data["runs"] if r["target"] == "bare" and r["scenario"] == s]
        for s in SCENARIOS
    }
    bare_p99 = {
        s: statistics.median([r["p99_ms"] for r in runs if r["p99_ms"]] or [0])
        for s, runs in bare.items()
    }
    for t in data["targets"]:
        row = {"target": t}
        for s in SCENARIOS:
            runs = [r for r in data["runs"] if r["target"] == t["name"] and r["scenario"] == s]
            if not runs:
                continue

            delivered = sum(r["delivered"] for r in runs)
            expected = sum(r["expected"] for r in runs)
            cpu_s = sum(
                r["server_cpu_pct"] * r["elapsed_s"] / 100
                for r in runs
                if r["server_cpu_pct"] is not None
            )
            row[s] = {
                "delivered": delivered,
                "expected": expected,
                "delivered_pct": 100 * delivered / expected if expected else 0,
                "rate": median(runs, "deliveries_per_s"),
                "p50": median(runs, "p50_ms"),
                "p99": median(runs, "p99_ms"),
                "cpu_pct": median(runs, "server_cpu_pct"),
                "rss": median(runs, "server_rss_mb"),
                "us_per_delivery": 1e6 * cpu_s / delivered if delivered else None,
                "p99_vs_bare": (median(runs, "p99_ms") / bare_p99[s])
                if bare_p99[s] and median(runs, "p99_ms")
                else None,
            }
        rows.append(row)
    return rows


def label(t, lang="en"):
    if t["server"] == "bare":
        return "bare websockets" if lang == "en" else "websockets 단독 서버"
    text = f"{t['stage'].split('_')[0]} · {t['server']} · {LAYER_NAMES[t['layer']][lang]}"
    for name in t.get("tuning", []):
        text += " + " + TUNING_LABELS[name][lang]
    if t.get("workers"):
        text += f" · {t['workers']} workers" if lang == "en" else f" · 워커 {t['workers']}개"
    return text


HEADERS = {
    "en": (
        "Target",
        "Steady: delivered",
        "deliveries/s",
        "p50 ms",
        "p99 ms",
        "p99 ÷ bare",
        "server CPU",
        "CPU µs/delivery",
        "RSS MB",
        "Burst: delivered",
        "burst p99 ms",
    ),
    "ko": (
        "대상",
        "정상 상태: 전달률",
        "초당 전달",
        "p50 ms",
        "p99 ms",
        "p99 ÷ 단독 서버",
        "서버 CPU",
        "전달당 CPU µs",
        "RSS MB",
        "버스트: 전달률",
        "버스트 p99 ms",
    ),
}


def table(rows, lang):
    cells = []
    for row in rows:
        st, bu = row.get("steady", {}), row.get("burst", {})

        def pct(d):
            return f"{d['delivered_pct']:.1f}%" if d else "–"

        ratio = st.get("p99_vs_bare")
        cells.append(
            [
                label(row["target"], lang),
                pct(st),
                fmt(st.get("rate")),
                fmt(st.get("p50"), 1),
                fmt(st.get("p99"), 1),
                f"{ratio:.1f}×" if ratio else "–",
                f"{fmt(st.get('cpu_pct'))}%",
                fmt(st.get("us_per_delivery")),
                fmt(st.get("rss")),
                pct(bu),
                fmt(bu.get("p99"), 1),
            ]
        )
    return markdown_table(HEADERS[lang], cells)


def results_block(data, rows, lang):
    m = data["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    load = load_text(m)
    if lang == "en":
        head = (
            f"Measured on {m['cpu']} ({m['cores']} cores), {m['os']}, Python {m['python']}; "
            f"{versions}. Load average (1/5/15 min) before → after the run: {load}. The run took "
            f"{m['elapsed_s']} s."
        )
        alt = "Steady-room p99 latency and delivered share per target"
    else:
        head = (
            f"측정 환경: {m['cpu']} ({m['cores']}코어), {m['os']}, Python {m['python']}; "
            f"{versions}. 실행 전 → 후 부하 평균(load average, 1/5/15분): {load}. 전체 실행 시간 "
            f"{m['elapsed_s']}초."
        )
        alt = "대상별 정상 상태 p99 지연 시간과 전달률"
    grace = m.get("grace_s", {"steady": 6.0, "burst": 6.0})  # runs before grace_s was saved
    if lang == "en":
        head += (
            f" Missing = not arrived {grace['steady']:.0f} s (steady) or "
            f"{grace['burst']:.0f} s (burst) after the sending ended."
        )
    else:
        head += (
            f" 누락 = 보내기를 마친 뒤 {grace['steady']:.0f}초(정상 상태) 또는 "
            f"{grace['burst']:.0f}초(버스트) 안에 도착하지 않은 전달."
        )
    if m.get("quick"):
        head += " (--quick)"
    if m.get("note", {}).get(lang):
        head += " " + m["note"][lang]
    return "\n".join(
        [BEGIN, "", head, "", table(rows, lang), "", f"![{alt}](img/benchmark.png)", "", END]
    )


def plot(rows):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [label(r["target"]) for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(15, 0.42 * len(rows) + 1.8), sharey=True)
    y = list(range(len(rows)))[::-1]
    p99 = [r.get("steady", {}).get("p99") or 0 for r in rows]

    def color(t):
        if t["server"] == "bare":
            return "#6a6a6a"
        if t["stage"] == "part2_groups":
            return "#d08c2b"
        if t.get("tuning"):
            return "#2f855a"  # part3 with one or both tuning diffs
        return "#2b6cb0"

    colors = [color(r["target"]) for r in rows]
    axes[0].barh(y, p99, color=colors)
    axes[0].set_xscale("log")
    axes[0].set_title("steady room: p99 latency (ms, log)")
    for key, ax, title in (
        ("steady", axes[1], "steady room: delivered %"),
        ("burst", axes[2], "burst: delivered %"),
    ):
        ax.barh(y, [r.get(key, {}).get("delivered_pct", 0) for r in rows], color=colors)
        ax.set_xlim(0, 100)
        ax.set_title(title)
    axes[0].set_yticks(y, names, fontsize=8)
    for ax in axes:
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(
        "Django Channels chat: 50 clients x 100 msg/s in (steady), 20 x 50 at once "
        "(burst); grey = bare, orange = part2 sync, blue = part3 async as it ships, "
        "green = part3 with tuning diffs",
        fontsize=10,
    )
    fig.tight_layout()
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(PLOT, dpi=110)
    # The Korean site (mkdocs-static-i18n suffix layout, no fallback) needs its own copy; the
    # labels stay in English, since a Hangul font cannot be assumed.
    fig.savefig(PLOT.with_name("benchmark.ko.png"), dpi=110)
    plt.close(fig)


def write_docs(data, rows):
    write_results(BEGIN, END, lambda lang: results_block(data, rows, lang))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--servers",
        type=lambda s: s.split(","),
        default=["daphne", "uvicorn"],
        help="comma-separated: daphne,uvicorn",
    )
    parser.add_argument(
        "--sync-everywhere",
        action="store_true",
        help="also run part2 under every server, not only daphne",
    )
    parser.add_argument("--only", help="regex on target names (bare always runs)")
    parser.add_argument("--quick", action="store_true", help="a fifth of the messages")
    parser.add_argument("--no-docs", action="store_true", help="do not touch docs/")
    parser.add_argument("--from-json", type=Path, help="re-render docs from saved results")
    args = parser.parse_args(argv)
    if args.from_json:
        data = json.loads(args.from_json.read_text())
    else:
        data = run(args)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        out = RESULTS if not (args.quick or args.only) else RESULTS.with_name("partial.json")
        out.write_text(json.dumps(data, indent=1))
        print(f"raw results: {out.relative_to(ROOT)}")
    rows = summarise(data)
    print(table(rows, "en"))
    if not args.no_docs:
        plot(rows)
        write_docs(data, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
