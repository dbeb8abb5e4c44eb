"""The board's two endpoints that are not pages: POST /report and the pages' WebSocket."""

import json

from channels.exceptions import StopConsumer
from channels.generic.http import AsyncHttpConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from board_site import live
from board_site.state import MAX_BODY, Refused, bad, too_big

JSON = [(b"content-type", b"application/json; charset=utf-8"), (b"cache-control", b"no-store")]


def header(scope, name):
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return ""


class ReportConsumer(AsyncHttpConsumer):
    """POST /report: a checker's result (tools/board_report.py). The body is counted as it comes,
    and refused once it passes MAX_BODY; a refused report changes nothing."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.size = 0

    async def http_request(self, message):
        if self.size == 0:
            refused = self.refuse_request()
            if refused:
                await self.answer(refused.status, refused.to_dict())
                raise StopConsumer()
        chunk = message.get("body", b"")
        self.size += len(chunk)
        if self.size > MAX_BODY:
            await self.answer(413, too_big(self.size).to_dict())
            raise StopConsumer()
        self.body.append(chunk)
        if not message.get("more_body"):
            await self.handle(b"".join(self.body))
            raise StopConsumer()

    def refuse_request(self):
        """Refused for what the request line and headers say, or None."""
        if self.scope["method"] != "POST":
            return bad(
                "send reports with POST (tools/check.py --report does)",
                "보고는 POST로 보내세요(tools/check.py --report가 그렇게 보냅니다)",
                status=405,
            )
        domain, _ = split_domain_port(header(self.scope, b"host"))
        if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
            return bad(
                "this address is not one the board listens on: use the address it printed",
                "현황판이 연결을 받는 주소가 아닙니다. 현황판이 출력한 주소를 쓰세요",
                status=400,
            )
        if header(self.scope, b"content-type").split(";")[0].strip() != "application/json":
            return bad(
                "a report is JSON (Content-Type: application/json)",
                "보고는 JSON이어야 합니다(Content-Type: application/json)",
                status=415,
            )
        length = header(self.scope, b"content-length")
        if length.isdigit() and int(length) > MAX_BODY:
            return too_big(int(length))
        return None

    async def handle(self, body):
        try:
            update = live.board.accept(body, sender=(self.scope.get("client") or [None])[0])
        except Refused as refused:
            extra = [(b"retry-after", str(refused.retry_after).encode())]
            await self.answer(
                refused.status, refused.to_dict(), extra if refused.retry_after else []
            )
            return
        await self.channel_layer.group_send(live.GROUP, {"type": "board.update", "update": update})
        live.changed()
        await self.answer(200, {"ok": True, "seq": update["seq"]})

    async def answer(self, status, data, headers=()):
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        await self.send_response(status, body, headers=[*JSON, *headers])


class BoardConsumer(AsyncJsonWebsocketConsumer):
    """A board page's socket: the whole state when it opens (so a page that reconnects is
    current again), then one update per accepted report, in order (each carries its seq)."""

    async def connect(self):
        await self.channel_layer.group_add(live.GROUP, self.channel_name)
        await self.accept()
        await self.send_json(live.board.snapshot())

    async def disconnect(self, code):
        await self.channel_layer.group_discard(live.GROUP, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        # A page sends only text; a binary frame is ignored, not an error in the board's terminal.
        if text_data is not None:
            await super().receive(text_data=text_data, **kwargs)

    async def receive_json(self, content, **kwargs):
        # A page that saw a gap in the updates' seq asks for the whole state again.
        if isinstance(content, dict) and content.get("type") == "state":
            await self.send_json(live.board.snapshot())

    async def board_update(self, event):
        await self.send_json(event["update"])

    @classmethod
    async def decode_json(cls, text_data):
        try:
            return json.loads(text_data)
        except ValueError:
            return None
