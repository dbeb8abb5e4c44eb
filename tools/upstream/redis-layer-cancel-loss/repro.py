"""channels-redis loses a message for one consumer when another consumer of the same process
stops at the wrong moment (see REPORT.md beside this file).

    uv run python tools/upstream/redis-layer-cancel-loss/repro.py [--runs N] [--rooms R]
        [--exit crash|close] [--layer-only] [--fixed] [--socket-timeout S]

Each run opens R rooms at once in one process, each with two WebSocket clients of the Channels
tutorial's Part 3 consumer (channels' WebsocketCommunicator, no server). In every room the first
client makes its consumer stop (`crash`: a non-JSON frame, which the tutorial's receive() does
not handle; `close`: an ordinary disconnect), and a few milliseconds later the second client
sends a message. A run "stalls" when some second client never gets its own message back.
`--layer-only` does the same with RedisChannelLayer alone: a receive() is cancelled while
another channel's message arrives. `--fixed` runs with the change proposed in REPORT.md.

Starts its own redis-server on a free 127.0.0.1 port (needs redis-server on PATH) and stops it.
"""

import argparse
import asyncio
import json
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version

import django
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from channels_redis.core import RedisChannelLayer
from django.conf import settings
from django.urls import path

REPLY_TIMEOUT = 5  # seconds; a delivered message takes milliseconds


class ChatConsumer(AsyncWebsocketConsumer):
    """The consumer of the Channels tutorial, Part 3 (chat/consumers.py), unchanged."""

    async def connect(self):
        self.room_name = self.scope["url_route"]["kwargs"]["room_name"]
        self.room_group_name = f"chat_{self.room_name}"

        # Join room group
        await self.channel_layer.group_add(self.room_group_name, self.channel_name)

        await self.accept()

    async def disconnect(self, close_code):
        # Leave room group
        await self.channel_layer.group_discard(self.room_group_name, self.channel_name)

    # Receive message from WebSocket
    async def receive(self, text_data):
        text_data_json = json.loads(text_data)
        message = text_data_json["message"]

        # Send message to room group
        await self.channel_layer.group_send(
            self.room_group_name, {"type": "chat.message", "message": message}
        )

    # Receive message from room group
    async def chat_message(self, event):
        message = event["message"]

        # Send message to WebSocket
        await self.send(text_data=json.dumps({"message": message}))


class FixedRedisChannelLayer(RedisChannelLayer):
    """The proposed fix, as a subclass: the pop that serves every channel of the process is not
    thrown away when the receive() running it is cancelled. It goes on, and the next receive()
    to hold the lock takes its result and routes it as usual."""

    _pop_in_flight = None

    async def receive_single(self, channel):
        if "!" not in channel:  # a channel of its own: a cancelled caller loses only its own
            return await super().receive_single(channel)
        pop, self._pop_in_flight = self._pop_in_flight, None
        if pop is None or pop.get_loop() is not asyncio.get_running_loop() or failed(pop):
            pop = asyncio.ensure_future(super().receive_single(channel))
        try:
            return await asyncio.shield(pop)
        except asyncio.CancelledError:
            self._pop_in_flight = pop  # done or not, its message is someone's
            raise


def failed(task):
    return task.done() and (task.cancelled() or task.exception() is not None)


