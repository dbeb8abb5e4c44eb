"""What every benchmark run records and writes the same way: the machine it ran on, a wait until a
server is idle, medians, number formats, Markdown tables, and the results block between two
markers in docs/benchmark.md and docs/benchmark.ko.md.
"""

import contextlib
import os
import platform
import shutil
import statistics
import subprocess
import time
from importlib import metadata
from pathlib import Path

import psutil
from bilingual import Text
from stages import ROOT

DOCS = {"en": ROOT / "docs" / "benchmark.md", "ko": ROOT / "docs" / "benchmark.ko.md"}

LAYER_NAMES = {
    "memory": Text("in-memory", "인메모리"),
    "redis": Text("Redis core", "Redis 코어"),
    "pubsub": Text("Redis pub/sub", "Redis pub/sub"),
}


def machine(packages):
    """The CPU, OS, Python, the versions of `packages` and redis-server, and the load average."""
    cpu = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {name: metadata.version(name) for name in packages}
    words = ""
    if shutil.which("redis-server"):
        words = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
    versions["redis-server"] = next(
        (w.split("=", 1)[1] for w in words.split() if w.startswith("v=")), "?"
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "versions": versions,
        "load_before": load_average(),
    }


def load_average():
    return os.getloadavg() if hasattr(os, "getloadavg") else None


def tree_cpu(pid):
    """CPU seconds of a process and all its children (runserver's autoreloader and its server)."""
    total = 0.0
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
    return total


def quiet(pid, timeout, limit=0.15, window=0.3):
    """Wait (at most timeout s) until the server has worked off the previous run's backlog."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = tree_cpu(pid)
        time.sleep(window)
        if tree_cpu(pid) - before < limit * window:
            return


def median(runs, key):
    """The median of runs' values for key (those that have one), or None."""
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def fmt(value, digits=0):
    """A number with thousands separators, or a dash for none."""
    return "–" if value is None else f"{value:,.{digits}f}"


def markdown_table(headers, rows, left=1):
    """A Markdown table; the first `left` columns left-aligned, the others right-aligned."""
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "---|" * left + "---:|" * (len(headers) - left),
    ]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def load_text(m):
    """The load average before (→ after) the run, as the results blocks print it."""
    if not m.get("load_before"):
        return "?"
    load = " / ".join(f"{x:.1f}" for x in m["load_before"])
    if m.get("load_after"):
        load += " → " + " / ".join(f"{x:.1f}" for x in m["load_after"])
    return load


def write_results(begin, end, block):
    """Replace what stands between the markers begin and end in each language's benchmark page
    with block(lang) (markers included)."""
    for lang, path in DOCS.items():
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        if begin not in text or end not in text:
            print(f"{path} has no {begin} ... {end} block; not writing")
            continue
        before, rest = text.split(begin, 1)
        after = rest.split(end, 1)[1]
        path.write_text(before + block(lang) + after, encoding="utf-8")
