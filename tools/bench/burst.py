"""The workshop burst: everyone in a room of learners says hello at once.

Each stage is served as a learner serves it: `python manage.py runserver 127.0.0.1:PORT` (with its
autoreloader) in a copy of the stage folder, after `manage.py migrate` where the stage has a model.
Rooms of 30, 40 and 60 clients each send 3 and 5 messages at once, on Redis core (a throwaway
redis-server; every cell repeated, 3 times by default) and on the in-memory layer (once). Besides
what load.py reports, a thread samples the layer's per-process Redis keys during each run: the
most group messages waiting there at once, and the bytes they took (MEMORY USAGE).

    uv run python tools/bench/burst.py              # full run: results/burst.json + docs tables
    uv run python tools/bench/burst.py --rooms 30 --messages 3 --repeats 1 --layers redis
    uv run python tools/bench/burst.py --from-json tools/bench/results/burst.json

A full run writes tools/bench/results/burst.json and the table between the bench:burst markers of
docs/benchmark.md and docs/benchmark.ko.md; a smaller run prints its table and writes nothing
unless given --out.
"""

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from servers import RedisServer, StageServer  # noqa: E402

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

COMMAND = "uv run python tools/bench/burst.py"
RESULTS = Path(__file__).resolve().parent / "results" / "burst.json"
BEGIN, END = "<!-- bench:burst:begin -->", "<!-- bench:burst:end -->"

BURST_STAGES = ("part3_async", "part4_tests")
PACKAGES = ("django", "channels", "channels-redis", "daphne", "websockets", "redis")
ROOMS = (30, 40, 60)
MESSAGES = (3, 5)
LAYERS = ("redis", "memory")
REPEATS = {"redis": 3, "memory": 1}
# Stop waiting this long after the last delivery, and never later than MAX_SECONDS after the
# burst: far longer than a lossless burst takes here, so "missing" means dropped, not late.
IDLE_TIMEOUT = 3.0
MAX_SECONDS = 60.0

# channels-redis keeps the messages for all the consumers of one server process in one sorted
# set, "asgi" + "specific.<process id>!"; one entry per group message, however many consumers.
PROCESS_KEYS = "asgispecific.*!"
WAITING_SCRIPT = """
local most, bytes = 0, 0
for _, key in ipairs(redis.call('KEYS', ARGV[1])) do
  local n = redis.call('ZCARD', key)
  if n > most then
    most = n
    bytes = redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')
  end
end
return {most, bytes}
"""


class RedisWaiting:
    """A thread that samples the most group messages waiting at once in the layer's process keys,
    and the bytes of that key at that moment, until the block ends."""

    def __init__(self, url, interval=0.005):
        import redis

        self.client = redis.Redis.from_url(url)
        self.script = self.client.register_script(WAITING_SCRIPT)
        self.interval = interval
        self.most = 0
        self.bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._stop.is_set():
            most, size = self.script(args=[PROCESS_KEYS])
            if most > self.most:
                self.most, self.bytes = int(most), int(size)
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)
        self.client.close()


def server_env(redis_url):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


LAYER_PROBE = (
    "from channels.layers import get_channel_layer; import json; layer = get_channel_layer(); "
    "print(json.dumps({'backend': type(layer).__name__, 'capacity': layer.capacity, "
    "'expiry': layer.expiry}))"
)


def layer_settings(workdir, redis_url):
    """The channel layer the stage's own settings build (read through Django, in the copy)."""
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", LAYER_PROBE],
        cwd=workdir,
        env=server_env(redis_url),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def burst(server, clients, messages, redis_url=None):
    """One burst against a started server: load.py's report plus the Redis sampling."""
    quiet(server.proc.pid, timeout=15.0)
    waiting = RedisWaiting(redis_url) if redis_url else contextlib.nullcontext()
    with waiting:
        report = asyncio.run(
            run_load(
                server.ws_url,
                clients=clients,
                messages=messages,
                room=f"burst-{uuid.uuid4().hex[:8]}",  # a new room: part 4 sends no history
                server_pids=[server.proc.pid],
                idle_timeout=IDLE_TIMEOUT,
                max_seconds=MAX_SECONDS,
            )
        )
    report["server_cpu_s"] = round(report["server_cpu_pct"] * report["elapsed_s"] / 100, 2)
    if redis_url:
        report["redis_waiting_most"] = waiting.most
        report["redis_waiting_bytes"] = waiting.bytes
    return report


