# chat/consumers.py
import hashlib
import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from redis.exceptions import RedisError

from .models import MAX_ROOM_NAME_LENGTH, Message

HISTORY_LENGTH = 20
MAX_MESSAGE_LENGTH = 2000

logger = logging.getLogger(__name__)


# The ORM blocks its thread: database_sync_to_async runs it in a worker thread.
@database_sync_to_async
def last_messages(room_name):
    """The room's last messages, oldest first."""
    newest = Message.objects.filter(room=room_name).order_by("-id")[:HISTORY_LENGTH]
    return [message.text for message in reversed(newest)]  # a list: the query runs here


def read_message(text_data):
    """Return (message, None) for a good frame, or (None, what is wrong with it)."""
    if text_data is None:
        return None, 'Binary frames are not accepted: send text like {"message": "hi"}.'
    try:
        data = json.loads(text_data)
    except (ValueError, RecursionError):
        return None, 'Not JSON: send {"message": "hi"}.'
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, str):
        return None, 'Send a JSON object with a "message" string: {"message": "hi"}.'
    if not message.strip():
        return None, "The message is empty."
    if len(message) > MAX_MESSAGE_LENGTH:
        return None, f"The message is longer than {MAX_MESSAGE_LENGTH} characters."
    return message, None


class ChatConsumer(AsyncWebsocketConsumer):
    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        except RedisError as error:
            # The Redis channel layer lost its server: close with 4013, "try again later",
            # instead of crashing (1011). The page reconnects once Redis is back.
            logger.warning("Redis is unavailable (%s): closing a chat socket with 4013", error)
            await send({"type": "websocket.close", "code": 4013})

    async def connect(self):
        self.room_name = self.scope["url_route"]["kwargs"]["room_name"]
        # Group names allow only ASCII letters, digits, "-", "_", "." and under 100 characters:
        # name the group after a hash of the room name, so any room name works.
        self.room_group_name = "chat_" + hashlib.sha256(self.room_name.encode()).hexdigest()

        # Each saved message holds its room name: refuse a name that does not fit
        if len(self.room_name) > MAX_ROOM_NAME_LENGTH:
            await self.close()  # before accept(): the handshake is refused (HTTP 403)
            return

        # Join room group
        await self.channel_layer.group_add(self.room_group_name, self.channel_name)

        await self.accept()

        # Send the room's history to this socket only
        for message in await last_messages(self.room_name):
            await self.send(text_data=json.dumps({"message": message}))

    async def disconnect(self, close_code):
        # Leave room group
        await self.channel_layer.group_discard(self.room_group_name, self.channel_name)

    # Receive message from WebSocket
    async def receive(self, text_data=None, bytes_data=None):
        message, error = read_message(text_data)
        if error:
            # Tell the sender only; nothing is saved or broadcast
            await self.send(text_data=json.dumps({"error": error}))
            return

        # Save message (the ORM call, run in a worker thread)
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
