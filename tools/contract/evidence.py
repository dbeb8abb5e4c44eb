"""Evidence that names a mistake: the learner's chat/consumers.py (read with `ast`, never
imported), INSTALLED_APPS (read by a subprocess), the server log's telling lines, and the
traceback trimmed to what a learner should read."""

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path


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


def mistake_in_log(text, check_signs=()):
    """The mistake the log's lines name: a check's own signs first, then the global ones."""
    for sign, mistake in [*check_signs, *LOG_SIGNS]:
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
