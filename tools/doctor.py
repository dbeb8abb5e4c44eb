#!/usr/bin/env python3
"""Preflight check for a workshop laptop: what is missing and how to fix it, in Korean and English.

    uv run python tools/doctor.py          # the full check (exit code 0 unless something is broken)
    python3 tools/doctor.py                # before `uv sync`: says the environment is missing
    uv run python tools/doctor.py --lang ko --only ports,redis --ports 8000,8001
    uv run python tools/doctor.py --strict # a missing browser or Redis fails too (as in CI)
    uv run python tools/doctor.py --fetch-driver   # while online: cache a driver for the browser

On a laptop a missing browser or Redis is a warning (those tests skip); with --strict or CI=true
it is a failure. A browser without its driver is a failure anywhere: Selenium would go online.
Standard library only (psutil, packaging and selenium are used when present), and written for old
Pythons too, so that it can say the Python is too old instead of failing.
"""

import argparse
import importlib
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the other tools/ modules

# Standard library only, as this file (tools/tests/test_layout.py keeps them so).
from bilingual import Text  # noqa: E402
from install_hints import FETCH_DRIVER, browser_install, redis_install  # noqa: E402
from lockfile import (  # noqa: E402
    LOCK,
    PYPROJECT,
    default_groups,
    normalize,
    read_toml,
    versions_by_name,
)
from stages import ROOT, STAGES  # noqa: E402

MIN_PYTHON = (3, 11)
MIN_REDIS = (5, 0)  # channels-redis blocks on BZPOPMIN, added in Redis 5.0
DEFAULT_PORTS = [8000, 8001, 8002, 8003, 8004]
LOCAL_REDIS = "redis://localhost:6379/0"  # what redis.env and `docker compose up -d redis` give
CHECKS = ["python", "windows", "env", "stages", "ports", "redis", "docker", "browser"]
# Distribution name -> module name, for the packages the stages import.
PACKAGES = {
    "django": "django",
    "channels": "channels",
    "channels-redis": "channels_redis",
    "daphne": "daphne",
}

OK, INFO, WARN, FAIL = "✓", "·", "!", "✗"
# capture_output/text need Python 3.7; this spelling lets 3.6 get as far as "too old".
CAPTURE = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "universal_newlines": True}


class Result:
    """One line of the report: a status mark, what was found, and how to fix it (Text each)."""

    def __init__(self, status, text, fix=None):
        self.status, self.text, self.fix = status, text, fix

    def lines(self, lang):
        """The report's lines in "en", "ko" or (any other value) both."""
        out = [f"{self.status} {self.text.pick(lang)}"]
        if self.fix:
            out.append(f"  → {self.fix.pick(lang)}")
        return out


def version_tuple(text):
    match = re.match(r"\d+(\.\d+)*", text.strip())
    return tuple(int(part) for part in match.group(0).split(".")) if match else ()


def requirements(pyproject=PYPROJECT):
    """The project's runtime dependencies, {name: specifier}, read from pyproject.toml."""
    text = pyproject.read_text(encoding="utf-8")
    block = re.search(r"^dependencies\s*=\s*\[(.*?)\]", text, re.S | re.M).group(1)
    found = {}
    for item in re.findall(r"\"([^\"]+)\"", block):
        name, spec = re.match(r"([A-Za-z0-9_.\-]+)\s*(.*)", item).groups()
        found[name.lower()] = spec
    return found


def check_python(version=None):
    version = tuple(version or sys.version_info[:3])
    shown = ".".join(str(v) for v in version)
    need = ".".join(str(v) for v in MIN_PYTHON)
    if version[:2] >= MIN_PYTHON:
        return Result(OK, Text(f"Python {shown}", f"파이썬(Python) {shown}"))
    return Result(
        FAIL,
        Text(
            f"Python {shown} is too old: {need} or newer is needed",
            f"파이썬(Python) 버전이 너무 낮습니다: {shown} ({need} 이상 필요)",
        ),
        Text(
            "let uv fetch one: `uv python install 3.12`, then `uv sync`",
            "uv가 알맞은 파이썬을 받아 옵니다: `uv python install 3.12` 다음 `uv sync`",
        ),
    )


# The platforms uv.lock has a wheel for every package on (pyproject's required-environments),
# as sysconfig.get_platform() names this Python's build; macOS by its release instead.
WHEEL_PLATFORMS = ["linux-x86_64", "linux-aarch64", "win-amd64"]
MIN_MACOS = (12, 0)  # tools/lock_coverage.py checks what `uv sync` installs against macOS 12
X64_PYTHON = "cpython-3.12-windows-x86_64-none"


