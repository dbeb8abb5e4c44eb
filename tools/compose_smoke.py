"""Check from the host what `docker compose up` serves, the way a learner's browser reaches it.

    docker compose up --detach --wait
    uv run python tools/compose_smoke.py            # the four stages
    docker compose --profile scale up --detach --wait part3-scale-a part3-scale-b
    uv run python tools/compose_smoke.py --scale    # the scaling pair too

Every stage service (read from docker-compose.yml): /chat/ and a room page answer 200, and two
WebSockets in one room hear a message sent on one of them (part1 echoes it to its sender only).
For parts 2-4 the room's group must appear in the compose Redis (127.0.0.1:6379), so the message
went through Redis. --scale: a message sent on part3-scale-a reaches a socket on part3-scale-b.
One line per check; exit 0 when all hold, 1 otherwise. Waits up to --timeout seconds for each
server to answer first (a container that just started is still migrating).
"""

import argparse
import asyncio
import re
import sys
import uuid

import redis
import websockets
import yaml
from chat_client import Address, connect, http_get, recv_json, say, socket_path
from servers import wait_until
from stages import GROUP_STAGES, ROOT

COMPOSE_FILE = ROOT / "docker-compose.yml"
REDIS_URL = "redis://127.0.0.1:6379/0"  # the port compose publishes for the `redis` service


def published(compose_file=COMPOSE_FILE, profile=None):
    """{service: (stage, host port)} for the compose services that serve a stage."""
    services = yaml.safe_load(compose_file.read_text(encoding="utf-8"))["services"]
    found = {}
    for name, service in services.items():
        serves = "runserver" in " ".join(service.get("command") or [])
        if not serves or service.get("profiles", [None])[0] != profile:
            continue
        host_port = int(re.match(r"(?:[\d.]+:)?(\d+):8000$", service["ports"][0]).group(1))
        found[name] = (service["working_dir"].rsplit("/", 1)[-1], host_port)
    return found


def published_at(port):
    """A published port as the learner's browser reaches it: localhost, as the notes give it."""
    return Address(port, host="localhost")


def status(server, path):
    return http_get(server, path)[0]


def answers(server):
    """Anything answers /chat/ (a container that just started may not listen yet)."""
    try:
        return bool(status(server, "/chat/"))
    except OSError:
        return False


def wait_for(server, timeout):
    """Does it answer within timeout seconds?"""
    try:
        wait_until(lambda: answers(server), timeout, server.base_url)
    except TimeoutError:
        return False
    return True


def group_keys(client):
    return set(client.scan_iter("asgi:group:*"))


async def check_stage(stage, server, client):
    """(ok, what was seen) for one stage service (server: base_url, ws_url, origin)."""
    room = f"smoke-{uuid.uuid4().hex[:8]}"
    pages = (status(server, "/chat/"), status(server, f"/chat/{room}/"))
    if pages != (200, 200):
        return False, f"/chat/ and /chat/{room}/ answered {pages}, not (200, 200)"
    before = group_keys(client) if stage in GROUP_STAGES else set()
    path = socket_path(room)
    async with connect(server, path) as sender, connect(server, path) as other:
        await say(sender, f"hello {stage}")
        if await recv_json(sender) != {"message": f"hello {stage}"}:
            return False, "the sender did not get its own message back"
        if stage not in GROUP_STAGES:
            return True, "pages 200, the message echoed to its sender"
        if await recv_json(other) != {"message": f"hello {stage}"}:
            return False, "the other socket in the room did not get the message"
        if not group_keys(client) - before:
            return False, "no new group appeared in Redis: the stage uses another channel layer"
    return True, "pages 200, the message reached both sockets through the compose Redis"


async def check_scale(a, b):
    path = socket_path(f"smoke-{uuid.uuid4().hex[:8]}")
    async with connect(a, path) as on_a, connect(b, path) as on_b:
        await say(on_a, "from a")
        if await recv_json(on_b) != {"message": "from a"}:
            return False, "a message sent on one server did not reach the other"
        await say(on_b, "from b")
        replies = [await recv_json(on_a), await recv_json(on_a)]
        if replies != [{"message": "from a"}, {"message": "from b"}]:
            return False, f"the first server's socket got {replies}"
    return True, "a message sent on either server reached the socket on the other"


async def run(scale, timeout):
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    results = []
    for name, (stage, port) in published().items():
        server = published_at(port)
        if not await asyncio.to_thread(wait_for, server, timeout):
            results.append((False, name, port, f"nothing answered within {timeout} s"))
            continue
        try:
            ok, seen = await check_stage(stage, server, client)
        except (OSError, TimeoutError, websockets.WebSocketException) as error:
            ok, seen = False, f"{type(error).__name__}: {error}"
        results.append((ok, name, port, seen))
    if scale:
        pair = published(profile="scale")
        (a, (_, port_a)), (b, (_, port_b)) = sorted(pair.items())
        pair_at = [published_at(port_a), published_at(port_b)]
        waited = [await asyncio.to_thread(wait_for, s, timeout) for s in pair_at]
        if not all(waited):
            results.append((False, f"{a} + {b}", port_a, f"not answering within {timeout} s"))
        else:
            try:
                ok, seen = await check_scale(*pair_at)
            except (OSError, TimeoutError, websockets.WebSocketException) as error:
                ok, seen = False, f"{type(error).__name__}: {error}"
            results.append((ok, f"{a} -> {b}", f"{port_a}->{port_b}", seen))
    client.close()
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", action="store_true", help="check the scale profile too")
    parser.add_argument("--timeout", type=float, default=60, help="seconds to wait per server")
    args = parser.parse_args(argv)
    results = asyncio.run(run(args.scale, args.timeout))
    for ok, name, port, seen in results:
        print(f"{'ok  ' if ok else 'FAIL'} {name} (:{port}): {seen}")
    return 0 if results and all(ok for ok, *_ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
