"""The stage contract as checks that drive a running server from outside, as a browser would.

One contract, two uses: tools/tests/test_stage_contract.py runs these checks against the reference
stages, and tools/check.py runs them against a learner's project and explains what failed. A check
returns a Result; on a failure it names the likely mistake from tools/mistakes.toml, diagnosed from
evidence: HTTP status, close code, the frames that came back, the server's log lines, the learner's
chat/consumers.py (read with `ast`, never imported) and INSTALLED_APPS (read by a subprocess).
"""

import ast
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import websockets
from stages import GENERATED, ROOT, STAGES
from websockets.exceptions import ConnectionClosed, InvalidStatus

CATALOGUE_PATH = Path(__file__).resolve().parent / "mistakes.toml"

# A room name a learner will type: Hangul, a space, a hyphen and a dot.
KOREAN_ROOM = "한글 방-1.x"


# --- Results -----------------------------------------------------------------------------------


@dataclass
class Result:
    id: str
    title: dict  # {"en": ..., "ko": ...}
    status: str  # "ok", "fail" or "skip"
    mistake: str | None = None  # a catalogue id, when the evidence names one
    detail: str = ""  # what was observed (English: it quotes programs)
    look_at: str | None = None  # file in the project to look at
    skip_reason: dict | None = None  # {"en": ..., "ko": ...}
    log: list = field(default_factory=list)  # the server's traceback, trimmed
    log_source: str = "server"  # or "tests": the output of the project's own tests
    seconds: float = 0.0

    def to_dict(self):
        return asdict(self)


class Failed(Exception):
    """A check did not hold: what was seen, and what it points to."""

    def __init__(
        self, detail, mistake=None, look_at=None, log_text="", log_signs=(), log_lines=None
    ):
        super().__init__(detail)
        self.log_lines = log_lines  # what to show of log_text, when it is no Python traceback
        self.detail = detail
        self.mistake = mistake
        self.look_at = look_at
        self.log_text = log_text
        self.log_signs = list(log_signs)  # (log text, mistake) pairs that apply to this check


class Skipped(Exception):
    def __init__(self, en, ko):
        super().__init__(en)
        self.reason = {"en": en, "ko": ko}


# --- The target: a served project ---------------------------------------------------------------


@dataclass
class Target:
    """A running project: `server` has base_url, ws_url, origin and log(); `second` is another
    process of the same project on the same Redis (None: not available)."""

    stage: str
    project: Path
    server: object
    second: object = None
    layer: str = "memory"
    timeout: float = 10.0  # seconds to wait for a frame that should come
    why_no_second: dict | None = None  # {"en", "ko"}: why there is no second process
    redis_url: str | None = None  # for the project's own tests (part4)
    scratch: Path | None = None  # a temporary folder for copies of the project
    mark: int = 0  # where the current check's part of the server log starts
    # True for the repo's reference stages: hold them to their exact behaviour where a learner's
    # project may differ and still work (e.g. how a malformed frame is refused).
    reference: bool = False

    def log(self):
        return self.server.log() if self.server else ""

    def window(self):
        """The server's log lines written since the current check started."""
        return self.log()[self.mark :]


_no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(server, path):
    """(status, body text, headers) of a GET; an error status is an answer too."""
    try:
        with _no_proxy.open(server.base_url + path, timeout=10) as response:
            return response.status, response.read().decode(errors="replace"), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace"), error.headers


def room_path(room):
    return "/chat/" + quote(room, safe="") + "/"


def socket_path(room):
    return "/ws/chat/" + quote(room, safe="") + "/"


def connect(server, path, origin="same", open_timeout=10, **kwargs):
    """A WebSocket to the server, same-origin unless told otherwise, never through a proxy."""
    if origin == "same":
        origin = server.origin
    return websockets.connect(
        server.ws_url + path, origin=origin, proxy=None, open_timeout=open_timeout, **kwargs
    )


async def say(ws, text):
    await ws.send(json.dumps({"message": text}))


_rooms = iter(range(10**9))


def fresh(name=""):
    """A room name no earlier check used (part4 replays a room's history to each new socket)."""
    unique = f"c{next(_rooms)}x{os.getpid()}x{time.monotonic_ns() % 10**6}"
    return f"{unique}_{name}" if name else unique


class Page(HTMLParser):
    def __init__(self, html):
        super().__init__()
        self.ids = set()
        self.json_scripts = {}
        self._script_id = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "script" and attrs.get("type") == "application/json":
            self._script_id = attrs.get("id")

    def handle_data(self, data):
        if self._script_id:
            self.json_scripts[self._script_id] = data

    def handle_endtag(self, tag):
        if tag == "script":
            self._script_id = None


# --- Evidence: the learner's source, settings and server log -------------------------------------


