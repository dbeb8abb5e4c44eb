# chat/consumers.py
import hashlib
import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from .models import Message


def read_message(text_data):
    """The text of a frame like {"message": "hi"}, or None for any other frame."""
    try:
        data = json.loads(text_data)
    except (TypeError, ValueError, RecursionError):  # binary, not JSON, nested too deep
        return None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return data["message"]
    return None


@database_sync_to_async
def get_history(room_name):
    """The room's last 20 messages, oldest first."""
    newest = Message.objects.filter(room=room_name).order_by("-id")[:20]
    return list(newest)[::-1]  # list(): the query runs here, in the worker thread


def room_group(room_name):
    # Group names allow only ASCII letters, digits, "-", "_", "." and under 100 characters:
    # name the group after a hash of the room name, so any room name works.
    return "chat_" + hashlib.sha256(room_name.encode()).hexdigest()


class ChatConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.room_name = self.scope["url_route"]["kwargs"]["room_name"]
        self.room_group_name = room_group(self.room_name)

        # Join room group
        await self.channel_layer.group_add(self.room_group_name, self.channel_name)

        await self.accept()

        # Send the room's history to this socket only. A message saved since we joined the
        # group is in the history and on its way from the group too: remember what was sent.
        history = await get_history(self.room_name)
        self.sent_with_history = {message.id for message in history}
        for message in history:
            await self.send(text_data=json.dumps({"message": message.text}))

    async def disconnect(self, close_code):
        # Leave room group
        await self.channel_layer.group_discard(self.room_group_name, self.channel_name)

    # Receive message from WebSocket
    async def receive(self, text_data=None, bytes_data=None):
        message = read_message(text_data)
        if message is None:
            # Tell the sender only; nothing is saved or broadcast
            await self.send(text_data=json.dumps({"error": 'Send JSON: {"message": "hi"}'}))
            return

        # Save it: the ORM blocks, so it runs in a worker thread
        saved = await database_sync_to_async(Message.objects.create)(
            room=self.room_name, text=message
        )

        # Send message to room group
        await self.channel_layer.group_send(
            self.room_group_name, {"type": "chat.message", "message": message, "id": saved.id}
        )

    # Receive message from room group
    async def chat_message(self, event):
        if event["id"] in self.sent_with_history:
            return
        message = event["message"]

        # Send message to WebSocket
        await self.send(text_data=json.dumps({"message": message}))
