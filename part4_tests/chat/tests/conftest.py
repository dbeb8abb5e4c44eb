# chat/tests/conftest.py
from channels.testing import ChannelsLiveServerTestCase


def pytest_collection_modifyitems(items):
    """Run the browser tests first. Their live server is a fork of this process, made when they
    start: it must not inherit the worker thread pool of database_sync_to_async without its
    thread (django/asgiref#194), nor a mysite.asgi imported under the test settings."""
    items.sort(key=lambda item: not issubclass(item.cls or object, ChannelsLiveServerTestCase))
