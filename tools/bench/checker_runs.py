"""The checker against the reference stages, many times in a row: does it ever fail correct code,
and how long does each stage's check take?

Each run is a learner's command, `python tools/check.py STAGE STAGE --json`, under the Python that
runs this script, with REDIS_URL naming a redis-server of its own on a free loopback port. The
stages take turns, round after round, and the 1-minute load average is noted at every run: other
work on the machine lengthens the timings, so under load they are upper bounds.

    uv run python tools/bench/checker_runs.py              # 20 rounds: results + docs tables
    nice /tmp/v312/bin/python tools/bench/checker_runs.py  # the same under another Python
    uv run python tools/bench/checker_runs.py --runs 2 --stages part4_tests
    uv run python tools/bench/checker_runs.py --from-json tools/bench/results/checker_runs.json

A full run merges its Python's entry into tools/bench/results/checker_runs.json (the entries of
other Pythons stay) and writes the table between the bench:checker-runs markers of
docs/benchmark.md and docs/benchmark.ko.md; a smaller run prints its table and writes nothing
unless given --out.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from check import render  # noqa: E402
from servers import RedisServer  # noqa: E402
from stages import ROOT, STAGES  # noqa: E402

from bench.burst import PACKAGES, choices  # noqa: E402
from bench.report import machine, write_results  # noqa: E402

COMMAND = "python tools/bench/checker_runs.py"
RESULTS = Path(__file__).resolve().parent / "results" / "checker_runs.json"
BEGIN, END = "<!-- bench:checker-runs:begin -->", "<!-- bench:checker-runs:end -->"
RUNS = 20
TIMEOUT = 300  # seconds for one check


def load1():
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def check_once(stage, redis_url):
    """One checker run on the reference stage: exit code, seconds, and what it printed."""
    env = {**os.environ, "REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, str(ROOT / "tools" / "check.py"), stage, str(ROOT / stage)]
    started = time.monotonic()
    try:
        done = subprocess.run(
            [*command, "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=TIMEOUT,
        )
        code, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as expired:
        code, out, err = None, "", f"(timed out after {TIMEOUT} s) {expired.stderr or ''}"
    seconds = round(time.monotonic() - started, 2)
    try:
        shown = render(json.loads(out), "en")
    except ValueError:
        shown = out
    return code, seconds, "\n".join(part for part in (shown, err.strip()) if part)


def run(stages, runs, redis_port=None):
    info = machine(PACKAGES)
    redis = RedisServer(redis_port).start()
    started = time.monotonic()
    results = {
        s: {"runs": 0, "passes": 0, "seconds": [], "load": [], "first_failure": None}
        for s in stages
    }
    try:
        for number in range(1, runs + 1):
            for stage in stages:
                load = load1()
                code, seconds, output = check_once(stage, redis.url)
                r = results[stage]
                r["runs"] += 1
                r["passes"] += code == 0
                r["seconds"].append(seconds)
                r["load"].append(load)
                if code != 0 and r["first_failure"] is None:
                    r["first_failure"] = {"run": number, "exit_code": code, "output": output}
                print(
                    f"{number:3} {stage:13} {'pass' if code == 0 else f'FAIL ({code})':9} "
                    f"{seconds:6.1f} s  load {load}",
                    flush=True,
                )
    finally:
        redis.stop()
    for r in results.values():
        r["median_s"] = round(statistics.median(r["seconds"]), 1)
        r["max_s"] = round(max(r["seconds"]), 1)
    info["elapsed_s"] = round(time.monotonic() - started)
    info["load_after"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    info["date"] = time.strftime("%Y-%m-%d")
    return {"machine": info, "stages": results}


def python_key(entry):
    return ".".join(entry["machine"]["python"].split(".")[:2])


HEADERS = {
    "en": ("Python", "Stage", "Passed", "Median s", "Max s", "Load (1 min) at the runs"),
    "ko": ("Python", "단계", "통과", "중앙값(초)", "최댓값(초)", "실행 때 부하(1분)"),
}


def table(data, lang):
    lines = ["| " + " | ".join(HEADERS[lang]) + " |", "|---|---|---:|---:|---:|---|"]
    for key in sorted(data, key=lambda k: tuple(int(x) for x in k.split("."))):
        for stage, r in data[key]["stages"].items():
            loads = [x for x in r["load"] if x is not None]
            span = f"{min(loads):.1f}–{max(loads):.1f}" if loads else "?"
            cells = [
                data[key]["machine"]["python"],
                stage,
                f"{r['passes']} / {r['runs']}",
                f"{r['median_s']:.1f}",
                f"{r['max_s']:.1f}",
                span,
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def results_block(data, lang):
    m = next(iter(data.values()))["machine"]
    dates = sorted({entry["machine"]["date"] for entry in data.values()})
    if lang == "en":
        head = (
            f"Measured with `nice {COMMAND}` (under each Python's own environment) on {m['cpu']} "
            f"({m['cores']} cores), {m['os']}, redis-server {m['versions']['redis-server']}, on "
            f"{', '.join(dates)}. Seconds are the whole command, from start to exit. The load "
            "column is the 1-minute load average as each run began: the previous check's own "
            "processes count in it, and above 2 other work shared the machine, so read the "
            "times as upper bounds."
        )
    else:
        head = (
            f"측정 명령: `nice {COMMAND}`(Python마다 그 Python의 환경에서). 측정 환경: {m['cpu']} "
            f"({m['cores']}코어), {m['os']}, redis-server {m['versions']['redis-server']}, 측정일 "
            f"{', '.join(dates)}. 시간은 명령 전체(시작부터 끝날 때까지)입니다. 부하 열은 실행마다 "
            "시작할 때의 1분 부하 평균으로, 바로 앞 검사의 프로세스도 들어 있습니다. 2를 넘으면 "
            "다른 작업이 컴퓨터를 함께 썼다는 뜻이므로 시간은 상한으로 읽으세요."
        )
    return "\n".join([BEGIN, "", head, "", table(data, lang), "", END])


def write_docs(data):
    write_results(BEGIN, END, lambda lang: results_block(data, lang))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=RUNS, help="rounds: each stage once a round")
    parser.add_argument("--stages", type=choices(STAGES), default=tuple(STAGES))
    parser.add_argument("--redis-port", type=int, help="the redis-server's port (default: free)")
    parser.add_argument("--out", type=Path, help="merge the results into this file")
    parser.add_argument("--no-docs", action="store_true", help="do not touch docs/")
    parser.add_argument("--from-json", type=Path, help="re-render the docs from saved results")
    args = parser.parse_args(argv)
    if args.from_json:
        data = json.loads(args.from_json.read_text(encoding="utf-8"))
    else:
        if args.runs < 1:
            parser.error("--runs must be at least 1")
        entry = run(args.stages, args.runs, args.redis_port)
        full = args.runs >= RUNS and args.stages == tuple(STAGES)
        out = args.out or (RESULTS if full else None)
        data = {python_key(entry): entry}
        if out:
            saved = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
            data = {**saved, **data}
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
            print(f"results for Python {python_key(entry)}: {out}")
        if not full:
            args.no_docs = True
        for stage, r in entry["stages"].items():
            if r["first_failure"]:
                print(f"\nfirst failure of {stage} (run {r['first_failure']['run']}):")
                print(r["first_failure"]["output"])
    print(table(data, "en"))
    if not args.no_docs:
        write_docs(data)
    failed = any(r["passes"] < r["runs"] for e in data.values() for r in e["stages"].values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