def consumer_source(project):
    """What chat/consumers.py says about ChatConsumer, read with ast (never imported), or None."""
    path = Path(project) / "chat" / "consumers.py"
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    cls = next(
        (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "ChatConsumer"),
        None,
    )
    if cls is None:
        return None
    parents = {child: node for node in ast.walk(cls) for child in ast.iter_child_nodes(node)}
    bases = [b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "") for b in cls.bases]
    layer_calls = []  # (method name, awaited, wrapped in async_to_sync)
    for node in ast.walk(cls):
        if not (isinstance(node, ast.Attribute) and _is_self_channel_layer(node.value)):
            continue
        parent = parents.get(node)
        wrapped = (
            isinstance(parent, ast.Call)
            and node in parent.args
            and getattr(parent.func, "id", getattr(parent.func, "attr", "")) == "async_to_sync"
        )
        called = isinstance(parent, ast.Call) and parent.func is node
        if called or wrapped:
            awaited = isinstance(parents.get(parent), ast.Await)
            layer_calls.append((node.attr, awaited, wrapped))
    methods = {
        n.name: isinstance(n, ast.AsyncFunctionDef)
        for n in cls.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    return {
        "bases": bases,
        "is_async": any(b.startswith("Async") for b in bases),
        "methods": methods,  # name -> is async def
        "layer_calls": layer_calls,
        "blocking_calls": blocking_calls(cls),
    }


def blocking_calls(cls):
    """Calls that block the event loop, written straight into an `async def` method of the class:
    ["chat_message: time.sleep(1)", ...]. A nested `def` (run by sync_to_async) does not count."""
    found = []
    for method in cls.body:
        if not isinstance(method, ast.AsyncFunctionDef):
            continue
        todo = list(method.body)
        while todo:
            node = todo.pop(0)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                continue
            if isinstance(node, ast.Call) and _blocks(node.func):
                found.append(f"{method.name}: {ast.unparse(node)}")
            todo.extend(ast.iter_child_nodes(node))
    return found


def _blocks(func):
    """time.sleep(...), requests.get(...) and friends, urlopen(...)."""
    if isinstance(func, ast.Attribute):
        owner = func.value.id if isinstance(func.value, ast.Name) else None
        return (
            (owner, func.attr) == ("time", "sleep") or owner == "requests" or func.attr == "urlopen"
        )
    return isinstance(func, ast.Name) and func.id == "urlopen"


def _is_self_channel_layer(node):
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "channel_layer"
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    )


def settings_module(project):
    match = re.search(
        r"DJANGO_SETTINGS_MODULE['\"]\s*,\s*['\"]([\w.]+)['\"]",
        (Path(project) / "manage.py").read_text(encoding="utf-8", errors="replace"),
    )
    return match.group(1) if match else "mysite.settings"


def installed_apps(project):
    """The project's INSTALLED_APPS, read by a subprocess (settings are code), or None."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["DJANGO_SETTINGS_MODULE"] = settings_module(project)
    code = (
        "import json; from django.conf import settings; print(json.dumps(settings.INSTALLED_APPS))"
    )
    try:
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError):
        return None


def daphne_first(apps):
    """daphne's runserver is the one Django runs only if daphne comes before staticfiles."""
    if "daphne" not in apps:
        return False
    static = "django.contrib.staticfiles"
    return static not in apps or apps.index("daphne") < apps.index(static)


# Log lines that name a mistake on their own, most specific first.
LOG_SIGNS = [
    ("daphne.E001", "daphne-not-first"),
    ("No application configured for scope type 'websocket'", "ws-not-routed"),
    ("Django can only handle ASGI/HTTP connections, not websocket", "ws-not-routed"),
    # `await json.dumps(...)`, or await on a sync method (None); a consumer class (no as_asgi())
    # awaited by the router is the other "can't be used in 'await' expression".
    (
        re.compile(
            r"object (str|bytes|dict|list|tuple|int|float|bool|NoneType) "
            r"can't be used in 'await' expression"
        ),
        "await-not-awaitable",
    ),
    ("can't be used in 'await' expression", "no-as-asgi"),
    ("takes no arguments", "no-as-asgi"),
    ("'NoneType' object has no attribute 'group_", "no-channel-layer"),
    ("Group name must be", "unsafe-group-name"),
    ("No handler for message type", "handler-type-mismatch"),
    (
        "You cannot use AsyncToSync in the same thread as an async event loop",
        "async-to-sync-in-async",
    ),
    ("SynchronousOnlyOperation", "orm-in-async"),
    ("You cannot call this from an async context", "orm-in-async"),
    ("can not be used with in memory databases", "test-db-in-memory"),
    ('Database access not allowed, use the "django_db" mark', "test-no-db-mark"),
    ("async def functions are not natively supported", "no-asyncio-mode"),
    ("requested an async fixture", "no-asyncio-mode"),
]


def mistake_in_log(text, extra_signs=()):
    for sign, mistake in [*LOG_SIGNS, *extra_signs]:
        found = sign.search(text) if isinstance(sign, re.Pattern) else sign in text
        if found and mistake:
            return mistake
    return None


def silent_mistake(project, want_group=True):
    """Nothing arrived and the log is quiet: read the consumer for why."""
    source = consumer_source(project)
    if source is None:
        return None
    # The log is no help here: Twisted (under daphne) swallows "coroutine ... was never awaited".
    for _name, awaited, wrapped in source["layer_calls"]:
        if not awaited and not wrapped:
            return "no-await" if source["is_async"] else "no-async-to-sync"
    if source["is_async"] is False and any(source["methods"].values()):
        return "still-sync"  # async def handlers on a sync consumer: never awaited
    if source["blocking_calls"]:
        return "blocking-call"  # the frame is late, not lost
    if want_group and "group_add" not in {name for name, _, _ in source["layer_calls"]}:
        return "never-joins-group"
    return None


