"""Load a chat room: N WebSocket clients in one room, each sending M stamped messages.

Every message text carries (sender id, seq, send time), so each receiver measures the latency of
every delivery it gets. The run always ends within a bounded time: when deliveries stop arriving
(or a hard deadline passes) the tool stops waiting and counts what is missing.

    uv run python tools/bench/load.py ws://127.0.0.1:8001 --clients 50 --messages 20 --rate 100
    uv run python tools/bench/load.py ws://127.0.0.1:8001 --clients 20 --messages 50   # burst

Importable: ``await run_load(ws_base, ...)`` returns the report as a dict.
"""

import argparse
import asyncio
import contextlib
import json
import math
import os
import sys
import time
import uuid
from urllib.parse import urlsplit

import psutil
import websockets

REPORT_FIELDS = (
    "clients",
    "messages_per_client",
    "rate",
    "expected",
    "delivered",
    "missing",
    "duplicates",
    "errors",
    "connect_failures",
    "send_s",
    "elapsed_s",
    "deliveries_per_s",
    "p50_ms",
    "p99_ms",
    "max_ms",
    "server_cpu_pct",
    "server_rss_mb",
    "extra_cpu_pct",
    "client_cpu_pct",
)


def percentile(sorted_values, fraction):
    """Nearest-rank percentile of an already sorted list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def origin_for(ws_base):
    parts = urlsplit(ws_base)
    scheme = "https" if parts.scheme == "wss" else "http"
    return f"{scheme}://{parts.netloc}"


class ProcessMeter:
    """CPU seconds and peak RSS of some processes and all their children, since start()."""

    def __init__(self, pids):
        self.roots = [psutil.Process(pid) for pid in pids]
        self.peak_rss = 0
        self._cpu0 = 0.0

    def _procs(self):
        procs = []
        for root in self.roots:
            with contextlib.suppress(psutil.Error):
                procs.append(root)
                procs.extend(root.children(recursive=True))
        return procs

    def _cpu(self):
        total = 0.0
        for p in self._procs():
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                total += t.user + t.system
        return total

    def sample_rss(self):
        rss = 0
        for p in self._procs():
            with contextlib.suppress(psutil.Error):
                rss += p.memory_info().rss
        self.peak_rss = max(self.peak_rss, rss)

    def start(self):
        self._cpu0 = self._cpu()
        self.sample_rss()

    def cpu_seconds(self):
        return self._cpu() - self._cpu0


class Receiver:
    def __init__(self):
        self.seen = set()
        self.latencies = []
        self.duplicates = 0
        self.errors = 0


async def _receive(ws, receiver, progress):
    with contextlib.suppress(websockets.ConnectionClosed):
        async for frame in ws:
            now = time.perf_counter()
            try:
                data = json.loads(frame)
                sender, seq, sent = data["message"].split(" ")
            except (ValueError, KeyError, TypeError, AttributeError):
                receiver.errors += 1
                continue
            key = (sender, seq)
            if key in receiver.seen:
                receiver.duplicates += 1
                continue
            receiver.seen.add(key)
            receiver.latencies.append(now - float(sent))
            progress[0] += 1
            progress[1] = now


async def _send(ws, sender_id, messages, start, interval, offset):
    for seq in range(messages):
        if interval:
            delay = start + offset + seq * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        text = f"{sender_id} {seq} {time.perf_counter():.6f}"
        await ws.send(json.dumps({"message": text}))


async def run_load(
    ws_base,
    clients=3,
    messages=5,
    rate=None,
    room=None,
    origin=None,
    server_pids=(),
    extra_pids=(),
    idle_timeout=3.0,
    max_seconds=None,
    connect_timeout=30.0,
    settle=0.3,
):
    """Connect `clients` clients to one room, send, wait for deliveries, report.

    rate: messages per second in, over all clients together (evenly spread); None sends everything
    at once. idle_timeout: stop waiting once no delivery has arrived for this long after the last
    send. max_seconds: hard cap on the whole send-and-wait phase.
    """
    room = room or f"bench-{uuid.uuid4().hex[:8]}"
    url = f"{ws_base.rstrip('/')}/ws/chat/{room}/"
    origin = origin or origin_for(ws_base)
    send_estimate = messages * clients / rate if rate else 0.0
    if max_seconds is None:
        max_seconds = send_estimate + 30.0
    server = ProcessMeter(server_pids)
    extra = ProcessMeter(extra_pids)
    me = psutil.Process(os.getpid())

    connect_failures = 0
    sockets = []
    gate = asyncio.Semaphore(10)

    async def connect():
        nonlocal connect_failures
        async with gate:
            try:
                ws = await asyncio.wait_for(
                    websockets.connect(
                        url, origin=origin, max_queue=None, ping_interval=None, close_timeout=1
                    ),
                    connect_timeout,
                )
                sockets.append(ws)
            except (OSError, TimeoutError, websockets.WebSocketException):
                connect_failures += 1

    await asyncio.gather(*(connect() for _ in range(clients)))
    receivers = [Receiver() for _ in sockets]
    progress = [0, time.perf_counter()]  # deliveries so far, time of the last one
    readers = [
        asyncio.create_task(_receive(ws, r, progress))
        for ws, r in zip(sockets, receivers, strict=True)
    ]
    await asyncio.sleep(settle)  # let joins settle (pub/sub subscriptions confirm asynchronously)

    expected = len(sockets) * len(sockets) * messages
    server.start()
    extra.start()
    client_cpu0 = sum(me.cpu_times()[:2])
    start = time.perf_counter()
    interval = len(sockets) / rate if rate else 0.0
    senders = [
        asyncio.create_task(
            _send(ws, f"c{i}", messages, start, interval, i / rate if rate else 0.0)
        )
        for i, ws in enumerate(sockets)
    ]
    deadline = start + max_seconds
    sent_done = None
    while True:
        await asyncio.sleep(0.05)
        now = time.perf_counter()
        if int(now * 5) != int((now - 0.05) * 5):
            server.sample_rss()
        if sent_done is None and all(t.done() for t in senders):
            sent_done = now
        if progress[0] >= expected or now >= deadline:
            break
        if sent_done and now - max(progress[1], sent_done) > idle_timeout:
            break
    end = time.perf_counter()
    server_cpu = server.cpu_seconds()
    extra_cpu = extra.cpu_seconds()
    client_cpu = sum(me.cpu_times()[:2]) - client_cpu0
    server.sample_rss()
    # Stop counting first: whatever arrives while the sockets close is late, hence missing.
    for task in senders + readers:
        task.cancel()
    await asyncio.gather(*senders, *readers, return_exceptions=True)
    latencies = sorted(x for r in receivers for x in r.latencies)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)

    delivered = len(latencies)
    last = progress[1] if delivered else end
    window = max(last - start, 1e-9)
    wall = max(end - start, 1e-9)

    def ms(value):
        return None if value is None else round(value * 1000, 2)

    return {
        "clients": clients,
        "messages_per_client": messages,
        "rate": rate,
        "expected": clients * clients * messages,
        "delivered": delivered,
        "missing": clients * clients * messages - delivered,
        "duplicates": sum(r.duplicates for r in receivers),
        "errors": sum(r.errors for r in receivers),
        "connect_failures": connect_failures,
        "send_s": round((sent_done or end) - start, 3),
        "elapsed_s": round(wall, 3),
        "deliveries_per_s": round(delivered / window, 1),
        "p50_ms": ms(percentile(latencies, 0.50)),
        "p99_ms": ms(percentile(latencies, 0.99)),
        "max_ms": ms(latencies[-1] if latencies else None),
        "server_cpu_pct": round(100 * server_cpu / wall, 1) if server_pids else None,
        "server_rss_mb": round(server.peak_rss / 2**20, 1) if server_pids else None,
        "extra_cpu_pct": round(100 * extra_cpu / wall, 1) if extra_pids else None,
        "client_cpu_pct": round(100 * client_cpu / wall, 1),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ws_base", help="server base URL, e.g. ws://127.0.0.1:8001")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20, help="messages per client")
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="messages per second in, all clients together (default: all at once)",
    )
    parser.add_argument("--room", default=None)
    parser.add_argument("--origin", default=None, help="Origin header (default: the server's own)")
    parser.add_argument(
        "--server-pid",
        type=int,
        action="append",
        default=[],
        help="measure this process and its children (repeatable)",
    )
    parser.add_argument("--idle-timeout", type=float, default=3.0)
    parser.add_argument("--max-seconds", type=float, default=None)
    args = parser.parse_args(argv)
    report = asyncio.run(
        run_load(
            args.ws_base,
            clients=args.clients,
            messages=args.messages,
            rate=args.rate,
            room=args.room,
            origin=args.origin,
            server_pids=args.server_pid,
            idle_timeout=args.idle_timeout,
            max_seconds=args.max_seconds,
        )
    )
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0 if report["missing"] == 0 and report["connect_failures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