def run(args):
    started = time.monotonic()
    info = machine(PACKAGES)
    redis, redis_url = None, None
    if args.redis_url:
        redis_url = args.redis_url
    elif "redis" in args.layers:
        redis = RedisServer().start()
        redis_url = redis.url
    targets, servers, runs = [], {}, []
    try:
        for layer in args.layers:
            for stage in args.stages:
                url = redis_url if layer == "redis" else None
                servers[f"{stage}-{layer}"] = StageServer(stage, redis_url=url, reload=True)
                targets.append({"name": f"{stage}-{layer}", "stage": stage, "layer": layer})

        def start(t):
            server = servers[t["name"]].start(timeout=120)
            t.update(layer_settings(server.workdir, server.redis_url))

        # Two at a time: a start costs a few seconds of CPU (migrate, runserver's checks).
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(start, targets))
        print(f"{len(servers)} servers up in {time.monotonic() - started:.0f} s", flush=True)
        repeats = {"redis": args.repeats, "memory": args.memory_repeats}
        for rep in range(max(repeats[layer] for layer in args.layers)):
            for clients in args.rooms:
                for messages in args.messages:
                    for t in targets:
                        if rep >= repeats[t["layer"]]:
                            continue
                        url = redis_url if t["layer"] == "redis" else None
                        report = burst(servers[t["name"]], clients, messages, url)
                        report.update(target=t["name"], round=rep)
                        runs.append(report)
                        print(
                            f"{t['name']:20} {clients:3} x {messages}  {report['delivered']:6}/"
                            f"{report['expected']:<6} dup {report['duplicates']}  p50 "
                            f"{report['p50_ms']} ms  p99 {report['p99_ms']} ms  cpu "
                            f"{report['server_cpu_s']} s  waiting "
                            f"{report.get('redis_waiting_most', '-')}",
                            flush=True,
                        )
    finally:
        for server in servers.values():
            server.stop()
        if redis:
            redis.stop()
    info["elapsed_s"] = round(time.monotonic() - started)
    info["load_after"] = load_average()
    info["idle_timeout_s"] = IDLE_TIMEOUT
    info["max_seconds"] = MAX_SECONDS
    return {"machine": info, "targets": targets, "runs": runs}


def summarise(data):
    """One row per target and cell: totals over its runs, medians of the latencies."""
    rows = []
    for t in data["targets"]:
        cells = sorted(
            {
                (r["clients"], r["messages_per_client"])
                for r in data["runs"]
                if r["target"] == t["name"]
            }
        )
        for clients, messages in cells:
            runs = [
                r
                for r in data["runs"]
                if r["target"] == t["name"]
                and (r["clients"], r["messages_per_client"]) == (clients, messages)
            ]
            most = max(runs, key=lambda r: r.get("redis_waiting_most", -1))
            rows.append(
                {
                    "target": t,
                    "clients": clients,
                    "messages": messages,
                    "runs": len(runs),
                    "expected": runs[0]["expected"],
                    "delivered": sum(r["delivered"] for r in runs),
                    "missing": [r["missing"] for r in runs],
                    "duplicates": sum(r["duplicates"] for r in runs),
                    "connect_failures": sum(r["connect_failures"] for r in runs),
                    "p50": median(runs, "p50_ms"),
                    "p99": median(runs, "p99_ms"),
                    "cpu_s": median(runs, "server_cpu_s"),
                    "waiting": most.get("redis_waiting_most"),
                    "waiting_bytes": most.get("redis_waiting_bytes"),
                }
            )
    order = {layer: i for i, layer in enumerate(LAYERS)}
    rows.sort(key=lambda r: (order[r["target"]["layer"]], r["clients"], r["messages"]))
    return rows


def kilobytes(size):
    return f"{size / 1024:,.0f} kB" if size < 2**20 else f"{size / 2**20:,.1f} MB"


HEADERS = {
    "en": (
        "Layer",
        "Stage (capacity)",
        "Room × messages",
        "Runs",
        "Expected per run",
        "Delivered, all runs",
        "Missing per run",
        "Duplicates",
        "p50 ms",
        "p99 ms",
        "Server CPU s",
        "Most waiting in Redis",
    ),
    "ko": (
        "레이어",
        "단계 (용량)",
        "채팅방 × 메시지",
        "실행 횟수",
        "실행당 예상 전달",
        "전달, 모든 실행",
        "실행별 누락",
        "중복",
        "p50 ms",
        "p99 ms",
        "서버 CPU 초",
        "Redis에서 한꺼번에 기다린 최대 메시지",
    ),
}