def trim_traceback(text, project=None, keep=6):
    """The last traceback in a log, cut to its last frames in the learner's project (or the
    last frame) and the exception line."""
    lines = text.rstrip().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent")]
    if not starts:
        found = [line for line in lines if re.match(r"^[\w.]*(Error|Exception)\b", line)]
        return found[-2:]
    block = lines[starts[-1] + 1 :]
    frames, exception = [], []
    for i, line in enumerate(block):
        if line.startswith("  File "):
            code = block[i + 1].strip() if i + 1 < len(block) else ""
            frames.append(
                [line.strip()] + ([code] if code and not code.startswith("File ") else [])
            )
        elif not line.startswith((" ", "\t")):
            exception = [line]  # the first unindented line ends the traceback
            break
    mine = [f for f in frames if project and str(project) in f[0]]
    shown = [line for frame in (mine or frames)[-2:] for line in frame]
    return (shown + exception)[-keep:]


# --- Running a check ----------------------------------------------------------------------------


@dataclass
class Check:
    id: str
    en: str
    ko: str
    stages: tuple
    look_at: str
    run: object  # async fn(target) -> None, raising Failed / Skipped
    checkpoint: bool = True  # the learner's checker runs it too (not only the repo's tests)
    needs: tuple = ()  # checks that must pass first
    layers: tuple = ("memory", "redis")  # the repo's tests run it on these layers
    needs_server: bool = True  # False: it runs the project's own tests instead


CHECKS = []


def check(id, en, ko, stages=tuple(STAGES), look_at="chat/consumers.py", **kwargs):
    def register(fn):
        CHECKS.append(Check(id, en, ko, tuple(stages), look_at, fn, **kwargs))
        return fn

    return register


def checks_for(stage, checkpoint_only=False, layer=None):
    return [
        c
        for c in CHECKS
        if stage in c.stages
        and (c.checkpoint or not checkpoint_only)
        and (layer is None or layer in c.layers)
    ]


async def run_one(chk, target):
    started = time.monotonic()
    result = await _run_one(chk, target)
    result.seconds = round(time.monotonic() - started, 2)
    return result


async def _run_one(chk, target):
    target.mark = len(target.log())
    try:
        await chk.run(target)
        return Result(chk.id, {"en": chk.en, "ko": chk.ko}, "ok")
    except Skipped as skip:
        return Result(chk.id, {"en": chk.en, "ko": chk.ko}, "skip", skip_reason=skip.reason)
    except Failed as failure:
        await asyncio.sleep(0.2)  # let the server finish writing its traceback
        log = failure.log_text or target.window()
        mistake = failure.mistake or mistake_in_log(log, failure.log_signs)
        return Result(
            chk.id,
            {"en": chk.en, "ko": chk.ko},
            "fail",
            mistake=mistake,
            detail=failure.detail,
            look_at=look_at_for(mistake) or failure.look_at or chk.look_at,
            log=failure.log_lines
            if failure.log_lines is not None
            else trim_traceback(log, target.project),
            log_source="tests" if failure.log_lines is not None else "server",
        )


async def run_checks(target, checks):
    """Run checks in order; one whose prerequisite did not pass is skipped, saying which."""
    results = {}
    for chk in checks:
        blocked = [results[n] for n in chk.needs if n in results and results[n].status != "ok"]
        if blocked:
            title = blocked[0].title
            results[chk.id] = Result(
                chk.id,
                {"en": chk.en, "ko": chk.ko},
                "skip",
                skip_reason={
                    "en": f"needs \u201c{title['en']}\u201d to pass first",
                    "ko": f"\u201c{title['ko']}\u201d 검사를 먼저 통과해야 합니다",
                },
            )
            continue
        results[chk.id] = await run_one(chk, target)
    return list(results.values())


# --- Frames -------------------------------------------------------------------------------------


async def expect_message(ws, text, target, who="the sender"):
    """The next frame on ws must be {"message": text}; explain anything else."""
    try:
        raw = await asyncio.wait_for(ws.recv(), target.timeout)
    except TimeoutError:
        raise Failed(
            f"{who} got nothing within {target.timeout:g} s",
            mistake=mistake_in_log(target.window())
            or silent_mistake(target.project, multi(target)),
        ) from None
    except ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd else None
        raise Failed(f"the server closed {who}'s socket (code {code})") from None
    try:
        frame = json.loads(raw)
    except (TypeError, ValueError):
        raise Failed(
            f'{who} got {raw!r}, which is not JSON like {{"message": ...}}',
            mistake="echo-not-json",
        ) from None
    if frame != {"message": text}:
        raise Failed(f"{who} got {frame!r}, expected {{'message': {text!r}}}")


async def expect_nothing(ws, target, who):
    """ws heard nothing: its first frame is the answer to a message of its own."""
    await say(ws, "own message")
    try:
        raw = await asyncio.wait_for(ws.recv(), target.timeout)
    except TimeoutError:
        raise Failed(f"{who} got not even its own message back") from None
    if raw != json.dumps({"message": "own message"}):
        raise Failed(f"{who} got {raw!r}, meant for another socket")


