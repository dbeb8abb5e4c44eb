import os

import pytest
from channels.layers import get_channel_layer

from .helpers import start_redis_server


@pytest.fixture(scope="session")
def redis_url():
    """REDIS_URL if set, else a redis-server of our own on a free port."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    process, url = start_redis_server()
    yield url
    process.terminate()
    process.wait(10)


def layer_settings(redis_url=None):
    """CHANNEL_LAYERS as mysite/settings.py builds it, for the in-memory or the Redis layer."""
    if redis_url is None:
        return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": redis_url, "socket_timeout": 15}]},
        }
    }


@pytest.fixture(params=["memory", "redis"])
def channel_layer(request, settings):
    """Run the test once with each channel layer (changing the setting gives a fresh layer)."""
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    settings.CHANNEL_LAYERS = layer_settings(url)
    return get_channel_layer()