def table(rows, lang):
    cells = []
    for row in rows:
        t = row["target"]
        waiting = "–"
        if row["waiting"] is not None:
            waiting = f"{row['waiting']:,} ({kilobytes(row['waiting_bytes'])})"
        missing = ", ".join(f"{m:,}" for m in row["missing"])
        if row["connect_failures"]:
            missing += f" ({row['connect_failures']} not connected)"
        cells.append(
            [
                LAYER_NAMES[t["layer"]][lang],
                f"{t['stage'].split('_')[0]} ({t['capacity']:,})",
                f"{row['clients']} × {row['messages']}",
                str(row["runs"]),
                fmt(row["expected"]),
                f"{fmt(row['delivered'])} / {fmt(row['expected'] * row['runs'])}",
                missing,
                fmt(row["duplicates"]),
                fmt(row["p50"], 1),
                fmt(row["p99"], 1),
                fmt(row["cpu_s"], 2),
                waiting,
            ]
        )
    return markdown_table(HEADERS[lang], cells, left=3)


def results_block(data, rows, lang):
    m = data["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    load = load_text(m)
    idle, most = m["idle_timeout_s"], m["max_seconds"]
    if lang == "en":
        head = (
            f"Measured with `{COMMAND}` on {m['cpu']} ({m['cores']} cores), {m['os']}, Python "
            f"{m['python']}; {versions}. Load average (1/5/15 min) before → after: {load}. The "
            f"run took {m['elapsed_s']} s. Missing = not arrived {idle:.0f} s after the last "
            f"delivery (at most {most:.0f} s after the burst). p50, p99 and CPU are medians over "
            "the runs; the most waiting in Redis is the largest over the runs, and in brackets "
            "what that key took in Redis then."
        )
    else:
        head = (
            f"측정 명령: `{COMMAND}`. 측정 환경: {m['cpu']} ({m['cores']}코어), {m['os']}, "
            f"Python {m['python']}; {versions}. 실행 전 → 후 부하 평균(load average, 1/5/15분): "
            f"{load}. 전체 실행 시간 {m['elapsed_s']}초. 누락 = 마지막 전달 뒤 {idle:.0f}초 "
            f"안에(버스트 뒤 최대 {most:.0f}초) 도착하지 않은 전달. p50, p99, CPU는 여러 실행의 "
            "중앙값입니다. Redis에서 기다린 최대 메시지는 모든 실행 가운데 가장 큰 값이고, 괄호 "
            "안은 그때 그 키가 Redis에서 차지한 크기입니다."
        )
    return "\n".join([BEGIN, "", head, "", table(rows, lang), "", END])


def write_docs(data, rows):
    write_results(BEGIN, END, lambda lang: results_block(data, rows, lang))


def positive_ints(text):
    values = tuple(int(x) for x in text.split(","))
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive whole numbers, got {text!r}")
    return values


def choices(allowed):
    def parse(text):
        values = tuple(text.split(","))
        unknown = [v for v in values if v not in allowed]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(unknown)}; choose from {', '.join(allowed)}"
            )
        return values

    return parse


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stages", type=choices(BURST_STAGES), default=BURST_STAGES)
    parser.add_argument("--layers", type=choices(LAYERS), default=LAYERS)
    parser.add_argument("--rooms", type=positive_ints, default=ROOMS, help="e.g. 30,40,60")
    parser.add_argument("--messages", type=positive_ints, default=MESSAGES, help="per client")
    parser.add_argument("--repeats", type=int, default=REPEATS["redis"], help="runs on Redis")
    parser.add_argument("--memory-repeats", type=int, default=REPEATS["memory"])
    parser.add_argument("--redis-url", help="use this Redis (default: start a redis-server)")
    parser.add_argument("--out", type=Path, help="write the raw results here")
    parser.add_argument("--no-docs", action="store_true", help="do not touch docs/")
    parser.add_argument("--from-json", type=Path, help="re-render the docs from saved results")
    args = parser.parse_args(argv)
    if args.from_json:
        data = json.loads(args.from_json.read_text(encoding="utf-8"))
    else:
        if "redis" in args.layers and not args.redis_url and not shutil.which("redis-server"):
            parser.error("needs redis-server on PATH (or --layers memory)")
        data = run(args)
        full = (
            (args.stages, args.layers, args.rooms, args.messages)
            == (BURST_STAGES, LAYERS, ROOMS, MESSAGES)
            and args.repeats >= REPEATS["redis"]
            and args.memory_repeats >= REPEATS["memory"]
        )
        out = args.out or (RESULTS if full else None)
        if out:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(data, indent=1), encoding="utf-8")
            print(f"raw results: {out}")
        if not full:
            args.no_docs = True
    rows = summarise(data)
    print(table(rows, "en"))
    if not args.no_docs:
        write_docs(data, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
