# chat/tests/test_consumers.py
"""The chat consumer without a server or a browser: WebsocketCommunicator plays the browser.

Each test runs twice, with the in-memory channel layer and with Redis (see conftest.py).
"""

import json
from importlib.util import find_spec, module_from_spec

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from chat.models import MAX_ROOM_NAME_LENGTH, Message
from chat.routing import websocket_urlpatterns

from .helpers import TIMEOUT

# The consumer reads and writes the database from a worker thread, which sees only committed
# data: transaction=True. available_apps: only chat's table is emptied after each test.
pytestmark = pytest.mark.django_db(transaction=True, available_apps=["chat"])


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


async def test_history_is_the_last_20_messages_oldest_first(connect):
    texts = [f"message {n}" for n in range(25)]
    await database_sync_to_async(Message.objects.bulk_create)(
        [Message(room="lobby", text=text) for text in texts]
    )
    alice = await connect("lobby")
    assert [await receive(alice) for _ in range(20)] == [{"message": t} for t in texts[-20:]]
    await alice.send_json_to({"message": "new"})
    assert await receive(alice) == {"message": "new"}  # and nothing more of the history


@pytest.mark.parametrize(
    "frame, says",
    [
        ("hello", "Not JSON"),
        ("[" * 100_000, "Not JSON"),
        ('["hello"]', '"message" string'),
        ('{"text": "hello"}', '"message" string'),
        ('{"message": 42}', '"message" string'),
        ('{"message": "   "}', "empty"),
        (json.dumps({"message": "x" * 2001}), "longer than 2000"),
        (b'{"message": "hello"}', "Binary"),
    ],
    ids=["not-json", "too-deep", "a-list", "no-message", "a-number", "empty", "too-long", "binary"],
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

    await alice.send_json_to({"message": "after"})  # alice's socket is still open
    # bob's first frame is the good message: the bad one was never broadcast, nor saved
    assert await receive(bob) == {"message": "after"}
    texts = await database_sync_to_async(list)(Message.objects.values_list("text", flat=True))
    assert texts == ["after"]


async def test_longest_message_is_accepted(connect):
    alice = await connect("lobby")
    await alice.send_json_to({"message": "x" * 2000})
    assert await receive(alice) == {"message": "x" * 2000}


@pytest.mark.django_db(transaction=True)  # all apps: the page looks up the user too
@pytest.mark.parametrize("extra, accepted", [(0, True), (1, False)])
async def test_room_name_must_fit_the_model_field(connect, async_client, extra, accepted):
    room = "x" * (MAX_ROOM_NAME_LENGTH + extra)  # each saved message holds its room name
    page = await async_client.get(f"/chat/{room}/")
    assert page.status_code == (200 if accepted else 404)
    await connect(room, expect=accepted)


@pytest.mark.parametrize("path", ["/ws/chat/a/b/", "/ws/chat//", "/ws/chat/lobby", "/ws/nope/"])
async def test_socket_path_that_is_no_room_is_refused(path):
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert not connected
    await communicator.disconnect()


@pytest.mark.parametrize("channel_layer", ["own redis"], indirect=True)
async def test_lost_redis_closes_sockets_with_4013_and_chat_resumes(connect, redis_server):
    alice = await connect("lobby")
    bob = await connect("lobby")
    redis_server.stop()
    await alice.send_json_to({"message": "are you there?"})
    # Both sockets close with 4013, "try again later" (a crash would close them with 1011)
    closed = {"type": "websocket.close", "code": 4013}
    assert await alice.receive_output(TIMEOUT) == closed
    assert await bob.receive_output(TIMEOUT) == closed
    await connect("lobby", expect=False)  # no new socket while Redis is away

    redis_server.start()
    # As the page does, try again: a connection the layer kept from before the outage fails
    # (4013) the first time it is used, and a new one takes its place.
    for _attempt in range(5):
        carol = await connect("lobby", expect=None)
        if carol.accepted:
            break
    assert carol.accepted, "chat did not resume after Redis came back"
    # The message was saved before Redis was found missing: it is in the history
    assert await receive(carol) == {"message": "are you there?"}
    await carol.send_json_to({"message": "back"})
    assert await receive(carol) == {"message": "back"}


def build_application():
    """mysite.asgi's application, built now from a fresh copy of the module. The origin check
    (AllowedHostsOriginValidator) reads ALLOWED_HOSTS and DEBUG once, when it is built."""
    spec = find_spec("mysite.asgi")
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.application


@pytest.mark.django_db(transaction=True)  # all apps: the application looks up the user too
@pytest.mark.parametrize("channel_layer", ["memory"], indirect=True)
@pytest.mark.parametrize(
    "debug, allowed_hosts, origin, accepted",
    [
        (True, [], "http://localhost:8000", True),  # runserver's default: localhost only
        (True, [], "http://evil.example", False),  # a page from another site
        (True, [], None, False),  # not a browser: no Origin header
        (False, [], "http://localhost:8000", False),  # DEBUG off: only the hosts listed
        (False, ["chat.example"], "http://chat.example", True),
        (False, ["chat.example"], "http://localhost:8000", False),
    ],
)
async def test_origin_check(connect, debug, allowed_hosts, origin, accepted):
    headers = [(b"origin", origin.encode())] if origin else []
    with override_settings(DEBUG=debug, ALLOWED_HOSTS=allowed_hosts):
        await connect("lobby", build_application(), headers, expect=accepted)