def check_platform(build=None, mac_release=None):
    """None when uv.lock has wheels for this Python's platform, else what to do instead."""
    import platform
    import sysconfig

    build = build or sysconfig.get_platform()
    if build.startswith("macosx-"):
        release = mac_release if mac_release is not None else platform.mac_ver()[0]
        shown = release or "?"
        if not release or version_tuple(release)[:2] >= MIN_MACOS:
            return None
        need = ".".join(str(v) for v in MIN_MACOS[:1])
        return Result(
            WARN,
            Text(
                f"macOS {shown}: the workshop is checked on macOS {need} or newer; `uv sync` fails "
                "if a package has no wheel for this release",
                f"macOS {shown}: 이 워크숍은 macOS {need} 이상에서 확인했습니다. `uv sync`가 이 "
                "macOS에 맞는 휠을 찾지 못하면 설치가 실패합니다",
            ),
            Text(
                f"update macOS to {need} or newer, or if the install fails, use the dev container "
                "(GitHub Codespaces)",
                f"macOS를 {need} 이상으로 업데이트하거나, 설치에 실패하면 개발 컨테이너(GitHub "
                "Codespaces)를 쓰세요",
            ),
        )
    if build == "win-arm64":
        return Result(
            FAIL,
            Text(
                "this Python is a native Windows ARM64 build: cryptography (which Daphne needs "
                "through Twisted; on Python 3.11 pyyaml too) has no wheel for it, so `uv sync` "
                "cannot install",
                "이 파이썬은 Windows ARM64용 네이티브 빌드입니다. Daphne가 Twisted를 거쳐 쓰는 "
                "cryptography(Python 3.11에서는 pyyaml도)에 ARM64용 휠이 없어 `uv sync`가 설치하지 "
                "못합니다",
            ),
            Text(
                "use x64 Python, which Windows on ARM runs emulated: "
                f"`uv python install {X64_PYTHON}`, then `uv sync --python {X64_PYTHON}`",
                "Windows on ARM이 에뮬레이션으로 실행하는 x64 파이썬을 쓰세요: "
                f"`uv python install {X64_PYTHON}` 다음 `uv sync --python {X64_PYTHON}`",
            ),
        )
    if build == "win32":
        return Result(
            FAIL,
            Text(
                "this is a 32-bit Python: uv.lock has wheels for 64-bit (x64) Windows only",
                "32비트 파이썬입니다. uv.lock에는 64비트(x64) Windows용 휠만 있습니다",
            ),
            Text(
                f"use a 64-bit Python: `uv python install {X64_PYTHON}`, then "
                f"`uv sync --python {X64_PYTHON}`",
                f"64비트 파이썬을 쓰세요: `uv python install {X64_PYTHON}` 다음 "
                f"`uv sync --python {X64_PYTHON}`",
            ),
        )
    if build in WHEEL_PLATFORMS:
        return None
    return Result(
        WARN,
        Text(
            f"wheels for this platform ({build}) are not checked: `uv sync` fails where a package "
            "has none (this project never builds from source)",
            f"이 플랫폼({build})용 휠은 확인하지 않았습니다. 패키지에 휠이 없으면 `uv sync`가 "
            "실패합니다(이 프로젝트는 소스에서 빌드하지 않습니다)",
        ),
        Text(
            "if the install fails, use the dev container (GitHub Codespaces) or Docker "
            "(`docker compose up`)",
            "설치에 실패하면 개발 컨테이너(GitHub Codespaces)나 Docker(`docker compose up`)를 "
            "쓰세요",
        ),
    )


def locked_versions(lock_path=LOCK, installed=()):
    """({package: version} uv.lock installs here, [groups]) for the default groups plus every
    other group whose own packages are all installed (`uv sync --group docs` and the like),
    markers evaluated for this interpreter; None when `packaging` is not installed."""
    try:
        from lock_coverage import Lock
        from packaging.markers import Marker, default_environment
    except ImportError:
        return None
    lock = Lock(read_toml(lock_path))
    env = {**default_environment(), "extra": ""}
    groups = list(default_groups())
    for group, deps in lock.root().get("dev-dependencies", {}).items():
        own = [d["name"] for d in deps if "marker" not in d or Marker(d["marker"]).evaluate(env)]
        if group not in groups and own and all(name in installed for name in own):
            groups.append(group)
    return {n: v for n, v in lock.reached(env, groups)}, groups


