"""The chat consumer, tested without a server or browser: WebsocketCommunicator plays the client.

Every test runs twice, once per channel layer (see the channel_layer fixture in conftest.py).
"""

import asyncio
import json
from urllib.parse import quote

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from mysite.asgi import application as mysite_application  # the one runserver serves

from chat.consumers import HISTORY_LENGTH, MAX_MESSAGE_LENGTH, MAX_ROOM_NAME_LENGTH, group_name_for
from chat.models import Message
from chat.routing import websocket_urlpatterns

# Every connection reads the room's history from the database (from a worker thread, so the
# test data must really be committed: transaction=True). Emptying only chat's table is quicker.
pytestmark = pytest.mark.django_db(transaction=True, available_apps=["chat"])

chat_routes = URLRouter(websocket_urlpatterns)
TIMEOUT = 3  # seconds to wait for a frame that should come


@pytest.fixture
async def connect(channel_layer):
    """Open a WebSocket to a room; every socket is closed after the test, refused ones too
    (a consumer that refused the handshake still waits for the client's disconnect)."""
    opened = []

    async def open_socket(room, application=chat_routes, headers=None, expect=True):
        communicator = WebsocketCommunicator(application, f"/ws/chat/{quote(room)}/", headers)
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        opened.append(communicator)
        assert connected == expect, f"room {room!r}: connected={connected}, expected {expect}"
        return communicator

    yield open_socket
    for communicator in reversed(opened):
        # A short wait: with channels-redis 4.3 and redis-py 8 a consumer can take seconds to
        # stop after its socket closes (its cancelled Redis read lingers); it is cancelled then.
        await communicator.disconnect(timeout=0.2)


async def receive(communicator):
    return await communicator.receive_json_from(timeout=TIMEOUT)


async def test_message_is_broadcast_to_everyone_in_the_room(connect):
    alice = await connect("lobby")
    bob = await connect("lobby")
    await alice.send_json_to({"message": "hello"})
    assert await receive(alice) == {"message": "hello"}  # the sender hears it too
    assert await receive(bob) == {"message": "hello"}


async def test_message_is_not_seen_in_another_room(connect):
    alice = await connect("room_1")
    carol = await connect("room_2")
    await alice.send_json_to({"message": "hello"})
    assert await receive(alice) == {"message": "hello"}
    await carol.send_json_to({"message": "world"})
    # carol's first frame is her own message: alice's never reached room_2
    assert await receive(carol) == {"message": "world"}


@pytest.mark.parametrize(
    "room",
    ["한국어 방", "room with spaces", "x" * MAX_ROOM_NAME_LENGTH],
    ids=["korean", "spaces", "100-chars"],
)
async def test_room_names(connect, room):
    alice = await connect(room)
    bob = await connect(room)
    await alice.send_json_to({"message": f"hi from {room}"})
    assert await receive(bob) == {"message": f"hi from {room}"}


# The channel layer plays no part in a refused handshake: the in-memory one is enough.
memory_only = pytest.mark.parametrize("channel_layer", ["memory"], indirect=True)


@memory_only
async def test_room_name_over_100_characters_is_refused(connect):
    await connect("x" * (MAX_ROOM_NAME_LENGTH + 1), expect=False)


@pytest.mark.parametrize(
    "frame, says",
    [
        ("hello", "Not JSON"),
        ('["hello"]', '"message" string'),
        ('{"text": "hello"}', '"message" string'),
        ('{"message": 42}', '"message" string'),
        ('{"message": "   "}', "empty"),
        (b'{"message": "hello"}', "Binary"),
        (json.dumps({"message": "x" * (MAX_MESSAGE_LENGTH + 1)}), str(MAX_MESSAGE_LENGTH)),
    ],
    ids=["not-json", "not-an-object", "no-message", "non-string", "empty", "binary", "too-long"],
)
async def test_malformed_frame_gets_an_error_and_is_never_broadcast(connect, frame, says):
    alice = await connect("lobby")
    bob = await connect("lobby")
    if isinstance(frame, bytes):
        await alice.send_to(bytes_data=frame)
    else:
        await alice.send_to(text_data=frame)
    reply = await receive(alice)
    assert list(reply) == ["error"] and says in reply["error"]

    await alice.send_json_to({"message": "after"})
    # bob's first frame is the good message: the bad one was never broadcast (nor saved)
    assert await receive(bob) == {"message": "after"}
    texts = await database_sync_to_async(list)(Message.objects.values_list("text", flat=True))
    assert texts == ["after"]


async def test_longest_message_is_accepted(connect):
    alice = await connect("lobby")
    await alice.send_json_to({"message": "x" * MAX_MESSAGE_LENGTH})
    assert await receive(alice) == {"message": "x" * MAX_MESSAGE_LENGTH}


@pytest.mark.parametrize(
    "origin, accepted",
    [(b"http://localhost:8000", True), (b"http://evil.example", False), (None, False)],
    ids=["localhost", "other-site", "no-origin"],
)
@memory_only
@pytest.mark.django_db(transaction=True)  # the full application also looks up the user (auth)
async def test_origin_check(connect, origin, accepted):
    """The full application refuses pages from other sites. mysite.asgi was imported when this
    module was collected, while DEBUG was still on: with no ALLOWED_HOSTS set, the origin
    check allows localhost only, exactly as under runserver."""
    headers = [(b"origin", origin)] if origin else []
    await connect("lobby", application=mysite_application, headers=headers, expect=accepted)


async def test_disconnect_leaves_the_group(connect, channel_layer, monkeypatch):
    created = []  # the channel names the consumers get, in order
    new_channel = channel_layer.new_channel

    async def recording_new_channel(*args, **kwargs):
        created.append(await new_channel(*args, **kwargs))
        return created[-1]

    monkeypatch.setattr(channel_layer, "new_channel", recording_new_channel)
    bob = await connect("lobby")
    alice = await connect("lobby")
    alice_channel = created[1]
    await alice.disconnect()

    await channel_layer.group_send(
        group_name_for("lobby"), {"type": "chat.message", "message": "hi"}
    )
    assert await receive(bob) == {"message": "hi"}
    # alice's channel left the group, so nothing was queued for it
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(channel_layer.receive(alice_channel), timeout=0.5)


async def test_history_is_sent_on_connect(connect):
    alice = await connect("lobby")
    for text in ["one", "two"]:
        await alice.send_json_to({"message": text})
        assert await receive(alice) == {"message": text}

    latecomer = await connect("lobby")
    assert [await receive(latecomer), await receive(latecomer)] == [
        {"message": "one"},
        {"message": "two"},
    ]
    elsewhere = await connect("other room")
    await elsewhere.send_json_to({"message": "mine"})
    assert await receive(elsewhere) == {"message": "mine"}  # no history from "lobby"


async def test_history_is_the_last_messages_oldest_first(connect):
    texts = [f"message {n}" for n in range(HISTORY_LENGTH + 5)]
    await database_sync_to_async(Message.objects.bulk_create)(
        [Message(room="lobby", text=text) for text in texts]
    )
    alice = await connect("lobby")
    assert [await receive(alice) for _ in range(HISTORY_LENGTH)] == [
        {"message": text} for text in texts[-HISTORY_LENGTH:]
    ]
    await alice.send_json_to({"message": "new"})
    assert await receive(alice) == {"message": "new"}  # and nothing more of the history
