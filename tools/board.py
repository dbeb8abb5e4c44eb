"""The classroom board: every learner's checkpoints on one page, live, as they run the checker.

    uv run python tools/board.py                         # every interface, port 8100
    uv run python tools/board.py --host 192.168.0.10 --port 8110
    uv run python tools/board.py --save board.json       # keep the state in board.json

Prints the address learners report to, the join code and the command they run
(`tools/check.py STAGE --report ADDRESS --name NAME --code CODE`). The page (open it on the
projector) is a learner x stage grid that updates over a WebSocket. A small Django Channels
project in tools/board_site/, served by daphne in this one process on the in-memory layer. Nothing
is written anywhere unless --save names a file; Ctrl+C stops it.
"""

import argparse
import ipaddress
import os
import socket
import sys

from bilingual import Text
from room_server import FIREWALL, LOCAL_HOSTS, lan_addresses, show, show_others

DEFAULT_PORT = 8100  # beside the room server's 8000 and the stages' 8001-8004


def listen_problem(host, port):
    """Why nothing can listen on host:port (an OSError's text), or None."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        if os.name != "nt":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as error:
            return error.strerror or str(error)
    return None


def addresses_for(host):
    """(addresses learners use, [(address, interface, why not)]) for the address listened on."""
    ip = ipaddress.ip_address(host)
    if ip.is_unspecified:
        return lan_addresses()
    return [host], []


def shown(address, port):
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--host",
        default="0.0.0.0",
        metavar="ADDRESS",
        help="the address to listen on (default 0.0.0.0: every interface; 127.0.0.1: this "
        "machine only)",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="default 8100")
    parser.add_argument("--code", help="the join code (default: a new one per run)")
    parser.add_argument("--save", metavar="FILE", help="keep the state in FILE (read at start)")
    parser.add_argument(
        "--lang",
        choices=["en", "ko", "both"],
        default="both",
        help="the terminal's language; en or ko also sets the page's (else the browser's)",
    )
    args = parser.parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")
    try:
        listen_on = str(ipaddress.ip_address(args.host.strip("[]")))
    except ValueError:
        parser.error(f"--host must be an IP address of this machine, not {args.host!r}")
    if not 1 <= args.port <= 65535:
        parser.error(f"--port must be 1-65535, not {args.port}")
    problem = listen_problem(listen_on, args.port)
    if problem:
        show(
            args.lang,
            Text(
                f"Cannot listen on {shown(listen_on, args.port)} ({problem}). Another program has "
                f"the port, or the address is not this machine's: try --port {args.port + 10}.",
                f"{shown(listen_on, args.port)}에서 연결을 받을 수 없습니다({problem}). 다른 "
                "프로그램이 포트를 쓰고 있거나 이 컴퓨터의 주소가 아닙니다. 다른 포트로 실행해 "
                f"보세요: --port {args.port + 10}",
            ),
        )
        return 1

    learners_use, others = addresses_for(listen_on)
    hosts = [*learners_use, *LOCAL_HOSTS]
    first = learners_use[0] if learners_use else "127.0.0.1"
    address = shown(first, args.port)
    os.environ["BOARD_ALLOWED_HOSTS"] = " ".join(hosts)
    # The page opened on the projector is at 127.0.0.1: its command shows the room's address.
    os.environ["BOARD_ADDRESS"] = address
    os.environ["BOARD_LANG"] = args.lang if args.lang in ("en", "ko") else ""
    os.environ["DJANGO_SETTINGS_MODULE"] = "board_site.settings"

    # daphne.server installs Twisted's asyncio reactor: it comes before anything imports Twisted.
    from daphne.server import Server  # isort: skip
    from board_site import live
    from board_site.asgi import application
    from daphne.endpoints import build_endpoint_description_strings

    resumed = False
    if args.save and os.path.exists(args.save):
        try:
            live.board.load(args.save, keep_code=bool(args.code))
            resumed = True
        except (OSError, ValueError, KeyError, TypeError) as error:
            show(
                args.lang,
                Text(
                    f"Cannot read {args.save} ({error}): move it away or name another file.",
                    f"{args.save}을(를) 읽을 수 없습니다({error}). 파일을 다른 곳으로 옮기거나 "
                    "다른 파일을 지정하세요.",
                ),
            )
            return 1
    if args.code:
        live.board.code = args.code.strip().upper()
    live.save_path = args.save

    code = live.board.code
    show(args.lang, Text("Classroom board", "강의실 현황판"))
    show(args.lang, Text("Learners report to:", "학습자가 보고할 주소:"))
    for found in learners_use:
        print(f"    {shown(found, args.port)}")
    show_others(args.lang, others)
    if ipaddress.ip_address(first).is_loopback:
        show(
            args.lang,
            Text(
                "Only this machine can reach the board on a loopback address: for the room, start "
                "it without --host (or with the room's address).",
                "루프백 주소에서는 이 컴퓨터에서만 현황판에 접속할 수 있습니다. 강의실에서 쓰려면 "
                "--host 없이(또는 강의실 네트워크의 주소로) 실행하세요.",
            ),
        )
    show(args.lang, Text(f"Join code: {code}", f"참가 코드: {code}"))
    show(
        args.lang,
        Text(
            "Each learner runs, at every checkpoint:",
            "학습자는 체크포인트마다 다음 명령을 실행합니다:",
        ),
    )
    name = {"en": "YOUR_NAME", "ko": "이름"}.get(args.lang, "YOUR_NAME")
    print(f"    uv run python tools/check.py STAGE --report {address} --name {name} --code {code}")
    show(args.lang, Text("Open the board (on the projector):", "프로젝터에 띄울 현황판 주소:"))
    page = "127.0.0.1" if listen_on in ("0.0.0.0", "::") else first
    print(f"    http://{shown(page, args.port)}/")
    if args.save:
        show(
            args.lang,
            Text(
                f"State {'read from' if resumed else 'kept in'} {args.save}, written as reports "
                "arrive.",
                f"상태를 {args.save}에서 읽었습니다. 보고가 올 때마다 이 파일에 씁니다."
                if resumed
                else f"보고가 올 때마다 상태를 {args.save}에 씁니다.",
            ),
        )
    else:
        show(
            args.lang,
            Text(
                "Nothing is written to disk: the board forgets everything when it stops.",
                "디스크에는 아무것도 쓰지 않습니다. 현황판을 멈추면 모두 사라집니다.",
            ),
        )
    if FIREWALL.get(sys.platform) and not ipaddress.ip_address(first).is_loopback:
        show(args.lang, FIREWALL[sys.platform].format(port=args.port))
    show(args.lang, Text("Ctrl+C stops the board.", "Ctrl+C로 현황판을 멈춥니다."))
    sys.stdout.flush()

    server = Server(
        application,
        endpoints=build_endpoint_description_strings(host=listen_on, port=args.port),
        verbosity=0,
    )
    server.run()
    if args.save:
        live.save_now()
    return 0


if __name__ == "__main__":
    sys.exit(main())