def multi(target):
    return target.stage != "part1_echo"


async def open_socket(stack, target, room, who, server=None):
    ws = connect(server or target.server, socket_path(room), open_timeout=target.timeout)
    try:
        return await stack.enter_async_context(ws)
    except InvalidStatus as refused:
        raise Failed(
            f"the handshake for {who} got HTTP {refused.response.status_code}",
            look_at="chat/routing.py",
        ) from None
    except TimeoutError:
        raise Failed(
            f"the handshake for {who} got no answer within {target.timeout:g} s",
            mistake=silent_mistake(target.project, multi(target)),
        ) from None
    except OSError as error:
        raise Failed(f"{who} could not connect: {error!r}") from None


# --- The checks ---------------------------------------------------------------------------------


@check(
    "index-page",
    "GET /chat/ shows the room name box (#room-name-input, #room-name-submit)",
    "`/chat/` 페이지에 채팅방 이름 입력란(`#room-name-input`, `#room-name-submit`)이 있습니다",
    look_at="chat/templates/chat/index.html",
)
async def index_page(target):
    status, html, _ = http_get(target.server, "/chat/")
    if status != 200:
        raise Failed(f"GET /chat/ answered HTTP {status}", look_at="mysite/urls.py")
    missing = {"room-name-input", "room-name-submit"} - Page(html).ids
    if missing:
        raise Failed(f"no element with id {', '.join(sorted(missing))}")


async def room_page(target, room):
    status, html, _ = http_get(target.server, room_path(room))
    if status != 200:
        raise Failed(f"GET {room_path(room)} answered HTTP {status}", look_at="chat/urls.py")
    page = Page(html)
    missing = {"chat-log", "chat-message-input", "chat-message-submit"} - page.ids
    if missing:
        raise Failed(
            f"no element with id {', '.join(sorted(missing))}",
            look_at="chat/templates/chat/room.html",
        )
    named = page.json_scripts.get("room-name")
    if named is None or json.loads(named) != room:
        raise Failed(
            f"the page's room-name script holds {named!r}, expected {room!r}",
            look_at="chat/views.py",
        )


@check(
    "room-page",
    "GET /chat/lobby/ shows the chat log, message box and Send button",
    "`/chat/lobby/` 페이지에 채팅 로그, 메시지 입력란, 전송 버튼이 있습니다",
    look_at="chat/templates/chat/room.html",
)
async def lobby_page(target):
    await room_page(target, "lobby")


@check(
    "socket-opens",
    "WebSocket /ws/chat/lobby/ opens",
    "웹소켓 `/ws/chat/lobby/`가 열립니다",
    look_at="mysite/asgi.py",
)
async def socket_opens(target):
    try:
        async with connect(target.server, socket_path("lobby")):
            return
    except InvalidStatus as refused:
        status = refused.response.status_code
        server = refused.response.headers.get("Server")
        detail = f"the handshake got HTTP {status}" + (f" (server: {server})" if server else "")
    except (OSError, TimeoutError) as error:
        raise Failed(f"could not connect: {error!r}") from None
    mistake = None  # else read from the server's log, once it has written it
    if status == 404:
        _, _, headers = http_get(target.server, "/chat/")
        apps = installed_apps(target.project)
        if "WSGIServer" in headers.get("Server", "") or (
            apps is not None and not daphne_first(apps)
        ):
            mistake = "daphne-not-first"
            detail += f"; Django's WSGI server answered; INSTALLED_APPS = {apps}"
    raise Failed(detail, mistake=mistake)


@check(
    "echo",
    'A message comes back to its sender as JSON {"message": ...}',
    '보낸 메시지가 JSON `{"message": ...}`으로 보낸 사람에게 돌아옵니다',
    stages=["part1_echo"],
    needs=("socket-opens",),
)
async def echo(target):
    async with AsyncExitStack() as stack:
        ws = await open_socket(stack, target, fresh("echo"), "the sender")
        await say(ws, "hello")
        await expect_message(ws, "hello", target)


@check(
    "echo-sender-only",
    "A second tab in the same room gets nothing (echo, no broadcast yet)",
    "같은 채팅방의 두 번째 탭은 아무것도 받지 않습니다(아직 브로드캐스트가 없습니다)",
    stages=["part1_echo"],
    needs=("echo",),
)
async def echo_sender_only(target):
    room = fresh("tabs")
    async with AsyncExitStack() as stack:
        sender = await open_socket(stack, target, room, "tab 1")
        other = await open_socket(stack, target, room, "tab 2")
        await say(sender, "hello")
        await expect_message(sender, "hello", target, "tab 1")
        await expect_nothing(other, target, "tab 2")