def all_locked_versions(lock_path=LOCK):
    """{package: {every version uv.lock names}}: the check without markers."""
    return versions_by_name(Path(lock_path).read_text(encoding="utf-8"))


def check_environment(wanted=None, lock_path=LOCK, exact=True):
    """Are the stage packages importable, at exactly the versions uv.lock pins?"""
    try:
        from importlib import metadata
    except ImportError:  # Python < 3.8, already reported as too old
        metadata = None

    wanted = requirements() if wanted is None else wanted
    missing = []
    for name in wanted:
        try:
            metadata.version(name)
            importlib.import_module(PACKAGES.get(name, name.replace("-", "_")))
        except Exception:  # not installed, or installed but broken
            missing.append(name)
    if missing:
        names = ", ".join(missing)
        in_venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix)
        return Result(
            FAIL,
            Text(
                f"the project environment is not installed, or this Python "
                f"({sys.executable}) is not it: cannot import {names}",
                f"프로젝트 환경이 설치되지 않았거나 이 파이썬({sys.executable})이 그 환경이 "
                f"아닙니다. 가져올 수 없는 패키지: {names}",
            ),
            Text(
                "install it with `uv sync` in the repo folder, then check again with "
                "`uv run python tools/doctor.py`"
                + ("" if in_venv else " (through `uv run`, not plain `python3`)"),
                "저장소 폴더에서 `uv sync`로 설치한 뒤 "
                "`uv run python tools/doctor.py`로 다시 확인하세요"
                + ("" if in_venv else " (`python3`가 아니라 `uv run`으로 실행)"),
            ),
        )
    installed = {}
    for dist in metadata.distributions():
        installed.setdefault(normalize(dist.metadata["Name"] or ""), dist.version)
    pinned = locked_versions(lock_path, installed) if exact else None
    problems = []
    if pinned is None:  # no `packaging`: any version uv.lock names for the package will do
        groups = []
        for name, versions in sorted(all_locked_versions(lock_path).items()):
            if name in installed and installed[name] not in versions:
                shown = " or ".join(sorted(versions))
                problems.append(f"{name} {installed[name]} (uv.lock: {shown})")
        count = len(set(installed) & set(all_locked_versions(lock_path)))
    else:
        synced, groups = pinned
        for name, version in sorted(synced.items()):
            have = installed.get(name)
            if have is None:
                problems.append(f"{name} (uv.lock: {version}; not installed)")
            elif have != version:
                problems.append(f"{name} {have} (uv.lock: {version})")
        count = len(synced)
    if problems:
        listed = "; ".join(problems)
        extra = [g for g in groups if g not in default_groups()]
        sync = "uv sync" + "".join(f" --group {g}" for g in extra)
        return Result(
            FAIL,
            Text(
                f"installed packages differ from uv.lock: {listed}",
                f"설치된 패키지가 uv.lock과 다릅니다: {listed}",
            ),
            Text(
                f"`{sync}` installs exactly the versions pinned in uv.lock",
                f"`{sync}`가 uv.lock에 적힌 버전 그대로 설치합니다",
            ),
        )
    listed = ", ".join(f"{n} {metadata.version(n)}" for n in wanted)
    listed = Text(listed, listed)
    if groups:
        names = ", ".join(groups)
        listed = Text(f"{listed.en}; groups {names}", f"{listed.ko}; 그룹 {names}")
    return Result(
        OK,
        Text(
            f"project environment matches uv.lock: {count} packages ({listed.en})",
            f"프로젝트 환경이 uv.lock과 같습니다: 패키지 {count}개({listed.ko})",
        ),
    )