# --- Redis -------------------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(workdir):
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not on PATH (apt-get install redis-server, brew install redis)")
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", workdir]
    proc = subprocess.Popen([*args, "--appendonly", "no"], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit(f"redis-server did not answer on 127.0.0.1:{port}")


def redis_version():
    out = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
    return next((w[2:] for w in out.split() if w.startswith("v=")), "?")


# --- One run -----------------------------------------------------------------------------------

app = URLRouter([path("ws/chat/<str:room_name>/", ChatConsumer.as_asgi())])


async def quietly(awaitable):
    try:
        await awaitable
    except BaseException:  # a crashed or timed-out consumer re-raises here: not what we measure
        pass


async def room(run, number, how_exit):
    name = f"r{run}-{number}-{random.randrange(10**9)}"
    leaving = WebsocketCommunicator(app, f"/ws/chat/{name}/")
    staying = WebsocketCommunicator(app, f"/ws/chat/{name}/")
    assert (await leaving.connect(10))[0] and (await staying.connect(10))[0]
    if how_exit == "crash":
        await leaving.send_to(text_data="not json")  # receive() raises JSONDecodeError
    else:
        await leaving.disconnect()
    await asyncio.sleep(random.uniform(0, 0.02))
    await staying.send_to(text_data=json.dumps({"message": "still here"}))
    try:
        got = json.loads(await staying.receive_from(REPLY_TIMEOUT)) == {"message": "still here"}
    except TimeoutError:
        got = False
    for client in (staying, leaving):
        await quietly(client.disconnect())
        await quietly(client.wait(1))
    return got


async def layer_trial(layer, run):
    """No consumer: cancel the receive() that holds the layer's receive lock while another
    channel's message arrives, as await_many_dispatch does when a consumer stops."""
    stopping, listening = await layer.new_channel(), await layer.new_channel()
    holder = asyncio.ensure_future(layer.receive(stopping))
    await asyncio.sleep(0.02)  # holder now runs the process's BZPOPMIN
    waiter = asyncio.ensure_future(layer.receive(listening))
    await asyncio.sleep(0.02)
    sending = asyncio.ensure_future(layer.send(listening, {"type": "x", "run": run}))
    await asyncio.sleep(random.uniform(0, 0.002))
    holder.cancel()
    await sending
    try:
        await asyncio.wait_for(waiter, REPLY_TIMEOUT)
        return True
    except TimeoutError:
        return False


async def main(args, url):
    backend = "FixedRedisChannelLayer" if args.fixed else "RedisChannelLayer"
    host = {"address": url, "socket_timeout": args.socket_timeout}
    layer = (FixedRedisChannelLayer if args.fixed else RedisChannelLayer)(hosts=[host])
    mode = "layer only" if args.layer_only else f"{args.rooms} rooms, consumer exit: {args.exit}"
    print(
        f"Python {sys.version.split()[0]}, channels {version('channels')}, "
        f"channels-redis {version('channels-redis')}, redis-py {version('redis')}, "
        f"redis-server {redis_version()}; {backend}, socket_timeout={args.socket_timeout}; {mode}"
    )
    stalled = 0
    for run in range(args.runs):
        if args.layer_only:
            delivered = [await layer_trial(layer, run)]
        else:
            delivered = await asyncio.gather(*(room(run, n, args.exit) for n in range(args.rooms)))
        if not all(delivered):
            stalled += 1
            left = await layer.connection(0).keys("asgispecific.*")
            print(
                f"run {run + 1}: {delivered.count(False)} listener(s) got nothing within "
                f"{REPLY_TIMEOUT} s; messages still queued in Redis: {len(left)}",
                flush=True,
            )
    print(f"{stalled} of {args.runs} runs stalled")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--rooms", type=int, default=13)
    parser.add_argument("--exit", choices=["crash", "close"], default="crash")
    parser.add_argument("--layer-only", action="store_true")
    parser.add_argument("--fixed", action="store_true", help="run with the proposed fix")
    parser.add_argument(
        "--socket-timeout",
        type=float,
        default=15,
        help="redis-py socket_timeout in the layer's hosts (default 15, as the stages set it; "
        "0 for none)",
    )
    args = parser.parse_args(argv)
    args.socket_timeout = args.socket_timeout or None
    return args


if __name__ == "__main__":
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop redis-server on a kill too
    with tempfile.TemporaryDirectory(prefix="redis-layer-cancel-loss-") as workdir:
        redis, port = start_redis(workdir)
        try:
            url = f"redis://127.0.0.1:{port}/0"
            backend = (
                "__main__.FixedRedisChannelLayer"
                if args.fixed
                else "channels_redis.core.RedisChannelLayer"
            )
            host = {"address": url, "socket_timeout": args.socket_timeout}
            settings.configure(
                CHANNEL_LAYERS={"default": {"BACKEND": backend, "CONFIG": {"hosts": [host]}}}
            )
            django.setup()
            asyncio.run(main(args, url))
        finally:
            redis.terminate()
            redis.wait(10)