@check(
    "broadcast",
    "Two tabs in one room both get a message either one sends",
    "같은 채팅방의 두 탭이 어느 쪽에서 보낸 메시지든 모두 받습니다",
    stages=STAGES[1:],
    needs=("socket-opens",),
)
async def broadcast(target):
    started = time.monotonic()
    room = fresh("tabs")
    async with AsyncExitStack() as stack:
        tab1 = await open_socket(stack, target, room, "tab 1")
        tab2 = await open_socket(stack, target, room, "tab 2")
        await say(tab1, "from tab 1")
        await expect_message(tab1, "from tab 1", target, "tab 1 (the sender)")
        try:
            await expect_message(tab2, "from tab 1", target, "tab 2")
        except Failed as failure:
            if failure.mistake is None and "got nothing" in failure.detail:
                failure.mistake = "still-echo"
            raise
        await say(tab2, "from tab 2")
        await expect_message(tab1, "from tab 2", target, "tab 1")
        await expect_message(tab2, "from tab 2", target, "tab 2 (the sender)")
    took = time.monotonic() - started
    # A working server takes milliseconds; a slow machine alone is no mistake, so a slow room
    # fails only when the consumer shows what blocks it.
    source = consumer_source(target.project) if took > SLOW_BROADCAST else None
    if source and source["blocking_calls"]:
        raise Failed(
            f"two sockets and four deliveries took {took:.1f} s; blocking calls in async def "
            f"methods: {'; '.join(source['blocking_calls'])}",
            mistake="blocking-call",
        )


SLOW_BROADCAST = 1.0  # seconds for the broadcast check's two handshakes and four frames


@check(
    "room-only",
    "A tab in another room gets nothing",
    "다른 채팅방의 탭은 아무것도 받지 않습니다",
    stages=STAGES[1:],
    needs=("broadcast",),
)
async def room_only(target):
    async with AsyncExitStack() as stack:
        sender = await open_socket(stack, target, fresh("here"), "the sender")
        elsewhere = await open_socket(stack, target, fresh("elsewhere"), "the other room")
        await say(sender, "hello")
        await expect_message(sender, "hello", target)
        await expect_nothing(elsewhere, target, "the tab in another room")


async def room_works(target, room, server=None):
    """Page and socket of one room: the message reaches the sender (and, part2+, a second tab)."""
    await room_page(target, room)
    async with AsyncExitStack() as stack:
        sender = await open_socket(stack, target, room, f"room {room!r}", server)
        listener = await open_socket(stack, target, room, f"room {room!r}", server)
        await say(sender, f"hi {room}")
        await expect_message(sender, f"hi {room}", target, f"the sender in room {room!r}")
        if multi(target):
            await expect_message(listener, f"hi {room}", target, f"tab 2 in room {room!r}")


@check(
    "korean-room",
    f"Room \u201c{KOREAN_ROOM}\u201d (Hangul, space, hyphen, dot): its page and socket work",
    f"채팅방 \u201c{KOREAN_ROOM}\u201d(한글, 공백, 하이픈, 마침표)의 페이지와 웹소켓이 동작합니다",
    look_at="chat/routing.py",
    needs=("echo", "broadcast"),
)
async def korean_room(target):
    try:
        await room_works(target, KOREAN_ROOM)
    except Failed as failure:
        # lobby has a route (its checks passed), this name has none
        failure.log_signs.append(("No route found for path", "word-route"))
        raise


BAD_FRAMES = {
    "not-json": "hello",
    "json-list": '["message", "hi"]',
    "json-number": "42",
    "json-string": '"hi"',
    "json-null": "null",
    "missing-message": '{"text": "hi"}',
    "number-message": '{"message": 5}',
    "null-message": '{"message": null}',
    "object-message": '{"message": {"text": "hi"}}',
    "empty-message": '{"message": ""}',
    "whitespace-message": '{"message": " \\n\\t "}',
    "binary-frame": b'{"message": "hi"}',
    "2001-characters": json.dumps({"message": "x" * 2001}),
    "deeply-nested": "[" * 100000,
    "deeply-nested-message": '{"message": ' + "[" * 100000,
}

# Frames with a "message" key are ordinary messages to the tutorial's code (parts 1-3).
TUTORIAL_ACCEPTS = {
    "number-message",
    "null-message",
    "object-message",
    "empty-message",
    "whitespace-message",
    "2001-characters",
}


@check(
    "bad-frames",
    "A malformed frame closes at most its own socket; the server and other tabs keep working",
    "잘못된 프레임을 보내면 그 소켓만 닫힐 수 있고, 서버와 다른 탭은 계속 동작합니다",
    stages=STAGES[:3],
    needs=("echo", "broadcast"),
)
async def bad_frames_tutorial(target):
    """Parts 1-3 run the tutorial's code: the consumer raises and daphne closes THAT socket."""
    frames = {k: v for k, v in BAD_FRAMES.items() if k not in TUTORIAL_ACCEPTS}
    # All at once: daphne takes about a second to close each socket whose consumer raised.
    await asyncio.gather(*(bad_frame_tutorial(target, n, f) for n, f in frames.items()))
    async with connect(target.server, socket_path(fresh("after"))) as ws:
        await say(ws, "after")
        await expect_message(ws, "after", target, "a new socket after the malformed frames")


