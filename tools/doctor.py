#!/usr/bin/env python3
"""Preflight check for a workshop laptop: what is missing and how to fix it, in Korean and English.

    uv run python tools/doctor.py          # the full check (exit code 0 only when ready)
    python3 tools/doctor.py                # before `uv sync`: says the environment is missing
    uv run python tools/doctor.py --lang ko --only ports,redis --ports 8000,8001

Standard library only (psutil is used when present to name who holds a port), and written for old
Pythons too, so that it can say the Python is too old instead of failing to start.
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

ROOT = Path(__file__).resolve().parent.parent
STAGES = ["part1_echo", "part2_groups", "part3_async", "part4_tests"]
MIN_PYTHON = (3, 11)
MIN_REDIS = (5, 0)  # channels-redis blocks on BZPOPMIN, added in Redis 5.0
DEFAULT_PORTS = [8000, 8001, 8002, 8003, 8004]
CHECKS = ["python", "env", "stages", "ports", "redis", "browser"]
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
    def __init__(self, status, ko, en, fix_ko=None, fix_en=None):
        self.status, self.ko, self.en = status, ko, en
        self.fix_ko, self.fix_en = fix_ko, fix_en

    def lines(self, lang):
        def pick(ko, en):
            return {"ko": ko, "en": en}.get(lang) or f"{ko} / {en}"

        out = [f"{self.status} {pick(self.ko, self.en)}"]
        if self.fix_ko:
            out.append(f"  → {pick(self.fix_ko, self.fix_en)}")
        return out


def version_tuple(text):
    match = re.match(r"\d+(\.\d+)*", text.strip())
    return tuple(int(part) for part in match.group(0).split(".")) if match else ()


def satisfies(version, spec):
    """True when version (e.g. "5.2.8") meets a specifier like ">=5.2,<5.3"."""
    have = version_tuple(version)
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        op, wanted = re.match(r"(~=|==|!=|>=|<=|>|<)\s*(.+)", clause).groups()
        want = version_tuple(wanted)
        width = max(len(have), len(want))
        a, b = have + (0,) * (width - len(have)), want + (0,) * (width - len(want))
        ok = {
            ">=": a >= b,
            ">": a > b,
            "<=": a <= b,
            "<": a < b,
            "==": a == b,
            "!=": a != b,
            "~=": a >= b and have[: len(want) - 1] == want[:-1],
        }[op]
        if not ok:
            return False
    return True


def requirements(pyproject=ROOT / "pyproject.toml"):
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
        return Result(OK, f"파이썬(Python) {shown}", f"Python {shown}")
    return Result(
        FAIL,
        f"파이썬(Python) 버전이 너무 낮습니다: {shown} ({need} 이상 필요)",
        f"Python {shown} is too old: {need} or newer is needed",
        "uv가 알맞은 파이썬을 받아 옵니다: `uv python install 3.12` 다음 `uv sync`",
        "let uv fetch one: `uv python install 3.12`, then `uv sync`",
    )


def check_environment(wanted=None):
    """Are the stage packages importable, at the versions pyproject.toml asks for?"""
    try:
        from importlib import metadata
    except ImportError:  # Python < 3.8, already reported as too old
        metadata = None

    wanted = requirements() if wanted is None else wanted
    missing, wrong = [], []
    for name, spec in wanted.items():
        try:
            installed = metadata.version(name)
            importlib.import_module(PACKAGES.get(name, name.replace("-", "_")))
        except Exception:  # not installed, or installed but broken
            missing.append(name)
            continue
        if not satisfies(installed, spec):
            wrong.append(f"{name} {installed} ({spec})")
    if missing:
        names = ", ".join(missing)
        in_venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix)
        return Result(
            FAIL,
            f"프로젝트 환경이 설치되지 않았거나 이 파이썬({sys.executable})이 그 환경이 아닙니다. "
            f"가져올 수 없는 패키지: {names}",
            f"the project environment is not installed, or this Python ({sys.executable}) is "
            f"not it: cannot import {names}",
            "저장소 폴더에서 `uv sync`로 설치한 뒤 "
            "`uv run python tools/doctor.py`로 다시 확인하세요"
            + ("" if in_venv else " (`python3`가 아니라 `uv run`으로 실행)"),
            "install it with `uv sync` in the repo folder, then check again with "
            "`uv run python tools/doctor.py`"
            + ("" if in_venv else " (through `uv run`, not plain `python3`)"),
        )
    if wrong:
        listed = "; ".join(wrong)
        return Result(
            FAIL,
            f"패키지 버전이 맞지 않습니다(괄호 안이 필요한 버전): {listed}",
            f"package versions do not match (needed in parentheses): {listed}",
            "`uv sync`가 uv.lock에 적힌 버전으로 맞춥니다",
            "`uv sync` installs the versions pinned in uv.lock",
        )
    listed = ", ".join(f"{n} {metadata.version(n)}" for n in wanted)
    return Result(OK, f"프로젝트 환경: {listed}", f"project environment: {listed}")


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
            results.append(Result(OK, f"{name}: 설정 확인 통과", f"{name}: settings check passed"))
            continue
        last = (err.strip().splitlines() or ["(no output)"])[-1]
        results.append(
            Result(
                FAIL,
                f"{name}: `manage.py check`가 실패했습니다: {last}",
                f"{name}: `manage.py check` failed: {last}",
                f"오류가 가리키는 파일을 고치거나 단계를 처음 상태로 되돌리세요: "
                f"`git checkout -- {name}`",
                f"fix the file the error names, or reset the stage: `git checkout -- {name}`",
            )
        )
    return results


def port_in_use(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        pass
    with socket.socket() as s:
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


def check_ports(ports):
    results = []
    for port in ports:
        if not port_in_use(port):
            continue
        who = who_listens(port)
        if who:
            pid, name = who
            holder_ko, holder_en = f"{name}(PID {pid})", f"{name} (PID {pid})"
            stop_ko = (
                f"그 프로그램을 끝내거나(`kill {pid}`, 예전 runserver라면 그 터미널에서 Ctrl+C)"
            )
            stop_en = f"stop it (`kill {pid}`, or Ctrl+C in an old runserver's terminal)"
        else:
            holder_ko, holder_en = "(누구인지 알 수 없음)", "another program"
            stop_ko, stop_en = "그 프로그램을 끝내거나", "stop that program"
        results.append(
            Result(
                FAIL,
                f"포트 {port}번을 이미 쓰고 있는 프로그램이 있습니다: {holder_ko}",
                f"port {port} is already in use by {holder_en}",
                f"{stop_ko} 다른 포트로 실행하세요: `runserver {port + 10}`",
                f"{stop_en}, or serve on another port: `runserver {port + 10}`",
            )
        )
    if not results:
        listed = ", ".join(str(p) for p in ports)
        results.append(Result(OK, f"포트 {listed} 사용 가능", f"ports {listed} are free"))
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


def check_redis(url):
    if not url:
        return Result(
            INFO,
            "REDIS_URL이 없습니다: 2-4단계는 인메모리 채널 레이어(channel layer)를 씁니다"
            "(프로세스 하나)",
            "REDIS_URL is not set: stages 2-4 use the in-memory channel layer (one process)",
        )
    parts = urlsplit(url)
    shown = url.replace(f":{parts.password}@", ":***@") if parts.password else url
    start_ko = (
        "Redis를 시작하세요(`redis-server`, `docker compose up -d redis`, "
        "`brew services start redis`). Redis 없이 하려면 `unset REDIS_URL`"
    )
    start_en = (
        "start Redis (`redis-server`, `docker compose up -d redis`, "
        "`brew services start redis`), or `unset REDIS_URL` to go without it"
    )
    if parts.scheme not in ("redis", "rediss"):
        return Result(
            WARN,
            f"이 검사로는 확인할 수 없는 REDIS_URL 형식입니다: {shown}",
            f"REDIS_URL ({shown}) has a scheme this check cannot test",
        )
    try:
        info = redis_info(url)
    except PermissionError as error:
        return Result(
            FAIL,
            f"Redis({shown})가 요청을 거절했습니다: {error}",
            f"Redis at {shown} refused the request: {error}",
            "REDIS_URL의 비밀번호를 확인하세요: redis://:비밀번호@호스트:6379/0",
            "check the password in REDIS_URL: redis://:password@host:6379/0",
        )
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        return Result(
            FAIL,
            f"REDIS_URL({shown})의 Redis에 연결할 수 없습니다: {reason}",
            f"cannot reach Redis at REDIS_URL ({shown}): {reason}",
            start_ko,
            start_en,
        )
    match = re.search(r"^redis_version:(\S+)", info, re.M)
    version = match.group(1) if match else "?"
    return redis_version_result(version, shown)


def redis_version_result(version, shown="REDIS_URL"):
    need = ".".join(str(v) for v in MIN_REDIS)
    if version_tuple(version) >= MIN_REDIS:
        return Result(OK, f"Redis {version} ({shown})", f"Redis {version} ({shown})")
    return Result(
        FAIL,
        f"Redis 버전이 너무 낮습니다: {version} ({shown}). channels-redis는 BZPOPMIN을 쓰므로 "
        f"{need} 이상이 필요합니다",
        f"Redis {version} ({shown}) is too old: channels-redis uses BZPOPMIN, which needs "
        f"{need} or newer",
        "Redis 7을 쓰세요: `docker compose up -d redis` 또는 최신 배포판의 redis-server",
        "use Redis 7: `docker compose up -d redis`, or a current distribution's redis-server",
    )


def major_version(binary):
    try:
        out = subprocess.run([binary, "--version"], timeout=30, **CAPTURE)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"(\d+)\.\d+\.\d+", out.stdout)
    return int(match.group(1)) if match else None


def check_browser():
    install_ko = (
        "`sudo apt-get install chromium chromium-driver`(macOS: `brew install --cask "
        "chromium chromedriver`)"
    )
    install_en = (
        "`sudo apt-get install chromium chromium-driver` (macOS: `brew install --cask "
        "chromium chromedriver`)"
    )
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    absent = [name for name, path in (("chromium", chromium), ("chromedriver", driver)) if not path]
    if absent:
        names = ", ".join(absent)
        return Result(
            FAIL,
            f"PATH에서 찾지 못했습니다: {names} (4단계의 브라우저 테스트에 필요)",
            f"{names} not found on PATH (part4's browser tests need it)",
            f"설치하세요: {install_ko}",
            f"install: {install_en}",
        )
    browser_major, driver_major = major_version(chromium), major_version(driver)
    if browser_major is None or driver_major is None:
        return Result(
            WARN,
            "Chromium 또는 chromedriver의 버전을 읽을 수 없습니다",
            "cannot read the Chromium or chromedriver version",
        )
    if browser_major != driver_major:
        return Result(
            FAIL,
            f"버전이 맞지 않습니다: Chromium {browser_major}, chromedriver {driver_major} "
            f"({chromium}, {driver})",
            f"versions differ: Chromium {browser_major}, chromedriver {driver_major} "
            f"({chromium}, {driver})",
            f"둘을 같은 곳에서 설치하세요(apt의 chromium과 chromium-driver는 늘 같은 버전): "
            f"{install_ko}",
            f"install both from one source (apt's chromium and chromium-driver always match): "
            f"{install_en}",
        )
    return Result(
        OK,
        f"Chromium {browser_major}, chromedriver {driver_major}",
        f"Chromium {browser_major}, chromedriver {driver_major}",
    )


def run(checks, ports, stage_dirs, lang):
    results = []
    env_ok = True
    if "python" in checks:
        results.append(check_python())
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
                    "단계 설정 확인은 환경을 설치한 뒤에 할 수 있습니다",
                    "the stages' settings can be checked once the environment is installed",
                )
            )
    if "ports" in checks:
        results.extend(check_ports(ports))
    if "redis" in checks:
        results.append(check_redis(os.environ.get("REDIS_URL")))
    if "browser" in checks:
        results.append(check_browser())

    for result in results:
        for line in result.lines(lang):
            print(line)
    problems = sum(r.status == FAIL for r in results)
    if problems:
        summary = Result(
            FAIL,
            f"문제 {problems}개: → 안내대로 고친 뒤 다시 실행하세요",
            f"{problems} problem(s): fix them as shown (→), then run this again",
        )
    else:
        summary = Result(OK, "준비 완료", "ready")
    print()
    print(summary.lines(lang)[0])
    return 1 if problems else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=["ko", "en", "both"], default="both")
    parser.add_argument("--only", help=f"comma-separated checks out of: {','.join(CHECKS)}")
    parser.add_argument("--ports", help="comma-separated ports to check (default 8000-8004)")
    parser.add_argument("--stage", action="append", help="a stage folder (default: all four)")
    args = parser.parse_args(argv)

    checks = args.only.split(",") if args.only else CHECKS
    unknown = sorted(set(checks) - set(CHECKS))
    if unknown:
        parser.error(f"unknown check(s): {', '.join(unknown)}; choose from {', '.join(CHECKS)}")
    ports = [int(p) for p in args.ports.split(",")] if args.ports else DEFAULT_PORTS
    stage_dirs = args.stage or [str(ROOT / s) for s in STAGES]
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")
    return run(checks, ports, stage_dirs, args.lang)


if __name__ == "__main__":
    sys.exit(main())
