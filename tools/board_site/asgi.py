"""The board's ASGI application: the page (Django), POST /report and the pages' WebSocket."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "board_site.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path, re_path  # noqa: E402

from board_site.consumers import BoardConsumer, ReportConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": URLRouter(
            [re_path(r"^report/?$", ReportConsumer.as_asgi()), re_path(r"", django_asgi_app)]
        ),
        "websocket": AllowedHostsOriginValidator(
            URLRouter([path("ws/board/", BoardConsumer.as_asgi())])
        ),
    }
)
