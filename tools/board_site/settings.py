"""Settings of the classroom board (tools/board.py): one process, no database, nothing on disk."""

import os
import secrets

# Per run: the board signs nothing and keeps no sessions, so no key needs to outlive it.
SECRET_KEY = secrets.token_urlsafe(32)
DEBUG = False
# Set by tools/board.py: the addresses it listens on, plus localhost and 127.0.0.1. The WebSocket's
# origin check (AllowedHostsOriginValidator) and the report endpoint use the same list.
ALLOWED_HOSTS = os.environ.get("BOARD_ALLOWED_HOSTS", "localhost 127.0.0.1").split()
INSTALLED_APPS = ["board_site"]
MIDDLEWARE = ["django.middleware.security.SecurityMiddleware"]
ROOT_URLCONF = "board_site.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
DATABASES = {}
USE_TZ = True
ASGI_APPLICATION = "board_site.asgi.application"
# One process: the in-memory layer carries each update to every open board page. A page may fall
# behind by a whole room's burst of reports (30 learners x 4 stages), so the queue holds more.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels.layers.InMemoryChannelLayer",
        "CONFIG": {"capacity": 1000},
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "no-referrer"
# The page's language when neither ?lang= nor the browser decides: "en" or "ko".
BOARD_LANG = os.environ.get("BOARD_LANG", "")
# The address learners report to, as tools/board.py printed it (the page's empty-board command).
BOARD_ADDRESS = os.environ.get("BOARD_ADDRESS", "")