def check_stages(stage_dirs):
    """`manage.py check` in every stage, run side by side."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    running = [
        (
            d,
            subprocess.Popen(
                [sys.executable, "manage.py", "check"],
                cwd=d,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                universal_newlines=True,
            ),
        )
        for d in stage_dirs
    ]
    results = []
    for stage_dir, proc in running:
        try:
            _, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        name = Path(stage_dir).name
        if proc.returncode == 0:
            results.append(
                Result(OK, Text(f"{name}: settings check passed", f"{name}: 설정 확인 통과"))
            )
            continue
        last = (err.strip().splitlines() or ["(no output)"])[-1]
        results.append(
            Result(
                FAIL,
                Text(
                    f"{name}: `manage.py check` failed: {last}",
                    f"{name}: `manage.py check`가 실패했습니다: {last}",
                ),
                Text(
                    f"fix the file the error names, or reset the stage: `git checkout -- {name}`",
                    f"오류가 가리키는 파일을 고치거나 단계를 처음 상태로 되돌리세요: "
                    f"`git checkout -- {name}`",
                ),
            )
        )
    return results


def port_in_use(port):
    """Does something listen on the port, or hold it so that runserver could not bind it?"""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        pass
    with socket.socket() as s:
        if os.name != "nt":  # on Windows SO_REUSEADDR would let the bind take a port in use
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


def who_listens(port):
    """(pid, name) of the process listening on port, or None when it cannot be told."""
    try:
        import psutil

        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                if conn.pid:
                    return conn.pid, psutil.Process(conn.pid).name()
    except Exception:  # no psutil, or not allowed to look (macOS without root)
        pass
    if shutil.which("lsof"):
        out = subprocess.run(
            ["lsof", "-nP", f"-iTCP:{port}", "-sTCP:LISTEN", "-Fpc"], **CAPTURE
        ).stdout
        pid = re.search(r"^p(\d+)", out, re.M)
        cmd = re.search(r"^c(.+)", out, re.M)
        if pid:
            return int(pid.group(1)), cmd.group(1) if cmd else "?"
    return None


def compose_ports(compose_file=ROOT / "docker-compose.yml"):
    """{host port: service} that docker-compose.yml publishes (read without a YAML library)."""
    found, service = {}, None
    try:
        lines = Path(compose_file).read_text(encoding="utf-8").splitlines()
    except OSError:
        return found
    for line in lines:
        named = re.match(r"^  ([\w.-]+):\s*$", line)
        if named:
            service = named.group(1)
        for port in re.findall(r"[\"'](?:[\d.]+:)?(\d+):\d+[\"']", line):
            found.setdefault(int(port), service)
    return found


def stop_advice(pid, platform=sys.platform):
    command = f"taskkill /PID {pid} /F" if platform == "win32" else f"kill {pid}"
    return Text(
        f"stop it (`{command}`, or Ctrl+C in an old runserver's terminal)",
        f"그 프로그램을 끝내거나(`{command}`, 예전 runserver라면 그 터미널에서 Ctrl+C)",
    )


def holder(port):
    """(who listens on the port, how to stop it), a Text each."""
    who = who_listens(port)
    if who:
        pid, name = who
        return Text(f"{name} (PID {pid})", f"{name}(PID {pid})"), stop_advice(pid)
    return Text("another program", "(누구인지 알 수 없음)"), Text(
        "stop that program", "그 프로그램을 끝내거나"
    )


def check_ports(ports, compose=None):
    """runserver's ports must be free; a port docker compose publishes in use is a warning."""
    results = []
    for port in ports:
        if not port_in_use(port):
            continue
        who, stop = holder(port)
        results.append(
            Result(
                FAIL,
                Text(
                    f"port {port} is already in use by {who.en}",
                    f"포트 {port}번을 이미 쓰고 있는 프로그램이 있습니다: {who.ko}",
                ),
                Text(
                    f"{stop.en}, or serve on another port: `runserver {port + 10}`",
                    f"{stop.ko} 다른 포트로 실행하세요: `runserver {port + 10}`",
                ),
            )
        )
    compose = {} if compose is None else compose
    for port, service in sorted(compose.items()):
        if port in ports or not port_in_use(port):
            continue
        who, stop = holder(port)
        results.append(
            Result(
                WARN,
                Text(
                    f"port {port}, which docker compose publishes for {service}, is in use by "
                    f"{who.en}: `docker compose up` would fail",
                    f"docker compose의 {service} 서비스가 쓸 포트 {port}번을 {who.ko}이(가) 쓰고 "
                    "있어 `docker compose up`이 실패합니다",
                ),
                Text(
                    f"only matters with compose: {stop.en}, or go without compose",
                    f"compose를 쓸 때만 문제입니다: {stop.ko} compose를 쓰지 마세요",
                ),
            )
        )
    if not results:
        listed = ", ".join(str(p) for p in sorted(set(ports) | set(compose)))
        results.append(Result(OK, Text(f"ports {listed} are free", f"포트 {listed} 사용 가능")))
    return results


