# chat/routing.py
from channels.security.websocket import WebsocketDenier
from django.urls import re_path

from . import consumers

websocket_urlpatterns = [
    # [^/]+, not \w+: room names may hold spaces, dots, hyphens, accents, Hangul.
    re_path(r"ws/chat/(?P<room_name>[^/]+)/$", consumers.ChatConsumer.as_asgi()),
    # Any other path: refuse the handshake (403) instead of failing with "No route found" (500).
    re_path(r"", WebsocketDenier.as_asgi()),
]
