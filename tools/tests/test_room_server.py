"""tools/room_server.py: an instructor serves a stage on every interface, and a laptop on the room's
Wi-Fi (its Host and Origin name the instructor's LAN address) gets the page and the chat, while the
instructor's own tab on 127.0.0.1 works too.

Traffic goes to loopback only: the "LAN laptop" connects to 127.0.0.2 and sends the Host and Origin
that a laptop reaching 192.168.0.10 would send.
"""

import http.client
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys

import pytest
import room_server
import websockets
import yaml
from chat_client import connect_via, recv_json, say, socket_path
from conftest import missing
from servers import free_port, wait_until
from stages import ROOT, copy_stage

# One worker: the module's server (or clone) is started once.
pytestmark = pytest.mark.xdist_group("room_server")
LAN = "192.168.0.10"  # the instructor's address as a laptop sees it; never connected to
TOOL = str(ROOT / "tools" / "room_server.py")
LOBBY = socket_path("lobby")


def get(address, port, path, host):
    conn = http.client.HTTPConnection(address, port, timeout=5)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        conn.close()


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    if not sys.platform.startswith("linux"):
        pytest.skip("127.0.0.2 answers on Linux only (macOS and Windows route just 127.0.0.1)")
    stage = tmp_path_factory.mktemp("room") / "part3_async"
    copy_stage("part3_async", stage)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_ALLOWED_HOSTS")}
    log = open(stage.parent / "room.log", "w+")
    proc = subprocess.Popen(
        [sys.executable, TOOL, str(stage), "--port", str(port), "--host", LAN, "--lang", "en"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**env, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )

    def serves():
        assert proc.poll() is None, open(log.name).read()
        try:
            return get("127.0.0.1", port, "/chat/", f"127.0.0.1:{port}")[0] == 200
        except OSError:
            return False

    try:
        wait_until(serves, 90, "the room server")  # migrate, then runserver; slow when loaded
        yield port, open(log.name).read()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
        log.close()


def test_prints_the_lan_url_and_the_allowed_hosts(room):
    port, out = room
    assert "Migrations applied (manage.py migrate)" in out
    assert f"http://{LAN}:{port}/chat/" in out
    assert f"http://127.0.0.1:{port}/chat/" in out
    assert f"DJANGO_ALLOWED_HOSTS={LAN} localhost 127.0.0.1" in out
    assert "ufw allow" in out  # the firewall note for this OS


def test_listens_on_every_interface(room):
    port, _ = room
    assert get("127.0.0.2", port, "/chat/", f"127.0.0.2:{port}")[0] == 400  # not an allowed host
    status, page = get("127.0.0.2", port, "/chat/lobby/", f"{LAN}:{port}")
    assert status == 200 and 'id="chat-log"' in page


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_the_instructors_own_tab_still_works(room, host):
    port, _ = room
    assert get("127.0.0.1", port, "/chat/", f"{host}:{port}")[0] == 200


async def test_a_lan_laptop_and_the_instructor_chat_in_one_room(room):
    port, _ = room
    lan_host, local = f"{LAN}:{port}", f"127.0.0.1:{port}"
    async with (
        connect_via("127.0.0.2", port, lan_host, LOBBY, origin=f"http://{lan_host}") as laptop,
        connect_via("127.0.0.1", port, local, LOBBY, origin=f"http://{local}") as instructor,
    ):
        await say(laptop, "안녕하세요 from the back row")
        assert await recv_json(instructor) == {"message": "안녕하세요 from the back row"}
        assert await recv_json(laptop) == {"message": "안녕하세요 from the back row"}


async def test_the_instructors_tab_with_a_stale_session_cookie_chats(room):
    """A `sessionid` left by another Django project on 127.0.0.1: the room server migrated the
    stage, so the session lookup finds the table (and no session) instead of failing."""
    port, _ = room
    local = f"127.0.0.1:{port}"
    stale = {"Cookie": "sessionid=2b1x6yzq8v0kq3m7n4c5d9e0f1g2h3j4"}
    async with connect_via(
        "127.0.0.1",
        port,
        local,
        socket_path("cookie"),
        origin=f"http://{local}",
        additional_headers=stale,
    ) as tab:
        await say(tab, "still here")
        assert await recv_json(tab) == {"message": "still here"}


async def test_an_origin_outside_the_allowed_hosts_is_refused(room):
    port, _ = room
    other = f"192.168.0.99:{port}"
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with connect_via("127.0.0.2", port, other, LOBBY, origin=f"http://{other}"):
            pass
    assert refused.value.response.status_code == 403


def test_lan_addresses_are_ipv4_and_never_loopback():
    room, _ = room_server.lan_addresses()
    for address in room:
        ip = ipaddress.ip_address(address)
        assert ip.version == 4 and not ip.is_loopback and not ip.is_link_local


# A laptop as the room server sees it: Wi-Fi, Docker (one bridge with containers, one without),
# WSL's and VirtualBox's networks, a VPN, an Ethernet port with no DHCP answer, a switched-off card.
LAPTOP = {
    "lo": ["127.0.0.1"],
    "wlan0": ["192.168.0.10"],
    "Wi-Fi": ["10.20.30.40"],
    "docker0": ["172.17.0.1"],
    "br-3e43e5abba37": ["172.18.0.1"],
    "vEthernet (WSL)": ["172.25.160.1"],
    "vboxnet0": ["192.168.56.1"],
    "utun4": ["10.8.0.6"],
    "en7": ["169.254.12.34"],
    "eth1": ["192.168.77.2"],
}
UP = {name: name not in ("br-3e43e5abba37", "eth1") for name in LAPTOP}


def test_only_the_rooms_network_is_listed_and_the_default_route_comes_first():
    room, others = room_server.classify(LAPTOP, UP, route="10.20.30.40")
    assert room == ["10.20.30.40", "192.168.0.10"]
    assert [(address, kind) for address, _, kind in others] == [
        ("172.17.0.1", "containers"),
        ("172.18.0.1", "containers"),
        ("172.25.160.1", "VMs"),
        ("192.168.56.1", "VMs"),
        ("10.8.0.6", "VPN"),
        ("169.254.12.34", "link-local"),
        ("192.168.77.2", "down"),
    ]


def test_this_machines_docker_bridges_are_not_offered_to_the_room():
    import psutil

    bridges = {
        a.address
        for name, addrs in psutil.net_if_addrs().items()
        if name.startswith(("docker", "br-"))
        for a in addrs
        if a.family == socket.AF_INET
    }
    room, others = room_server.lan_addresses()
    assert not bridges & set(room)
    assert bridges <= {address for address, _, _ in others}
    route = room_server.route_address()
    if route and not ipaddress.ip_address(route).is_loopback and route not in bridges:
        assert room[0] == route


def run_tool(*args):
    return subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True, timeout=30)