def redis_info(url, timeout=3.0):
    """Send INFO server to the Redis at url with a raw socket; returns the reply text."""
    parts = urlsplit(url)
    host, port = parts.hostname or "localhost", parts.port or 6379
    with socket.create_connection((host, port), timeout=timeout) as raw:
        conn = raw
        if parts.scheme == "rediss":
            conn = ssl.create_default_context().wrap_socket(raw, server_hostname=host)
        reader = conn.makefile("rb")

        def command(*args):
            frame = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
            conn.sendall(frame.encode())
            head = reader.readline().decode(errors="replace").rstrip("\r\n")
            if head.startswith("-"):
                raise PermissionError(head[1:])
            if head.startswith("$"):
                return reader.read(int(head[1:]) + 2).decode(errors="replace")
            return head

        if parts.password:
            auth = [unquote(parts.username)] if parts.username else []
            command("AUTH", *auth, unquote(parts.password))
        return command("INFO", "server")


def check_local_redis(strict, probe=LOCAL_REDIS, path=None, platform=sys.platform):
    """Without REDIS_URL: is there a redis-server to start, or a Redis already answering?"""
    results = []
    binary = shutil.which("redis-server", path=path)
    if binary:
        out = run_quiet([binary, "--version"])
        match = re.search(r"v=(\S+)", out)
        version = match.group(1) if match else "?"
        results.append(
            redis_version_result(version, "redis-server")
            if match and version_tuple(version) < MIN_REDIS
            else Result(
                OK,
                Text(
                    f"redis-server {version}: the Redis tests start their own",
                    f"redis-server {version}: Redis 테스트가 이 redis-server를 직접 띄웁니다",
                ),
            )
        )
    try:
        info = redis_info(probe, timeout=1.0)
    except (OSError, PermissionError):
        info = None
    if info is not None:
        match = re.search(r"^redis_version:(\S+)", info, re.M)
        results.append(
            Result(
                OK,
                Text(
                    f"Redis {match.group(1) if match else '?'} answers at {probe}: "
                    "`uv run --env-file redis.env ...` uses it",
                    f"{probe}에서 Redis {match.group(1) if match else '?'}가 응답합니다: "
                    "`uv run --env-file redis.env ...`로 이 Redis를 씁니다",
                ),
            )
        )
    if not results:
        results.append(
            Result(
                FAIL if strict else WARN,
                Text(
                    "no Redis here: the Redis tests skip, and stages 2-4 run on the in-memory "
                    "layer only",
                    "Redis가 없습니다: Redis 테스트는 건너뛰고, 2~4부는 인메모리 레이어로만 "
                    "실행됩니다",
                ),
                redis_install(platform),
            )
        )
    return results


def check_redis(url, strict=False, **local):
    if not url:
        return [
            Result(
                INFO,
                Text(
                    "REDIS_URL is not set: stages 2-4 use the in-memory channel layer "
                    "(one process)",
                    "REDIS_URL이 없습니다: 2~4부는 인메모리 레이어를 씁니다(프로세스 하나)",
                ),
            ),
            *check_local_redis(strict, **local),
        ]
    return [check_redis_url(url)]


def check_redis_url(url):
    parts = urlsplit(url)
    shown = url.replace(f":{parts.password}@", ":***@") if parts.password else url
    start = Text(
        "start Redis (`redis-server`, `docker compose up -d redis`, "
        "`brew services start redis`), or go without it: leave `--env-file redis.env` out of "
        "the command, or clear REDIS_URL (bash/zsh `unset REDIS_URL`, PowerShell "
        "`Remove-Item Env:REDIS_URL`, cmd `set REDIS_URL=`)",
        "Redis를 시작하세요(`redis-server`, `docker compose up -d redis`, "
        "`brew services start redis`). Redis 없이 하려면 명령에서 `--env-file redis.env`를 빼거나 "
        "REDIS_URL을 지우세요(bash/zsh `unset REDIS_URL`, PowerShell `Remove-Item Env:REDIS_URL`, "
        "cmd `set REDIS_URL=`)",
    )
    if parts.scheme not in ("redis", "rediss"):
        return Result(
            WARN,
            Text(
                f"REDIS_URL ({shown}) has a scheme this check cannot test",
                f"이 검사로는 확인할 수 없는 REDIS_URL 형식입니다: {shown}",
            ),
        )
    try:
        info = redis_info(url)
    except PermissionError as error:
        return Result(
            FAIL,
            Text(
                f"Redis at {shown} refused the request: {error}",
                f"Redis({shown})가 요청을 거절했습니다: {error}",
            ),
            Text(
                "check the password in REDIS_URL: redis://:password@host:6379/0",
                "REDIS_URL의 비밀번호를 확인하세요: redis://:비밀번호@호스트:6379/0",
            ),
        )
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        return Result(
            FAIL,
            Text(
                f"cannot reach Redis at REDIS_URL ({shown}): {reason}",
                f"REDIS_URL({shown})의 Redis에 연결할 수 없습니다: {reason}",
            ),
            start,
        )
    match = re.search(r"^redis_version:(\S+)", info, re.M)
    version = match.group(1) if match else "?"
    return redis_version_result(version, shown)