async def bad_frame_tutorial(target, name, frame):
    async with AsyncExitStack() as stack:
        room = fresh("malformed")
        sender = await open_socket(stack, target, room, "the sender")
        peer = await open_socket(stack, target, room, "a second tab")
        await sender.send(frame)
        # A learner's consumer may close the socket (as the tutorial's does), answer, or ignore
        # the frame; the reference stages close it with 1011. On Redis the close waits for the
        # consumer's pending Redis read (channels-redis), seconds later: not waited for here.
        must_close = target.reference and target.layer == "memory"
        try:
            raw = await asyncio.wait_for(sender.recv(), target.timeout if must_close else 1)
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
            if target.reference and code != 1011:
                raise Failed(f"{name}: closed with {code}, expected 1011") from None
        except TimeoutError:
            if must_close:
                raise Failed(f"{name}: the sender's socket stayed open") from None
        else:
            if target.reference:
                raise Failed(f"{name}: the sender got {raw!r}; its socket should close")
        # The server keeps serving, and the other tab is unaffected.
        await say(peer, "still here")
        await expect_message(peer, "still here", target, f"{name}: the second tab")


@check(
    "bad-frames",
    "A malformed frame gets an error frame, the socket stays open, nothing is broadcast",
    "잘못된 프레임에는 오류 프레임으로 답하고, 소켓은 열어 두며, 다른 탭에는 보내지 않습니다",
    stages=["part4_tests"],
    needs=("broadcast",),
)
async def bad_frames_strict(target):
    for name, frame in BAD_FRAMES.items():
        async with AsyncExitStack() as stack:
            room = fresh("malformed")
            sender = await open_socket(stack, target, room, "the sender")
            peer = await open_socket(stack, target, room, "a second tab")
            await sender.send(frame)
            try:
                answer = json.loads(await asyncio.wait_for(sender.recv(), target.timeout))
            except (TimeoutError, ConnectionClosed, ValueError) as error:
                raise Failed(f"{name}: no error frame ({error!r})") from None
            if set(answer) != {"error"} or not str(answer["error"]).strip():
                raise Failed(f"{name}: the sender got {answer!r}, expected {{'error': ...}}")
            await say(sender, "after the bad one")
            await expect_message(sender, "after the bad one", target, f"{name}: the sender")
            # The good message is the peer's first frame: the bad one was never broadcast.
            await expect_message(peer, "after the bad one", target, f"{name}: the second tab")
            if sender.close_code is not None or peer.close_code is not None:
                raise Failed(f"{name}: a socket was closed")


@check(
    "two-processes",
    "Two server processes on one Redis share the room",
    "같은 Redis를 쓰는 서버 프로세스 두 개가 채팅방을 함께 씁니다",
    stages=STAGES[1:],
    look_at="mysite/settings.py",
    needs=("broadcast",),
    layers=("redis",),
)
async def two_processes(target):
    if target.second is None:
        reason = target.why_no_second or {"en": "no second process", "ko": "두 번째 프로세스 없음"}
        raise Skipped(reason["en"], reason["ko"])
    room = fresh("two_processes")
    async with AsyncExitStack() as stack:
        on_a = await open_socket(stack, target, room, "a tab on process 1")
        on_b = await open_socket(stack, target, room, "a tab on process 2", target.second)
        await say(on_a, "across")
        await expect_message(on_a, "across", target, "the sender on process 1")
        try:
            await expect_message(on_b, "across", target, "the tab on process 2")
        except Failed as failure:
            failure.detail += " (is CHANNEL_LAYERS the Redis layer when REDIS_URL is set?)"
            failure.mistake = None
            raise


@check(
    "async-consumer",
    "ChatConsumer is asynchronous (AsyncWebsocketConsumer)",
    "`ChatConsumer`가 비동기 컨슈머(`AsyncWebsocketConsumer`)입니다",
    stages=STAGES[2:],
)
async def async_consumer(target):
    source = consumer_source(target.project)
    if source is None:
        raise Failed("chat/consumers.py has no class ChatConsumer that Python can read")
    if not source["is_async"]:
        raise Failed(f"ChatConsumer's base is {', '.join(source['bases'])}", mistake="still-sync")
    handlers = ("connect", "disconnect", "receive", "chat_message")
    sync_handlers = [h for h in handlers if source["methods"].get(h) is False]
    if sync_handlers:
        raise Failed(
            f"handlers not written with async def: {', '.join(sync_handlers)}",
            mistake="still-sync",
        )


# --- Checks only the repo's own tests run (hardening a learner is not asked to build) ----------

ROOM_NAMES = {
    "korean": "로비",
    "space": "my room",
    "hyphen": "front-desk",
    "dots": "v1.2.3",
    "accents": "café crème",
    "korean-with-space": "로비 방",
    "trailing-space": "로비 ",
    "100-hangul": "".join(chr(0xAC00 + i) for i in range(100)),
    "symbols": "C++ & C# (50%)?",
}


@check(
    "room-names",
    "Any typed room name works end to end",
    "어떤 채팅방 이름을 입력해도 처음부터 끝까지 동작합니다",
    checkpoint=False,
)
async def room_names(target):
    names = list(ROOM_NAMES.values())
    if target.stage != "part4_tests":
        names.append("가" * 150)  # parts 1-3 set no length limit (the group name is a hash)
    for room in names:
        # A fresh prefix keeps part4's history replay out; the longest names go as they are.
        await room_works(target, fresh(room) if len(room) < 80 else room)