def test_without_host_it_prints_the_rooms_address_and_labels_the_others(tmp_path):
    """The tool as an instructor starts it, with the addresses of this machine."""
    stage = tmp_path / "part1_echo"
    copy_stage("part1_echo", stage)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, TOOL, str(stage), "--port", str(port), "--lang", "en"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line.rstrip())
            if line.startswith("Ctrl+C stops the server."):
                break
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    out = "\n".join(lines)
    room, others = room_server.lan_addresses()
    for address in room:
        assert f"    http://{address}:{port}/chat/" in out
    for address, name, kind in others:
        assert f"    {address} ({name}: {room_server.WHY_NOT[kind].en})" in out
        assert f"http://{address}:" not in out
    allowed = next(line for line in lines if line.startswith("DJANGO_ALLOWED_HOSTS="))
    assert allowed.split("=", 1)[1].split() == [*room, "localhost", "127.0.0.1"]


def test_unknown_stage_names_the_stages():
    result = run_tool("part9")
    assert result.returncode == 2
    assert "no stage called 'part9'" in result.stderr and "part1_echo" in result.stderr


def test_port_in_use_says_which_port_to_use_instead():
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_tool("part1", "--port", str(port), "--lang", "en")
    assert result.returncode == 1
    assert f"Port {port} is in use" in result.stdout and f"--port {port + 10}" in result.stdout


def compose_config(env):
    """docker-compose.yml as the compose CLI resolves it with this environment."""
    docker = shutil.which("docker")
    cli = None
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        cli = [docker, "compose"]
    elif shutil.which("docker-compose"):
        cli = ["docker-compose"]
    if cli is None:
        missing("docker-compose")
    base = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOWED_HOSTS"}
    result = subprocess.run(
        [*cli, "-f", str(ROOT / "docker-compose.yml"), "--profile", "scale", "config"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**base, **env},
        check=True,
    )
    return yaml.safe_load(result.stdout)["services"]


def test_compose_takes_the_allowed_hosts_from_the_environment():
    default = "${DJANGO_ALLOWED_HOSTS:-localhost 127.0.0.1}"
    assert f"DJANGO_ALLOWED_HOSTS: {default}" in (ROOT / "docker-compose.yml").read_text()
    room_hosts = f"{LAN} localhost 127.0.0.1"
    services = compose_config({"DJANGO_ALLOWED_HOSTS": room_hosts})
    stages = [name for name in services if name.startswith("part")]
    assert len(stages) >= 4
    for name in stages:
        assert services[name]["environment"]["DJANGO_ALLOWED_HOSTS"] == room_hosts, name
