import json

from channels.generic.websocket import WebsocketConsumer

MAX_ROOM_NAME_LENGTH = 100
MAX_MESSAGE_LENGTH = 2000


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


class ChatConsumer(WebsocketConsumer):
    def connect(self):
        if len(self.scope["url_route"]["kwargs"]["room_name"]) > MAX_ROOM_NAME_LENGTH:
            self.close()  # before accept: the handshake is refused with HTTP 403
            return
        self.accept()

    def disconnect(self, close_code):
        pass

    def receive(self, text_data=None, bytes_data=None):
        message, error = read_message(text_data, bytes_data)
        if error:
            self.send(text_data=json.dumps({"error": error}))
            return

        self.send(text_data=json.dumps({"message": message}))
