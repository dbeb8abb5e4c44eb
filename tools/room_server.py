"""Serve a stage to the whole room: every laptop on the same Wi-Fi opens the printed LAN URL.

    uv run python tools/room_server.py part3_async     # http://<LAN address>:8000/chat/
    uv run python tools/room_server.py part3 --port 8010
    uv run python tools/room_server.py part3 --host 192.168.0.10     # name the address yourself

Applies the stage's migrations first (`manage.py migrate`): a browser that sends a `sessionid`
cookie for this host, as the instructor's own tab often does, gets no chat on a stage without the
sessions table. Then runs the stage's own `manage.py runserver 0.0.0.0:PORT` with
DJANGO_ALLOWED_HOSTS set to this machine's LAN address(es) plus `localhost` and `127.0.0.1` (the
stages' ALLOWED_HOSTS, which the WebSocket origin check uses too). REDIS_URL, when set, is passed
on. Ctrl+C stops it.
"""

import argparse
import ipaddress
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

from bilingual import Text
from doctor import port_in_use
from stages import ROOT, STAGES

LOCAL_HOSTS = ["localhost", "127.0.0.1"]
ALIASES = {stage.split("_")[0]: stage for stage in STAGES}  # part1 -> part1_echo

FIREWALL = {
    "win32": Text(
        "Windows Defender Firewall may ask whether Python may communicate on networks: tick "
        "'Private networks' and click 'Allow access'. If you clicked Cancel, allow python.exe "
        "in 'Allow an app through Windows Firewall', and set the Wi-Fi to a Private network.",
        "Windows Defender 방화벽이 Python의 네트워크 통신을 허용할지 물으면 '개인 네트워크'에 "
        "체크하고 '액세스 허용'을 누르세요. 이미 취소했다면 'Windows 방화벽을 통해 앱 허용'에서 "
        "python.exe를 허용하고, Wi-Fi를 개인 네트워크로 두세요.",
    ),
    "darwin": Text(
        "macOS may ask whether 'python3' may accept incoming network connections: click "
        "Allow. With the firewall in 'Block all incoming connections' mode no one can join: "
        "turn that off in System Settings > Network > Firewall > Options.",
        "macOS가 'python3'의 들어오는 네트워크 연결을 허용할지 물으면 '허용'을 누르세요. "
        "방화벽이 '들어오는 연결 모두 차단'이면 아무도 들어올 수 없으니 시스템 설정 > 네트워크 "
        "> 방화벽 > 옵션에서 그 설정을 끄세요.",
    ),
    "linux": Text(
        "If a firewall is on (ufw, firewalld), open the port for the room: "
        "`sudo ufw allow {port}/tcp` or `sudo firewall-cmd --add-port={port}/tcp`.",
        "방화벽(ufw, firewalld)이 켜져 있으면 포트를 여세요: `sudo ufw allow {port}/tcp` "
        "또는 `sudo firewall-cmd --add-port={port}/tcp`",
    ),
}


# Interfaces that carry another network than the room's: container and VM bridges, VPN tunnels.
# Names as Linux, macOS and Windows show them.
OTHER_NETWORKS = [
    (re.compile(r"^(docker|br-[0-9a-f]|veth|podman|cni|flannel|cali|lxcbr|lxdbr)"), "containers"),
    (
        re.compile(r"^(virbr|vboxnet|vmnet|bridge\d)|VirtualBox|VMware|Hyper-V|vEthernet", re.I),
        "VMs",
    ),
    (re.compile(r"^(utun|tun|tap|wg|tailscale|zt|ipsec|ppp)|VPN|Tailscale|ZeroTier", re.I), "VPN"),
]
WHY_NOT = {
    "containers": Text("a container network (Docker, Podman)", "컨테이너 네트워크(Docker, Podman)"),
    "VMs": Text(
        "a virtual machine network (WSL, VirtualBox, VMware)",
        "가상 머신 네트워크(WSL, VirtualBox, VMware)",
    ),
    "VPN": Text("a VPN tunnel", "VPN 터널"),
    "link-local": Text(
        "link-local: that network gave no address",
        "링크 로컬: 네트워크가 주소를 주지 않음",
    ),
    "down": Text("its interface is down", "인터페이스가 꺼져 있음"),
}


