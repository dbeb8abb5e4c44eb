import hashlib
import json
import logging

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from redis.exceptions import RedisError

from .models import Message

MAX_ROOM_NAME_LENGTH = 100
MAX_MESSAGE_LENGTH = 2000
HISTORY_LENGTH = 20

logger = logging.getLogger(__name__)


def read_message(text_data, bytes_data):
    """Return (message, None) for a well-formed frame, or (None, error) saying what is wrong."""
    if text_data is None:
        return None, 'Binary frames are not accepted: send JSON text like {"message": "hi"}.'
    try:
        data = json.loads(text_data)
    except (ValueError, RecursionError):
        return None, 'Not JSON: send {"message": "hi"}.'
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, str):
        return None, 'Send a JSON object with a "message" string, like {"message": "hi"}.'
    if not message.strip():
        return None, "The message is empty."
    if len(message) > MAX_MESSAGE_LENGTH:
        return None, f"The message is longer than {MAX_MESSAGE_LENGTH} characters."
    return message, None


def group_name_for(room_name):
    """Group names allow only ASCII letters, digits, "-", "_" and "." (under 100 characters),
    so the group is named after a hash of the room name: any name works, and no two share."""
    return "chat_" + hashlib.sha256(room_name.encode()).hexdigest()


# The ORM is synchronous: run it in a worker thread, never on the event loop.
@database_sync_to_async
def last_messages(room_name, count=HISTORY_LENGTH):
    """The room's last `count` message texts, oldest first."""
    newest = Message.objects.filter(room=room_name).order_by("-created", "-id")[:count]
    return [message.text for message in reversed(newest)]  # evaluated here, in the thread


class ChatConsumer(AsyncWebsocketConsumer):
    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        except RedisError as error:
            # The Redis channel layer lost its server. Rather than crash (daphne closes with 1011),
            # close with 4013: "try again later" (1013 is the standard code, but daphne lets an
            # application send only 1000 or 3000-4999). The page reconnects by itself.
            logger.warning("Redis is unavailable (%s): closing a chat socket with 4013", error)
            await send({"type": "websocket.close", "code": 4013})

    async def dispatch(self, message):
        # Channels 4.2+ first hops to its one sync thread to close old database connections,
        # before every message in and every delivery out; this consumer never uses the database
        # (database_sync_to_async closes them itself), so call the handler straight away.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        self.room_name = self.scope["url_route"]["kwargs"]["room_name"]
        if len(self.room_name) > MAX_ROOM_NAME_LENGTH:
            await self.close()  # before accept: the handshake is refused with HTTP 403
            return
        self.room_group_name = group_name_for(self.room_name)

        # Join room group
        await self.channel_layer.group_add(self.room_group_name, self.channel_name)

        await self.accept()

        # Send the room's recent history to this socket only, as ordinary chat frames
        for text in await last_messages(self.room_name):
            await self.send(text_data=json.dumps({"message": text}))

    async def disconnect(self, close_code):
        # Leave room group (a refused handshake never joined one)
        if hasattr(self, "room_group_name"):
            await self.channel_layer.group_discard(self.room_group_name, self.channel_name)

    # Receive message from WebSocket
    async def receive(self, text_data=None, bytes_data=None):
        message, error = read_message(text_data, bytes_data)
        if error:
            # Only the sender hears about its own bad frame; nothing is broadcast.
            await self.send(text_data=json.dumps({"error": error}))
            return

        # Save it (the same call, wrapped to run in a worker thread)
        await database_sync_to_async(Message.objects.create)(room=self.room_name, text=message)

        # Send message to room group
        await self.channel_layer.group_send(
            self.room_group_name, {"type": "chat.message", "message": message}
        )

    # Receive message from room group
    async def chat_message(self, event):
        message = event["message"]

        # Send message to WebSocket
        await self.send(text_data=json.dumps({"message": message}))