def redis_version_result(version, shown="REDIS_URL"):
    need = ".".join(str(v) for v in MIN_REDIS)
    if version_tuple(version) >= MIN_REDIS:
        return Result(OK, Text(f"Redis {version} ({shown})", f"Redis {version} ({shown})"))
    return Result(
        FAIL,
        Text(
            f"Redis {version} ({shown}) is too old: channels-redis uses BZPOPMIN, which needs "
            f"{need} or newer",
            f"Redis 버전이 너무 낮습니다: {version} ({shown}). channels-redis는 BZPOPMIN을 쓰므로 "
            f"{need} 이상이 필요합니다",
        ),
        Text(
            "use Redis 7: `docker compose up -d redis`, or a current distribution's redis-server",
            "Redis 7을 쓰세요: `docker compose up -d redis` 또는 최신 배포판의 redis-server",
        ),
    )


def run_quiet(command, timeout=15):
    """stdout + stderr of a command, or "" when it cannot run."""
    try:
        done = subprocess.run(command, timeout=timeout, **CAPTURE)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout + done.stderr


def check_docker(path=None, platform=sys.platform):
    docker = shutil.which("docker", path=path)
    if docker is None:
        return Result(
            INFO,
            Text(
                "Docker is not installed (optional: `docker compose up` serves every stage "
                "and Redis)",
                "Docker가 없습니다(선택 사항: `docker compose up`으로 모든 단계와 Redis를 띄울 수 "
                "있습니다)",
            ),
        )
    try:
        done = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"], timeout=20, **CAPTURE
        )
        engine = done.stdout.strip() if done.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        engine = None
    if not engine:
        start = (
            Text("start Docker Desktop", "Docker Desktop을 실행하세요")
            if platform in ("win32", "darwin")
            else Text("`sudo systemctl start docker`", "`sudo systemctl start docker`")
        )
        return Result(
            INFO,
            Text(
                "the Docker client is installed, but its engine is not running (optional)",
                "Docker 클라이언트는 있지만 엔진이 돌고 있지 않습니다(선택 사항)",
            ),
            Text(f"to use compose, {start.en}", f"compose를 쓰려면 {start.ko}"),
        )
    return check_compose_v2(docker, platform) or Result(
        OK,
        Text(
            f"Docker engine {engine}: `docker compose up -d redis` gives a Redis",
            f"Docker 엔진 {engine}: `docker compose up -d redis`로 Redis를 띄울 수 있습니다",
        ),
    )


def check_compose_v2(docker, platform=sys.platform):
    """A warning when `docker compose version` fails (no Compose v2); None when it answers.

    Every compose command in the README and the guide is `docker compose ...`: the old
    `docker-compose` (1.x) does not run them."""
    try:
        done = subprocess.run([docker, "compose", "version"], timeout=20, **CAPTURE)
        if done.returncode == 0:
            return None
    except (OSError, subprocess.SubprocessError):
        pass
    if platform in ("win32", "darwin"):
        fix = Text(
            "update Docker Desktop: its current releases include Compose v2",
            "Docker Desktop을 업데이트하세요. 요즘 버전에는 Compose v2가 들어 있습니다",
        )
    else:
        fix = Text(
            "install the Compose plugin: `sudo apt-get install docker-compose-plugin` (Docker's "
            "apt repository; Ubuntu's own package is `docker-compose-v2`). The old "
            "`docker-compose` 1.x is not enough",
            "Compose 플러그인을 설치하세요: `sudo apt-get install docker-compose-plugin`(Docker의 "
            "apt 저장소. Ubuntu 자체 패키지는 `docker-compose-v2`). 예전 `docker-compose` 1.x로는 "
            "안 됩니다",
        )
    return Result(
        WARN,
        Text(
            "Docker has no Compose v2: `docker compose version` fails, so the `docker compose` "
            "commands of the README and the instructor guide do not run",
            "Docker에 Compose v2가 없습니다. `docker compose version`이 실패하므로 README와 강사 "
            "가이드의 `docker compose` 명령이 실행되지 않습니다",
        ),
        fix,
    )