def route_address():
    """The address this machine's default route leaves from (the Wi-Fi's, usually), or None.
    A UDP connect only looks the route up: nothing is sent."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("198.51.100.1", 9))  # TEST-NET-2: routed by the default route, never used
            return s.getsockname()[0]
    except OSError:
        return None


def interfaces():
    """({interface: [IPv4 addresses]}, {interface: is up}); without psutil, the host name's
    addresses under one unnamed interface."""
    try:
        import psutil
    except ImportError:  # psutil comes with the test group; a bare install still gets an answer
        try:
            found = socket.gethostbyname_ex(socket.gethostname())[2]
        except OSError:
            found = []
        return {"": found}, {}
    addresses = {
        name: [a.address for a in addrs if a.family == socket.AF_INET]
        for name, addrs in psutil.net_if_addrs().items()
    }
    return addresses, {name: stats.isup for name, stats in psutil.net_if_stats().items()}


def classify(addresses, up=None, route=None):
    """([address a laptop on the room's network can reach], [(address, interface, reason)] for the
    others). Loopback is left out of both; the default route's address comes first."""
    up = up or {}
    room, others = [], []
    for name, found in addresses.items():
        for address in found:
            ip = ipaddress.ip_address(address)
            if ip.is_loopback or ip.is_unspecified or address in room:
                continue
            kind = next((k for pattern, k in OTHER_NETWORKS if pattern.search(name)), None)
            if ip.is_link_local:
                kind = "link-local"
            elif kind is None and up.get(name) is False:
                kind = "down"
            if kind:
                others.append((address, name, kind))
            else:
                room.append(address)
    room.sort(key=lambda a: a != route)
    return room, others


def lan_addresses():
    """(addresses laptops on the room's network can reach, [(address, interface, reason)])."""
    found, up = interfaces()
    route = route_address()
    if route and not any(route in a for a in found.values()):
        found.setdefault("", []).append(route)
    return classify(found, up, route)


def allowed_hosts(lan):
    return [*lan, *LOCAL_HOSTS]


def stage_folder(name):
    """A stage name (part3_async, part3) or a stage folder's path -> that folder."""
    name = ALIASES.get(name, name)
    for folder in (ROOT / name, Path(name)):
        if (folder / "manage.py").is_file():
            return folder.resolve()
    return None


def show(lang, text):
    """Print text in "en", "ko" or (any other value) both, English first, a line each."""
    print(text[lang] if lang in ("en", "ko") else f"{text.en}\n{text.ko}")


def show_others(lang, others):
    """The addresses lan_addresses() left out of the room, each with why (nothing if none)."""
    if not others:
        return
    show(
        lang,
        Text(
            "Not for the room (another network on this machine, not allowed):",
            "강의실용이 아닌 주소(이 컴퓨터의 다른 네트워크, 허용하지 않음):",
        ),
    )
    for address, name, kind in others:
        why = WHY_NOT[kind]
        why = why[lang] if lang in ("en", "ko") else f"{why.en} / {why.ko}"
        print(f"    {address} ({name}: {why})" if name else f"    {address} ({why})")


def migrate(folder, env, lang):
    """`manage.py migrate`, so a browser's stale `sessionid` cookie finds the sessions table."""
    done = subprocess.run(
        [sys.executable, str(folder / "manage.py"), "migrate", "--noinput", "--skip-checks"],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode == 0:
        show(
            lang,
            Text(
                "Migrations applied (manage.py migrate): browsers that send a sessionid cookie "
                "chat too.",
                "마이그레이션을 적용했습니다(manage.py migrate). sessionid 쿠키를 보내는 "
                "브라우저에서도 채팅이 됩니다.",
            ),
        )
        return True
    last = (done.stderr.strip().splitlines() or ["?"])[-1]
    show(
        lang,
        Text(
            f"manage.py migrate failed ({last}): a browser that sends a sessionid cookie for this "
            "host will get no chat.",
            f"manage.py migrate가 실패했습니다({last}). 이 호스트의 sessionid 쿠키를 보내는 "
            "브라우저에서는 채팅이 되지 않습니다.",
        ),
    )
    return False


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", help=f"one of {', '.join(STAGES)} (or part1..part4, or a folder)")
    parser.add_argument("--port", type=int, default=8000, help="port to serve on (default 8000)")
    parser.add_argument(
        "--host",
        action="append",
        metavar="ADDRESS",
        help="the LAN address laptops use (repeatable; default: every non-loopback IPv4 "
        "address of this machine)",
    )
    parser.add_argument("--lang", choices=["en", "ko", "both"], default="both")
    args = parser.parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")

    folder = stage_folder(args.stage)
    if folder is None:
        parser.error(
            f"no stage called {args.stage!r}: choose one of {', '.join(STAGES)} "
            "(or part1..part4, or the path of a folder with manage.py)"
        )
    if not 1 <= args.port <= 65535:
        parser.error(f"--port must be 1-65535, not {args.port}")
    if port_in_use(args.port):
        show(
            args.lang,
            Text(
                f"Port {args.port} is in use (another runserver?). Stop it, or serve on another "
                f"port: --port {args.port + 10}",
                f"포트 {args.port}번을 이미 쓰고 있습니다(다른 runserver?). 그 서버를 끝내거나 "
                f"다른 포트로 실행하세요: --port {args.port + 10}",
            ),
        )
        return 1

    lan, others = (args.host, []) if args.host else lan_addresses()
    hosts = allowed_hosts(lan)
    if lan:
        show(args.lang, Text("Laptops in the room open:", "강의실의 노트북에서 열 주소:"))
        for address in lan:
            print(f"    http://{address}:{args.port}/chat/")
    show_others(args.lang, others)
    if not lan:
        show(
            args.lang,
            Text(
                "No LAN address found: is this machine on the room's Wi-Fi? Serving on this "
                "machine only.",
                "LAN 주소를 찾지 못했습니다. 이 컴퓨터가 강의실 Wi-Fi에 연결되어 있나요? 지금은 이 "
                "컴퓨터에서만 열 수 있습니다.",
            ),
        )
    show(args.lang, Text("On this machine:", "이 컴퓨터에서:"))
    print(f"    http://127.0.0.1:{args.port}/chat/")
    print(f"DJANGO_ALLOWED_HOSTS={' '.join(hosts)}")
    if FIREWALL.get(sys.platform):
        show(args.lang, FIREWALL[sys.platform].format(port=args.port))
    if folder.name != STAGES[0]:  # part1 has no channel layer
        redis = os.environ.get("REDIS_URL")
        show(
            args.lang,
            Text(
                f"Channel layer: {'Redis at REDIS_URL' if redis else 'in memory (one process)'}.",
                f"채널 레이어: {'REDIS_URL의 Redis' if redis else '인메모리(프로세스 하나)'}.",
            ),
        )
    show(args.lang, Text("Ctrl+C stops the server.", "Ctrl+C로 서버를 멈춥니다."))
    sys.stdout.flush()

    env = {**os.environ, "DJANGO_ALLOWED_HOSTS": " ".join(hosts)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    migrate(folder, env, args.lang)
    command = [sys.executable, str(folder / "manage.py"), "runserver", f"0.0.0.0:{args.port}"]
    server = subprocess.Popen(command, env=env)
    try:
        return server.wait()
    except KeyboardInterrupt:  # the server got the same Ctrl+C
        try:
            return server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            return server.wait()


if __name__ == "__main__":
    sys.exit(main())
