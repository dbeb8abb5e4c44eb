"""Serve a stage to the whole room: every laptop on the same Wi-Fi opens the printed LAN URL.

    uv run python tools/room_server.py part3_async     # http://<LAN address>:8000/chat/
    uv run python tools/room_server.py part3 --port 8010
    uv run python tools/room_server.py part3 --host 192.168.0.10     # name the address yourself

Runs the stage's own `manage.py runserver 0.0.0.0:PORT` with DJANGO_ALLOWED_HOSTS set to this
machine's LAN address(es) plus `localhost` and `127.0.0.1` (the stages' ALLOWED_HOSTS, which the
WebSocket origin check uses too). REDIS_URL, when set, is passed on. Ctrl+C stops it.
"""

import argparse
import ipaddress
import os
import socket
import subprocess
import sys
from pathlib import Path

from stages import ROOT, STAGES

LOCAL_HOSTS = ["localhost", "127.0.0.1"]
ALIASES = {stage.split("_")[0]: stage for stage in STAGES}  # part1 -> part1_echo

FIREWALL = {
    "win32": (
        "Windows Defender Firewall may ask whether Python may communicate on networks: tick "
        "'Private networks' and click 'Allow access'. If you clicked Cancel, allow python.exe "
        "in 'Allow an app through Windows Firewall', and set the Wi-Fi to a Private network.",
        "Windows Defender 방화벽이 Python의 네트워크 통신을 허용할지 물으면 '개인 네트워크'에 "
        "체크하고 '액세스 허용'을 누르세요. 이미 취소했다면 'Windows 방화벽을 통해 앱 허용'에서 "
        "python.exe를 허용하고, Wi-Fi를 개인 네트워크로 두세요.",
    ),
    "darwin": (
        "macOS may ask whether 'python3' may accept incoming network connections: click "
        "Allow. With the firewall in 'Block all incoming connections' mode no one can join: "
        "turn that off in System Settings > Network > Firewall > Options.",
        "macOS가 'python3'의 들어오는 네트워크 연결을 허용할지 물으면 '허용'을 누르세요. "
        "방화벽이 '들어오는 연결 모두 차단'이면 아무도 들어올 수 없으니 시스템 설정 > 네트워크 "
        "> 방화벽 > 옵션에서 그 설정을 끄세요.",
    ),
    "linux": (
        "If a firewall is on (ufw, firewalld), open the port for the room: "
        "`sudo ufw allow {port}/tcp` or `sudo firewall-cmd --add-port={port}/tcp`.",
        "방화벽(ufw, firewalld)이 켜져 있으면 포트를 여세요: `sudo ufw allow {port}/tcp` "
        "또는 `sudo firewall-cmd --add-port={port}/tcp`",
    ),
}


def lan_addresses():
    """This machine's non-loopback IPv4 addresses (link-local 169.254.x.x left out)."""
    found = []
    try:
        import psutil

        candidates = [
            a.address
            for addrs in psutil.net_if_addrs().values()
            for a in addrs
            if a.family == socket.AF_INET
        ]
    except ImportError:  # psutil comes with the test group; a bare install still gets an answer
        try:
            candidates = socket.gethostbyname_ex(socket.gethostname())[2]
        except OSError:
            candidates = []
    for address in candidates:
        ip = ipaddress.ip_address(address)
        if not (ip.is_loopback or ip.is_link_local or ip.is_unspecified) and address not in found:
            found.append(address)
    return found


def allowed_hosts(lan):
    return [*lan, *LOCAL_HOSTS]


def stage_folder(name):
    """A stage name (part3_async, part3) or a stage folder's path -> that folder."""
    name = ALIASES.get(name, name)
    for folder in (ROOT / name, Path(name)):
        if (folder / "manage.py").is_file():
            return folder.resolve()
    return None


def port_is_free(port):
    with socket.socket() as s:
        if os.name != "nt":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def say(lang, en, ko):
    print({"en": en, "ko": ko}.get(lang, f"{en}\n{ko}"))


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
    if not port_is_free(args.port):
        say(
            args.lang,
            f"Port {args.port} is in use (another runserver?). Stop it, or serve on another "
            f"port: --port {args.port + 10}",
            f"포트 {args.port}번을 이미 쓰고 있습니다(다른 runserver?). 그 서버를 끝내거나 다른 "
            f"포트로 실행하세요: --port {args.port + 10}",
        )
        return 1

    lan = args.host or lan_addresses()
    hosts = allowed_hosts(lan)
    if lan:
        say(args.lang, "Laptops in the room open:", "강의실의 노트북에서 열 주소:")
        for address in lan:
            print(f"    http://{address}:{args.port}/chat/")
    else:
        say(
            args.lang,
            "No LAN address found: is this machine on the room's Wi-Fi? Serving on this "
            "machine only.",
            "LAN 주소를 찾지 못했습니다. 이 컴퓨터가 강의실 Wi-Fi에 연결되어 있나요? 지금은 이 "
            "컴퓨터에서만 열 수 있습니다.",
        )
    say(args.lang, "On this machine:", "이 컴퓨터에서:")
    print(f"    http://127.0.0.1:{args.port}/chat/")
    print(f"DJANGO_ALLOWED_HOSTS={' '.join(hosts)}")
    if FIREWALL.get(sys.platform):
        en, ko = FIREWALL[sys.platform]
        say(args.lang, en.format(port=args.port), ko.format(port=args.port))
    if folder.name != STAGES[0]:  # part1 has no channel layer
        redis = os.environ.get("REDIS_URL")
        say(
            args.lang,
            f"Channel layer: {'Redis at REDIS_URL' if redis else 'in memory (one process)'}.",
            f"채널 레이어: {'REDIS_URL의 Redis' if redis else '인메모리(프로세스 하나)'}.",
        )
    say(args.lang, "Ctrl+C stops the server.", "Ctrl+C로 서버를 멈춥니다.")
    sys.stdout.flush()

    env = {**os.environ, "DJANGO_ALLOWED_HOSTS": " ".join(hosts)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
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
