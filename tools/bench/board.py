"""The classroom board under a whole room: 30 learners report 4 checkpoints each, all at once.

The board runs as the instructor starts it (tools/board.py, here on 127.0.0.1). Each learner is a
thread that sends its four reports in stage order with the checker's own sender
(board_report.send; the reports made by board_site.simulate, as check.py --report makes them).
Board pages are WebSocket clients (3 by default) that note when each update arrives. The update
latency is the time from just before a report is sent to its update arriving at a page (the
pages run in a process of their own); the report round trip is the time until the board has
answered the learner.

    uv run python tools/bench/board.py               # results/board.json + the docs' tables
    uv run python tools/bench/board.py --rounds 1 --learners 10

A full run (the defaults) writes tools/bench/results/board.json and the table between the
bench:board markers of docs/benchmark.md and docs/benchmark.ko.md; any other run prints its
numbers and writes nothing unless given --out.
"""

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import board_report  # noqa: E402
from board_site.simulate import BoardProcess, classroom, page_socket  # noqa: E402
from stages import ROOT, STAGES  # noqa: E402

from bench.report import machine, write_results  # noqa: E402

RESULTS = ROOT / "tools" / "bench" / "results" / "board.json"
PACKAGES = ("django", "channels", "daphne", "websockets")
BEGIN, END = "<!-- bench:board:begin -->", "<!-- bench:board:end -->"
DEFAULTS = {"learners": 30, "rounds": 5, "pages": 3}


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def watch(address, pages, expected, ready):
    """Board pages: {(name, stage): arrival time} per page, once each saw `expected` updates (or
    10 s passed without one). ready() is called when every page has its state."""
    sockets = []
    for _ in range(pages):
        ws = await page_socket(address, max_size=None)
        json.loads(await ws.recv())  # the state, before any report of this round
        sockets.append(ws)
    ready()

    async def listen(ws):
        seen = {}
        while len(seen) < expected:
            try:
                update = json.loads(await asyncio.wait_for(ws.recv(), 10))
            except TimeoutError:
                break
            seen[(update["row"]["name"], update["stage"])] = time.perf_counter()
        await ws.close()
        return seen

    return await asyncio.gather(*(listen(ws) for ws in sockets))


def pages_process(address, pages, expected, pipe):
    """The pages in a process of their own, as on the instructor's laptop: the learners' threads
    do not hold up their reading. perf_counter is the system's monotonic clock on Linux, macOS
    and Windows, so its times compare with the sender's."""
    arrived = asyncio.run(watch(address, pages, expected, lambda: pipe.send("ready")))
    pipe.send([[[list(key), at] for key, at in seen.items()] for seen in arrived])


def one_round(board, reports, pages):
    parent, child = multiprocessing.Pipe()
    watcher = multiprocessing.Process(
        target=pages_process, args=(board.address, pages, len(reports), child)
    )
    watcher.start()
    assert parent.poll(30) and parent.recv() == "ready", "the pages did not open"
    sent, answered, failures = {}, {}, []

    def learner(own):
        for name, stage, report in own:
            sent[(name, stage)] = time.perf_counter()
            delivered, why = board_report.send(board.address, report)
            answered[(name, stage)] = time.perf_counter()
            if not delivered:
                failures.append(f"{name} {stage}: {why.en}")

    by_learner = {}
    for entry in reports:
        by_learner.setdefault(entry[0], []).append(entry)
    started = time.perf_counter()
    with ThreadPoolExecutor(len(by_learner)) as pool:
        list(pool.map(learner, by_learner.values()))
    elapsed = time.perf_counter() - started
    assert parent.poll(60), "the pages did not finish"
    arrived = [{tuple(key): at for key, at in seen} for seen in parent.recv()]
    watcher.join(10)
    latencies = [seen[key] - sent[key] for seen in arrived for key in seen]
    trips = [answered[key] - sent[key] for key in sent]
    return {
        "expected": len(reports) * pages,
        "shown": sum(len(seen) for seen in arrived),
        "refused": failures,
        "elapsed_s": round(elapsed, 3),
        "latencies": latencies,
        "round_trips": trips,
    }


