# chat/tests/test_channel_layer.py
"""The official tutorial's channel layer check (Part 2), the lines you type in `manage.py shell`."""

from asgiref.sync import async_to_sync


def test_channel_layer_check(channel_layer):
    # channel_layer is what channels.layers.get_channel_layer() returns: in memory, then Redis
    async_to_sync(channel_layer.send)("test_channel", {"type": "hello"})
    assert async_to_sync(channel_layer.receive)("test_channel") == {"type": "hello"}