def check_windows(platform=sys.platform, path=None, policy=None, env=os.environ):
    """The Windows specifics that bite: the Store's `python3` alias, the activation policy."""
    if platform != "win32":
        return []
    results = []
    python3 = shutil.which("python3", path=path)
    if python3 and "windowsapps" in python3.lower():
        apps = Path(python3).parent
        store_python = any(apps.glob("PythonSoftwareFoundation.Python.*"))
        if not store_python:
            results.append(
                Result(
                    WARN,
                    Text(
                        "`python3` here is the Microsoft Store's alias, not a Python",
                        "`python3`가 파이썬이 아니라 Microsoft Store를 여는 별칭입니다",
                    ),
                    Text(
                        "type `uv run python ...` (or `py`); to turn the alias off: "
                        "Settings > Apps > Advanced app settings > App execution aliases: "
                        "python.exe, python3.exe off",
                        "`uv run python ...`으로 실행하세요(또는 `py`). 별칭 끄기: 설정 > 앱 > "
                        "고급 앱 설정 > 앱 실행 별칭에서 python.exe, python3.exe 끄기",
                    ),
                )
            )
    if policy is None:
        shell = shutil.which("powershell", path=path) or shutil.which("pwsh", path=path)
        policy = (
            run_quiet([shell, "-NoProfile", "-NonInteractive", "-Command", "Get-ExecutionPolicy"])
            if shell
            else ""
        ).strip()
    if policy in ("Restricted", "AllSigned", "Undefined"):
        results.append(
            Result(
                WARN,
                Text(
                    f"PowerShell's execution policy ({policy}) refuses "
                    "`.venv\\Scripts\\Activate.ps1`",
                    f"PowerShell 실행 정책({policy}) 때문에 `.venv\\Scripts\\Activate.ps1`이 "
                    "실행되지 않습니다",
                ),
                Text(
                    "`uv run ...` needs no activation; to activate anyway: "
                    "`Set-ExecutionPolicy -Scope CurrentUser RemoteSigned`",
                    "`uv run ...`은 활성화가 필요 없습니다. 활성화하려면: "
                    "`Set-ExecutionPolicy -Scope CurrentUser RemoteSigned`",
                ),
            )
        )
    if not results:
        results.append(Result(OK, Text("Windows settings are fine", "Windows 설정 문제 없음")))
    return results


def check_browser(strict=False, path=None, platform=sys.platform):
    import browsers  # dataclasses: Python 3.7+, imported only once the Python is known to do

    found = browsers.detect(path=path, platform=platform)
    hint = browser_install(platform)
    if found.ready:
        name = f"{found.browser.name} {found.browser.major}"
        driver = f"{found.browser.driver_program} {found.driver_major}"
        return Result(
            OK, Text(f"{name}, {driver} ({found.driver})", f"{name}, {driver} ({found.driver})")
        )
    if found.driver:  # a driver of another major version: broken, not missing
        return Result(
            FAIL,
            Text(
                f"browser and driver versions differ: {found.problem}",
                f"브라우저와 드라이버 버전이 맞지 않습니다: {found.problem}",
            ),
            Text(
                f"get the matching driver while online: `{FETCH_DRIVER}`, or {hint.en}",
                f"같은 버전의 드라이버를 받으세요(인터넷 연결 필요): `{FETCH_DRIVER}`, "
                f"또는 {hint.ko}",
            ),
        )
    if found.browser is not None:  # a browser but no driver: Selenium would go online for one
        apt = Text("", "")
        if platform.startswith("linux") and found.browser.name == "Chromium":
            apt = Text(
                "; on Debian, `sudo apt-get install chromium-driver` also does",
                " 데비안에서는 `sudo apt-get install chromium-driver`도 됩니다",
            )
        return Result(
            FAIL,
            Text(
                f"not ready for the browser tests: {found.problem}, so Selenium would have to "
                "download one, which fails without the internet",
                "브라우저 테스트를 실행할 준비가 되지 않았습니다: "
                f"브라우저({found.browser.name})는 있지만 {found.browser.driver_program}가 "
                "없습니다. Selenium이 드라이버를 "
                "내려받아야 하는데, 인터넷이 없으면 받지 못합니다",
            ),
            Text(
                f"run once while online: `{FETCH_DRIVER}`{apt.en}",
                f"인터넷에 연결된 상태에서 한 번 실행하세요: `{FETCH_DRIVER}`.{apt.ko}",
            ),
        )
    return Result(
        FAIL if strict else WARN,
        Text(
            f"the browser tests cannot run here ({found.problem}): they skip",
            f"브라우저 테스트를 할 수 없습니다({found.problem}): 이 테스트는 건너뜁니다",
        ),
        hint,
    )


