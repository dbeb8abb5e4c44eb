# chat/tests/test_consumers.py
import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from chat.consumers import room_group
from chat.models import Message
from chat.routing import websocket_urlpatterns

# The chat's sockets without the origin check, which needs a browser's Origin header
chat_sockets = URLRouter(websocket_urlpatterns)

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def join(room):
    communicator = WebsocketCommunicator(chat_sockets, f"/ws/chat/{room}/")
    connected, _ = await communicator.connect(timeout=5)  # 1 s, the default, is short when busy
    assert connected, f"the socket to {room!r} was refused"
    return communicator


async def receive_all(communicator, expected):
    """The messages that arrive, up to the number expected, until none comes for 5 seconds."""
    messages = []
    try:
        while len(messages) < expected:
            messages.append((await communicator.receive_json_from(timeout=5))["message"])
    except TimeoutError:
        pass
    return messages


async def test_message_is_seen_by_everyone_in_the_room():
    alice = await join("lobby")
    bob = await join("lobby")

    await alice.send_json_to({"message": "hello"})
    assert await alice.receive_json_from() == {"message": "hello"}
    assert await bob.receive_json_from() == {"message": "hello"}

    await alice.disconnect()
    await bob.disconnect()


async def test_message_is_not_seen_in_another_room():
    alice = await join("room_1")
    carol = await join("room_2")

    await alice.send_json_to({"message": "hello"})
    assert await alice.receive_json_from() == {"message": "hello"}
    assert await carol.receive_nothing()

    await alice.disconnect()
    await carol.disconnect()


async def test_page_from_another_site_is_refused():
    # mysite/asgi.py wraps the sockets in AllowedHostsOriginValidator. Imported here, not at the
    # top: the validator reads ALLOWED_HOSTS once, and the browser tests' server needs localhost.
    from mysite.asgi import application

    communicator = WebsocketCommunicator(
        application, "/ws/chat/lobby/", headers=[(b"origin", b"http://evil.example")]
    )
    connected, _ = await communicator.connect()
    assert not connected


@pytest.mark.parametrize(
    "frame",
    [
        {"text_data": "hello"},
        {"text_data": '{"text": "hello"}'},
        {"text_data": '["hello"]'},
        {"text_data": '{"message": 1}'},
        {"bytes_data": b'{"message": "hello"}'},
    ],
    ids=["not-json", "no-message", "a-list", "a-number", "binary"],
)
async def test_malformed_frame_gets_an_error_and_the_socket_stays_open(frame):
    alice = await join("lobby")
    bob = await join("lobby")

    await alice.send_to(**frame)
    assert "error" in await alice.receive_json_from()
    assert await bob.receive_nothing()  # nothing was broadcast

    await alice.send_json_to({"message": "still here"})
    assert await bob.receive_json_from() == {"message": "still here"}

    await alice.disconnect()
    await bob.disconnect()


async def test_a_room_saying_hello_at_once_loses_nothing():
    # A workshop: 40 people in one room, each sending 3 messages at the same moment
    people = [await join("workshop") for _ in range(40)]
    sent = []
    for i, person in enumerate(people):
        for n in range(3):
            sent.append(f"hello {n} from {i}")
            await person.send_json_to({"message": sent[-1]})

    received = await asyncio.gather(*(receive_all(person, len(sent)) for person in people))
    assert [len(messages) for messages in received] == [len(sent)] * len(people)
    assert all(sorted(messages) == sorted(sent) for messages in received)

    for person in people:
        await person.disconnect()


async def test_newcomer_gets_the_room_history():
    alice = await join("lobby")
    for text in ["one", "two"]:
        await alice.send_json_to({"message": text})
        assert await alice.receive_json_from() == {"message": text}

    latecomer = await join("lobby")
    assert await latecomer.receive_json_from() == {"message": "one"}
    assert await latecomer.receive_json_from() == {"message": "two"}
    elsewhere = await join("other room")
    await elsewhere.send_json_to({"message": "three"})
    assert await elsewhere.receive_json_from() == {"message": "three"}  # no history from lobby

    await alice.disconnect()
    await latecomer.disconnect()
    await elsewhere.disconnect()


async def test_a_message_already_in_the_history_is_not_sent_twice():
    # Saved after alice joined the group but before she read the history: it is in both
    saved = await database_sync_to_async(Message.objects.create)(room="lobby", text="one")
    alice = await join("lobby")
    assert await alice.receive_json_from() == {"message": "one"}
    event = {"type": "chat.message", "message": "one", "id": saved.id}
    await get_channel_layer().group_send(room_group("lobby"), event)

    await alice.send_json_to({"message": "two"})
    assert await alice.receive_json_from() == {"message": "two"}  # "one" came once only

    await alice.disconnect()