def run(args):
    board = BoardProcess(code="BENCH2").start()
    rounds = []
    try:
        for number in range(args.rounds):
            # A new room each round: no learner reaches the rate limit, and nothing is cached.
            reports = classroom(board.code, args.learners, seed=number, suffix=f" r{number}")
            rounds.append(one_round(board, reports, args.pages))
            time.sleep(1)
    finally:
        board.stop()
        board.remove_log()
    latencies = [x for r in rounds for x in r["latencies"]]
    trips = [x for r in rounds for x in r["round_trips"]]

    def ms(values, p):
        return round(percentile(values, p) * 1000, 1)

    info = machine(PACKAGES)
    info["versions"].pop("redis-server", None)  # the board runs on the in-memory layer
    return {
        "machine": info,
        "learners": args.learners,
        "stages": len(STAGES),
        "rounds": args.rounds,
        "pages": args.pages,
        "reports_per_round": args.learners * len(STAGES),
        "expected": sum(r["expected"] for r in rounds),
        "shown": sum(r["shown"] for r in rounds),
        "refused": sum(len(r["refused"]) for r in rounds),
        "round_elapsed_s": [r["elapsed_s"] for r in rounds],
        "update_p50_ms": ms(latencies, 50),
        "update_p99_ms": ms(latencies, 99),
        "update_max_ms": round(max(latencies) * 1000, 1),
        "report_p50_ms": ms(trips, 50),
        "report_p99_ms": ms(trips, 99),
        "samples": len(latencies),
        "mean_ms": round(statistics.mean(latencies) * 1000, 1),
    }


WORDS = {
    "en": {
        "head": "| Learners × checkpoints | Rounds | Pages | Updates shown | Refused "
        "| Update p50 ms | Update p99 ms | Update max ms | Report answered p50 / p99 ms "
        "| Round took s |",
        "measured": "Measured with `uv run python tools/bench/board.py` on {cpu} ({cores} cores), "
        "{os}, Python {python}; {versions}. Load average (1/5/15 min) before the run: {load}.",
    },
    "ko": {
        "head": "| 학습자 × 체크포인트 | 반복 횟수 | 페이지 | 표시된 업데이트 | 거부 "
        "| 업데이트 p50 ms | 업데이트 p99 ms | 업데이트 최대 ms | 보고 응답 p50 / p99 ms "
        "| 반복별 걸린 시간(초) |",
        "measured": "`uv run python tools/bench/board.py`로 측정했습니다. {cpu}({cores}코어), "
        "{os}, Python {python}; {versions}. 실행 전 부하 평균(1/5/15분): {load}.",
    },
}


def table(data, lang):
    words = WORDS[lang]
    info = data["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    load = " / ".join(f"{x:.1f}" for x in info["load_before"]) if info["load_before"] else "?"
    measured = words["measured"].format(
        cpu=info["cpu"],
        cores=info["cores"],
        os=info["os"],
        python=info["python"],
        versions=versions,
        load=load,
    )
    took = ", ".join(f"{s:.2f}" for s in data["round_elapsed_s"])
    row = (
        f"| {data['learners']} × {data['stages']} | {data['rounds']} | {data['pages']} "
        f"| {data['shown']:,} / {data['expected']:,} | {data['refused']} "
        f"| {data['update_p50_ms']} | {data['update_p99_ms']} | {data['update_max_ms']} "
        f"| {data['report_p50_ms']} / {data['report_p99_ms']} | {took} |"
    )
    separator = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    return "\n".join(["", measured, "", words["head"], separator, row, ""])


def write_docs(data):
    write_results(BEGIN, END, lambda lang: BEGIN + table(data, lang) + END)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=DEFAULTS["learners"])
    parser.add_argument("--rounds", type=int, default=DEFAULTS["rounds"])
    parser.add_argument("--pages", type=int, default=DEFAULTS["pages"])
    parser.add_argument("--out", type=Path, help="write the results JSON here")
    parser.add_argument(
        "--from-json", type=Path, help="render the docs' tables from a results file"
    )
    args = parser.parse_args(argv)
    if args.from_json:
        data = json.loads(args.from_json.read_text(encoding="utf-8"))
        write_docs(data)
        print(table(data, "en"))
        return 0
    data = run(args)
    full = all(getattr(args, key) == value for key, value in DEFAULTS.items())
    out = args.out or (RESULTS if full else None)
    if out:
        out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if full:
        write_docs(data)
    print(table(data, "en"))
    return 0 if data["shown"] == data["expected"] and not data["refused"] else 1


if __name__ == "__main__":
    sys.exit(main())
