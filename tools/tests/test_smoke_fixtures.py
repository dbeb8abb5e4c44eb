import json

import pytest
import websockets


@pytest.mark.parametrize("layer", ["memory", "redis"])
async def test_part3_broadcasts(stage_servers, layer):
    server = stage_servers("part3_async", layer)
    url = server.ws_url + "/ws/chat/lobby/"
    async with websockets.connect(url, origin=server.origin) as a, websockets.connect(
        url, origin=server.origin
    ) as b:
        await a.send(json.dumps({"message": "hi"}))
        assert json.loads(await b.recv()) == {"message": "hi"}


def test_browser_focus(stage_servers, browser):
    server = stage_servers("part1_echo")
    browser.get(server.base_url + "/chat/")
    assert browser.switch_to.active_element.get_attribute("id") == "room-name-input"
