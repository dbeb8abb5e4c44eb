# chat/routing.py
from django.urls import re_path

from . import consumers

websocket_urlpatterns = [
    # [^/]+, not \w+: room names may hold spaces, dots, hyphens, accents, Hangul.
    re_path(r"ws/chat/(?P<room_name>[^/]+)/$", consumers.ChatConsumer.as_asgi()),
]