def fetch_driver(lang):
    """--fetch-driver: let Selenium Manager cache a driver for the browser found (online)."""
    import browsers

    found = browsers.detect()
    if found.ready:
        result = Result(
            OK,
            Text(
                f"a matching driver is already there: {found.driver}",
                f"드라이버가 이미 있습니다: {found.driver}",
            ),
        )
    elif found.browser is None:
        result = Result(
            FAIL,
            Text("install a browser first", "먼저 브라우저를 설치하세요"),
            browser_install(),
        )
    else:
        driver = browsers.fetch_driver(found.browser)
        result = (
            Result(OK, Text(f"driver cached: {driver}", f"드라이버를 받았습니다: {driver}"))
            if driver
            else Result(
                FAIL,
                Text(
                    "Selenium Manager could not fetch a driver (is this machine online?)",
                    "Selenium Manager가 드라이버를 받지 못했습니다(인터넷 연결을 확인하세요)",
                ),
            )
        )
    for line in result.lines(lang):
        print(line)
    return 1 if result.status == FAIL else 0


def run(checks, ports, stage_dirs, lang, strict=False, compose=None):
    results = []
    env_ok = True
    if "python" in checks:
        results.append(check_python())
        on_platform = check_platform()
        if on_platform is not None:
            results.append(on_platform)
    if "windows" in checks:
        results.extend(check_windows())
    if "env" in checks or "stages" in checks:
        env = check_environment()
        env_ok = env.status == OK
        if "env" in checks:
            results.append(env)
    if "stages" in checks:
        if env_ok:
            results.extend(check_stages(stage_dirs))
        else:
            results.append(
                Result(
                    WARN,
                    Text(
                        "the stages' settings can be checked once the environment is installed",
                        "단계 설정 확인은 환경을 설치한 뒤에 할 수 있습니다",
                    ),
                )
            )
    if "ports" in checks:
        results.extend(check_ports(ports, compose))
    if "redis" in checks:
        results.extend(check_redis(os.environ.get("REDIS_URL"), strict))
    if "docker" in checks:
        results.append(check_docker())
    if "browser" in checks:
        results.append(check_browser(strict))

    for result in results:
        for line in result.lines(lang):
            print(line)
    problems = sum(r.status == FAIL for r in results)
    warnings = sum(r.status == WARN for r in results)
    if problems:
        summary = Result(
            FAIL,
            Text(
                f"not ready: {problems} problem(s); fix them as shown (→), then run this again",
                f"준비 안 됨: 문제 {problems}개. → 안내대로 고친 뒤 다시 실행하세요",
            ),
        )
    elif warnings:
        summary = Result(
            OK,
            Text(
                f"ready ({warnings} warning(s): those tests skip)",
                f"준비 완료(경고 {warnings}개: 해당 테스트는 건너뜁니다)",
            ),
        )
    else:
        summary = Result(OK, Text("ready", "준비 완료"))
    print()
    print(summary.lines(lang)[0])
    return 1 if problems else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=["ko", "en", "both"], default="both")
    parser.add_argument("--only", help=f"comma-separated checks out of: {','.join(CHECKS)}")
    parser.add_argument(
        "--ports", help="comma-separated ports to check (default 8000-8004 and compose's)"
    )
    parser.add_argument("--stage", action="append", help="a stage folder (default: all four)")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="a missing browser or Redis is a failure (the default when CI=true)",
    )
    parser.add_argument(
        "--fetch-driver",
        action="store_true",
        help="while online: let Selenium Manager cache a driver for the browser found",
    )
    args = parser.parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")
    if args.fetch_driver:
        return fetch_driver(args.lang)

    checks = args.only.split(",") if args.only else CHECKS
    unknown = sorted(set(checks) - set(CHECKS))
    if unknown:
        parser.error(f"unknown check(s): {', '.join(unknown)}; choose from {', '.join(CHECKS)}")
    try:
        ports = [int(p) for p in args.ports.split(",")] if args.ports else DEFAULT_PORTS
    except ValueError:
        parser.error(f"--ports takes port numbers separated by commas, not {args.ports!r}")
    compose = None if args.ports else compose_ports()
    stage_dirs = args.stage or [str(ROOT / s) for s in STAGES]
    strict = args.strict or os.environ.get("CI", "").lower() == "true"
    return run(checks, ports, stage_dirs, args.lang, strict, compose)


if __name__ == "__main__":
    sys.exit(main())