# Pairs a naive sanitiser (replace unsafe characters, strip, lowercase, drop accents) would merge.
DISTINCT_ROOMS = [
    ("a b", "a_b"),
    ("로비", "로비 "),
    ("café", "cafe"),
    ("x.y", "x-y"),
    ("Lobby", "lobby"),
    ("로비", "lobby"),
    ("로비", "거실"),
]


@check(
    "distinct-rooms",
    "Different room names never share a room",
    "이름이 다른 채팅방은 서로 섞이지 않습니다",
    checkpoint=False,
)
async def distinct_rooms(target):
    for room_a, room_b in DISTINCT_ROOMS:
        prefix = fresh() + " "
        async with AsyncExitStack() as stack:
            a = await open_socket(stack, target, prefix + room_a, repr(room_a))
            b = await open_socket(stack, target, prefix + room_b, repr(room_b))
            await say(a, "for a")
            await expect_message(a, "for a", target, repr(room_a))
            await expect_nothing(b, target, f"{room_b!r} (beside {room_a!r})")


@check(
    "long-message",
    "A 2,000-character Hangul message goes through",
    "2,000자 한글 메시지도 그대로 전달됩니다",
    checkpoint=False,
)
async def long_message(target):
    text = "가" * 2000
    async with connect(target.server, socket_path(fresh("long"))) as ws:
        await say(ws, text)
        await expect_message(ws, text, target)


def unservable_paths(stage):
    """Socket paths no room can have; part4 also refuses room names over 100 characters."""
    paths = ["/ws/chat/a%2Fb/", "/ws/chat//", "/ws/chat/lobby", "/ws/nope/", "/ws/"]
    pages = ["/chat/a%2Fb/"]
    if stage == "part4_tests":
        paths += [socket_path("가" * 101), socket_path("a" * 101)]
        pages += [room_path("가" * 101), room_path("a" * 101)]
    return paths, pages


@check(
    "unservable-paths",
    "Paths that are no room are refused (404 page; socket handshake refused)",
    "채팅방이 될 수 없는 경로는 거절합니다(페이지는 404, 웹소켓은 핸드셰이크 거절)",
    checkpoint=False,
)
async def unservable(target):
    paths, pages = unservable_paths(target.stage)
    for page in pages:
        status, _, _ = http_get(target.server, page)
        if status != 404:
            raise Failed(f"GET {page} answered {status}, expected 404")
    # Parts 1-3: URLRouter raises "No route found" and daphne answers 500 (about a second
    # later: so all at once); part4 refuses its own overlong names with 403.
    expected = 403 if target.stage == "part4_tests" else 500
    await asyncio.gather(*(refused(target, path, expected) for path in paths))
    await room_works(target, fresh("still_serving"))


async def refused(target, path, expected):
    try:
        async with connect(target.server, path):
            raise Failed(f"{path} opened")
    except InvalidStatus as answer:
        status = answer.response.status_code
    if status != expected:
        raise Failed(f"{path}: the handshake got HTTP {status}, expected {expected}")


@check(
    "markup-escaped",
    "A room name with markup is rendered escaped",
    "마크업이 들어간 채팅방 이름은 이스케이프되어 표시됩니다",
    checkpoint=False,
)
async def markup_escaped(target):
    room = "<img src=x onerror=alert(1)>\"'&"
    status, html, _ = http_get(target.server, room_path(room))
    if status != 200 or "<img" in html:
        raise Failed(f"status {status}; raw <img in page: {'<img' in html}")
    if json.loads(Page(html).json_scripts["room-name"]) != room:
        raise Failed("room-name script does not round-trip")
    status, html, _ = http_get(target.server, room_path("</script><script>alert(1)</script>"))
    if status != 404 or "<script>alert(1)" in html:
        raise Failed(f"the 404 page (status {status}) echoes the name raw")


@check(
    "origins",
    "Cross-origin handshakes are refused; same-origin ones (127.0.0.1, localhost) accepted",
    "다른 출처의 핸드셰이크는 거절하고 같은 출처(127.0.0.1, localhost)는 받아들입니다",
    look_at="mysite/asgi.py",
    checkpoint=False,
)
async def origins(target):
    for origin in ("http://evil.example", None):
        try:
            async with connect(target.server, socket_path("lobby"), origin=origin):
                raise Failed(f"origin {origin!r} was accepted")
        except InvalidStatus as refused:
            if refused.response.status_code != 403:
                raise Failed(f"origin {origin!r}: HTTP {refused.response.status_code}") from None
    for host in ("127.0.0.1", "localhost"):
        origin = f"http://{host}:{target.server.base_url.rsplit(':', 1)[1]}"
        async with connect(target.server, socket_path(fresh()), origin=origin) as ws:
            await say(ws, "same origin")
            await expect_message(ws, "same origin", target, f"origin {origin}")


# --- part4: the learner's own tests -------------------------------------------------------------

BROKEN_CONSUMER = """

# Added by tools/check.py: a consumer that never delivers a message to its socket.
# Tests that still pass against this cannot catch a broken chat.
{kind}def _never_delivers(self, *args, **kwargs):
    return None


ChatConsumer.{handler} = _never_delivers
"""


