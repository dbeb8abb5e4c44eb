"""The ceiling: a bare `websockets` broadcast server speaking the stages' chat protocol.

No Django, no Channels, no channel layer: one asyncio process keeps a set of sockets per room and
broadcasts each {"message": ...} frame to the room. Whatever it costs is the cost of WebSockets
and Python themselves.

    uv run python tools/bench/bare_server.py --port 8765
"""

import argparse
import asyncio
import json
import re
from collections import defaultdict

import websockets
from websockets.asyncio.server import broadcast, serve

ROOM_PATH = re.compile(r"^/ws/chat/([^/]+)/$")
rooms = defaultdict(set)


async def chat(ws):
    match = ROOM_PATH.match(ws.request.path)
    if match is None:
        await ws.close(1008, "no such path")
        return
    room = rooms[match[1]]
    room.add(ws)
    try:
        async for frame in ws:
            try:
                message = json.loads(frame).get("message")
            except (ValueError, AttributeError):
                message = None
            if not isinstance(message, str) or not message.strip():
                await ws.send(json.dumps({"error": 'Send {"message": "hi"}.'}))
                continue
            broadcast(room, json.dumps({"message": message}))
    except websockets.ConnectionClosed:
        pass
    finally:
        room.discard(ws)


async def main(port):
    async with serve(chat, "127.0.0.1", port, max_queue=None, ping_interval=None) as server:
        print(f"bare broadcast server on ws://127.0.0.1:{port}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="bare websockets broadcast server")
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))