def test_command(project):
    """pytest when the project configures it (pytest.ini and friends), else Django's runner."""
    project = Path(project)
    configured = (project / "pytest.ini").exists() or any(
        (project / name).exists() and marker in (project / name).read_text(errors="replace")
        for name, marker in [
            ("pyproject.toml", "[tool.pytest"),
            ("setup.cfg", "[tool:pytest]"),
            ("tox.ini", "[pytest]"),
        ]
    )
    if configured:
        return [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
    return [sys.executable, "manage.py", "test", "chat.tests", "--failfast", "--noinput"]


def run_project_tests(project, redis_url=None, timeout=300):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))}
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    command = test_command(project)
    try:
        done = subprocess.run(
            command,
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
        return done.returncode, done.stdout, command
    except subprocess.TimeoutExpired as expired:
        out = expired.stdout or ""
        out = out.decode(errors="replace") if isinstance(out, bytes) else out
        return None, out + f"\n(timed out after {timeout} s)", command


def copy_project(project, dest):
    shutil.copytree(project, dest, ignore=shutil.ignore_patterns(*GENERATED, "test-artifacts"))
    return dest


def break_consumer(project):
    """Rewrite the copy's consumers.py so the consumer never delivers a message; say how."""
    source = consumer_source(project)
    if source is None:
        raise Failed("chat/consumers.py has no class ChatConsumer that Python can read")
    handler = "chat_message" if "chat_message" in source["methods"] else "receive"
    kind = "async " if source["methods"].get(handler, source["is_async"]) else ""
    path = Path(project) / "chat" / "consumers.py"
    path.write_text(
        path.read_text(encoding="utf-8") + BROKEN_CONSUMER.format(kind=kind, handler=handler),
        encoding="utf-8",
    )
    return handler


@check(
    "own-tests-pass",
    "Your tests (chat/tests) pass",
    "직접 작성한 테스트(`chat/tests`)가 통과합니다",
    stages=["part4_tests"],
    look_at="chat/tests",
    layers=(),  # run by the checker only; the repo runs part4's suite in test_part4_suite.py
    needs_server=False,
)
async def own_tests_pass(target):
    work = target.scratch / "pass"
    copy_project(target.project, work)
    code, output, command = await asyncio.to_thread(run_project_tests, work, target.redis_url)
    ran = re.findall(r"Ran (\d+) tests?|(\d+) passed", output)
    if code == 0 and not any(int(a or b) for a, b in ran):
        raise Failed("no tests ran: put them in chat/tests/", log_text=" ")
    if code != 0:
        mistake = mistake_in_log(output)
        lines = output.rstrip().splitlines()
        raise Failed(
            f"`python {' '.join(command[1:])}` exited with {code}",
            mistake=mistake,
            look_at="mysite/settings.py" if mistake == "test-db-in-memory" else None,
            log_text=output,
            log_lines=[line for line in lines if line.startswith("E   ")][-3:] + lines[-3:],
        )


@check(
    "own-tests-catch-bugs",
    "Your tests fail against a consumer that never delivers a message",
    "메시지를 전달하지 않는 컨슈머로 바꾸면 테스트가 실패합니다",
    stages=["part4_tests"],
    look_at="chat/tests",
    needs=("own-tests-pass",),
    layers=(),
    needs_server=False,
)
async def own_tests_catch_bugs(target):
    work = target.scratch / "broken"
    copy_project(target.project, work)
    handler = break_consumer(work)
    code, output, command = await asyncio.to_thread(run_project_tests, work, target.redis_url)
    if code == 0:
        raise Failed(
            f"with ChatConsumer.{handler} doing nothing, "
            f"`python {' '.join(command[1:])}` still passed",
            mistake="tests-cannot-fail",
            log_text=" ",
        )


# --- The catalogue ------------------------------------------------------------------------------


def load_catalogue():
    with open(CATALOGUE_PATH, "rb") as f:
        return tomllib.load(f)


def look_at_for(mistake):
    if mistake is None:
        return None
    return load_catalogue().get(mistake, {}).get("file")


def apply_mistake(mistake, dest):
    """A copy of the mistake's reference stage at dest, with the mistake made in it."""
    entry = load_catalogue()[mistake]
    dest = Path(dest)
    shutil.copytree(ROOT / entry["stage"], dest, ignore=shutil.ignore_patterns(*GENERATED))
    for change in entry["change"]:
        if "delete" in change:
            shutil.rmtree(dest / change["delete"])
            continue
        path = dest / change["file"]
        if "copy_from" in change:
            shutil.copyfile(ROOT / change["copy_from"] / change["file"], path)
        elif "content" in change:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(change["content"], encoding="utf-8")
        else:
            text = path.read_text(encoding="utf-8")
            count = change.get("count", 1)
            if text.count(change["old"]) != count:
                raise ValueError(
                    f"{mistake}: expected {count} of {change['old']!r} in {entry['stage']}/"
                    f"{change['file']}, found {text.count(change['old'])}"
                )
            path.write_text(text.replace(change["old"], change["new"]), encoding="utf-8")
    return dest
