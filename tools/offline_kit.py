"""Build an offline kit for a room with no (or slow) internet: copy the folder to a USB stick.

    uv run python tools/offline_kit.py kit                      # every platform x Python 3.11-3.14
    uv run python tools/offline_kit.py --platforms this --pythons this kit
    uv run python tools/offline_kit.py --platforms windows-x86_64,macos-arm64 kit

The kit holds: wheels/ (every package uv.lock installs, for each platform x Python, checked
against the lock's hashes), requirements.txt (the lock exported, with hashes), uv/<platform>/
(the uv binary, from uv's wheel on PyPI), repo.zip (git archive of HEAD), docs-site/ (the built
docs) and README.md / README.ko.md saying how to install with no network on each OS.

Needs the internet (PyPI) while building; pip downloads the wheels with --only-binary, one
platform x Python at a time, with the versions and hashes the lock gives that environment.
"""

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import lock_coverage as lc
from lockfile import default_groups
from packaging.utils import parse_wheel_filename
from stages import ROOT

TARGETS = {t.key: t for t in lc.TARGETS}
PYTHONS = {f"{major}.{minor}": (major, minor) for major, minor in lc.PYTHONS}


def this_platform():
    machine = platform.machine().lower()
    arch = {"amd64": "x86_64", "x86_64": "x86_64", "arm64": "arm64", "aarch64": "aarch64"}
    key = {
        "linux": f"linux-{arch.get(machine, machine)}",
        "darwin": f"macos-{'arm64' if machine in ('arm64', 'aarch64') else 'x86_64'}",
        "win32": "windows-x86_64",
    }.get(sys.platform)
    if key not in TARGETS:
        raise SystemExit(f"this machine ({sys.platform} {machine}) is not a workshop platform")
    return key


def pip():
    """pip: this Python's, or one uv runs for us."""
    probe = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True)
    if probe.returncode == 0:
        return [sys.executable, "-m", "pip"]
    return [shutil.which("uv") or "uv", "tool", "run", "--from", "pip", "pip"]


def pinned_requirements(lock, target, python, groups, patch=0):
    """name==version --hash=... for every package uv.lock installs on target x python."""
    lines = {}
    env = target.environment(python, patch)
    for (name, version), package in sorted(lock.reached(env, groups).items()):
        if "virtual" in package.get("source", {}):
            continue
        hashes = [w["hash"] for w in package.get("wheels", []) if "hash" in w]
        lines[name, version] = f"{name}=={version} " + " ".join(f"--hash={h}" for h in hashes)
    return lines


def requirement_sets(lock, target, python, groups):
    """[(patch, pins)] for a Python's first and a late patch release (the lock splits some, e.g.
    at 3.11.5), as separate lists: pip takes one version of a package per run."""
    first = pinned_requirements(lock, target, python, groups, 0)
    late = pinned_requirements(lock, target, python, groups, 99)
    extra = [line for key, line in late.items() if key not in first]
    return [(0, list(first.values()))] + ([(99, extra)] if extra else [])


def download(pip_command, requirements, target, python, dest, log):
    """pip download of wheels only, for another platform and Python, no dependencies."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(requirements) + "\n")
    abi = f"cp{python[0]}{python[1]}"
    command = [*pip_command, "download", "--no-deps", "--only-binary=:all:", "--require-hashes"]
    command += [f"--platform={p}" for p in target.platforms]
    command += ["--python-version", ".".join(map(str, python)), "--implementation", "cp"]
    command += ["--abi", abi, "--dest", str(dest), "--quiet", "--disable-pip-version-check"]
    command += ["-r", f.name]
    try:
        done = subprocess.run(command, capture_output=True, text=True)
    finally:
        os.unlink(f.name)
    log.write(done.stdout + done.stderr)
    if done.returncode != 0:
        raise SystemExit(
            f"pip could not download wheels for {target.name}, Python {python[0]}.{python[1]}:\n"
            + done.stderr[-3000:]
        )


def covered(lock, target, python, groups, wheels_dir):
    """Packages the kit lacks a usable wheel for (should be none once downloaded)."""
    accepted = target.tags(python)
    have = {}
    for wheel in wheels_dir.glob("*.whl"):
        name, version, _, tags = parse_wheel_filename(wheel.name)
        have.setdefault((str(name), str(version)), set()).update(tags)
    missing = set()
    for patch in (0, 99):
        for (name, version), package in lock.reached(
            target.environment(python, patch), groups
        ).items():
            if (
                "virtual" not in package.get("source", {})
                and not have.get((name, version), set()) & accepted
            ):
                missing.add((name, version))
    return sorted(missing)


def uv_version():
    out = subprocess.run(["uv", "--version"], capture_output=True, text=True, check=True).stdout
    return out.split()[1]


def fetch_uv(pip_command, target, version, dest, log):
    """uv's own binary for target: its wheel from PyPI, unpacked to dest/<key>/."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [*pip_command, "download", "--no-deps", "--only-binary=:all:", "--quiet"]
        command += [f"--platform={p}" for p in target.platforms]
        command += ["--python-version", "3.12", "--dest", tmp, f"uv=={version}"]
        done = subprocess.run(command, capture_output=True, text=True)
        log.write(done.stdout + done.stderr)
        wheels = list(Path(tmp).glob("uv-*.whl"))
        if done.returncode != 0 or not wheels:
            raise SystemExit(f"could not download uv {version} for {target.name}:\n{done.stderr}")
        out = dest / target.key
        out.mkdir(parents=True)
        with zipfile.ZipFile(wheels[0]) as wheel:
            for member in wheel.namelist():
                if "/scripts/" in member and member.rsplit("/", 1)[1] in (
                    "uv",
                    "uvx",
                    "uv.exe",
                    "uvx.exe",
                ):
                    path = out / member.rsplit("/", 1)[1]
                    path.write_bytes(wheel.read(member))
                    path.chmod(0o755)
    return sorted(p.name for p in out.iterdir())


def export_requirements(groups, dest):
    command = ["uv", "export", "--frozen", "--format", "requirements.txt", "--no-emit-project"]
    command += ["--no-default-groups", *[arg for g in groups for arg in ("--group", g)]]
    command += ["-o", str(dest), "--quiet"]
    subprocess.run(command, cwd=ROOT, check=True)


def archive_repository(dest):
    subprocess.run(
        [
            "git",
            "archive",
            "--format=zip",
            "--prefix=channels-chat-tutorial/",
            "-o",
            str(dest),
            "HEAD",
        ],
        cwd=ROOT,
        check=True,
    )


def build_docs(dest, log):
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--quiet", "--site-dir", str(dest)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    log.write(done.stdout + done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"mkdocs build failed (or use --no-docs):\n{done.stderr[-3000:]}")


def size(path):
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def megabytes(n):
    return f"{n / 1_000_000:.0f} MB"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="the kit folder to create (must not exist, or be empty)")
    parser.add_argument(
        "--platforms",
        default="all",
        help=f"comma-separated, out of {', '.join(TARGETS)}; 'this' or 'all' (default)",
    )
    parser.add_argument(
        "--pythons", default="all", help="comma-separated, out of 3.11-3.14; 'this' or 'all'"
    )
    parser.add_argument(
        "--groups", help="dependency groups to include (default: what `uv sync` installs)"
    )
    parser.add_argument("--no-docs", action="store_true", help="leave the built docs site out")
    args = parser.parse_args(argv)

    def choose(value, choices, this, what):
        if value == "all":
            return list(choices)
        picked = [this() if v == "this" else v for v in value.split(",") if v]
        unknown = [v for v in picked if v not in choices]
        if unknown:
            parser.error(f"unknown {what}: {', '.join(unknown)}; choose from {', '.join(choices)}")
        return list(dict.fromkeys(picked))

    keys = choose(args.platforms, TARGETS, this_platform, "platform")
    pythons = choose(
        args.pythons, PYTHONS, lambda: f"{sys.version_info[0]}.{sys.version_info[1]}", "Python"
    )
    groups = args.groups.split(",") if args.groups else default_groups()
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        parser.error(f"{out} exists and is not empty: name a new folder")
    out.mkdir(parents=True, exist_ok=True)
    wheels = out / "wheels"
    wheels.mkdir()
    log = open(out / "build.log", "w", encoding="utf-8")

    lock = lc.Lock(lc.load())
    pip_command = pip()
    for key in keys:
        target = TARGETS[key]
        for version in pythons:
            python = PYTHONS[version]
            print(f"wheels: {target.name}, Python {version}", flush=True)
            for patch, requirements in requirement_sets(lock, target, python, groups):
                download(pip_command, requirements, target, (*python, patch), wheels, log)
            gaps = covered(lock, target, python, groups, wheels)
            if gaps:
                raise SystemExit(f"no wheel in the kit for {target.name}, Python {version}: {gaps}")
    export_requirements(groups, out / "requirements.txt")
    uv = uv_version()
    for key in keys:
        print(f"uv {uv}: {TARGETS[key].name}", flush=True)
        fetch_uv(pip_command, TARGETS[key], uv, out / "uv", log)
    archive_repository(out / "repo.zip")
    if not args.no_docs:
        print("docs site", flush=True)
        build_docs(out / "docs-site", log)
    log.close()
    write_readmes(out, keys, pythons, uv, not args.no_docs)

    parts = {
        "wheels": size(wheels),
        "uv": size(out / "uv"),
        "repo.zip": (out / "repo.zip").stat().st_size,
        "docs-site": size(out / "docs-site") if not args.no_docs else 0,
    }
    listed = ", ".join(f"{k} {megabytes(v)}" for k, v in parts.items())
    print(f"kit: {out} ({megabytes(size(out))}: {listed})")
    return 0


def write_readmes(out, keys, pythons, uv, docs):
    covered_en = ", ".join(TARGETS[k].name for k in keys)
    versions = ", ".join(pythons)
    posix = {k for k in keys if not k.startswith("windows")}
    sections_en, sections_ko = [], []
    for key in keys:
        target = TARGETS[key]
        if key.startswith("windows"):
            sections_en.append(WINDOWS_EN.format(key=key, name=target.name))
            sections_ko.append(WINDOWS_KO.format(key=key, name=target.name))
        else:
            sections_en.append(POSIX_EN.format(key=key, name=target.name))
            sections_ko.append(POSIX_KO.format(key=key, name=target.name))
    docs_en = "\n`docs-site/index.html` is the docs site: open it in a browser.\n" if docs else ""
    docs_ko = "\n`docs-site/index.html`이 문서 사이트입니다. 브라우저로 여세요.\n" if docs else ""
    (out / "README.md").write_text(
        README_EN.format(covered=covered_en, versions=versions, uv=uv, docs=docs_en)
        + "\n".join(sections_en)
        + (POSIX_NOTE_EN if posix else ""),
        encoding="utf-8",
    )
    (out / "README.ko.md").write_text(
        README_KO.format(covered=covered_en, versions=versions, uv=uv, docs=docs_ko)
        + "\n".join(sections_ko)
        + (POSIX_NOTE_KO if posix else ""),
        encoding="utf-8",
    )


README_EN = """# Offline kit: Django Channels chat tutorial

Install the tutorial on a laptop with no internet. Platforms: {covered}; Python {versions}
(installed on the laptop beforehand: python.org, Homebrew or your distribution). uv {uv}.
{docs}
What is here: `wheels/` (every package, for every platform), `requirements.txt` (uv.lock,
with hashes), `uv/<platform>/` (the uv program), `repo.zip` (the repository).

Unpack `repo.zip` anywhere (it holds the folder `channels-chat-tutorial`), open a terminal in
that folder, and follow your OS below. `KIT` stands for the kit folder's path, such as
`/Volumes/USB/kit` or `E:\\kit`.

"""

README_KO = """# 오프라인 키트: Django Channels 채팅 튜토리얼

인터넷이 없는 노트북에 튜토리얼을 설치합니다. 플랫폼: {covered}. 파이썬 {versions}은
노트북에 미리 설치되어 있어야 합니다(python.org, Homebrew, 배포판 패키지). uv {uv}.
{docs}
들어 있는 것: `wheels/`(모든 플랫폼의 패키지), `requirements.txt`(해시가 붙은 uv.lock),
`uv/<플랫폼>/`(uv 프로그램), `repo.zip`(저장소).

`repo.zip`을 아무 곳에나 풀고(`channels-chat-tutorial` 폴더가 나옵니다) 그 폴더에서 터미널을 연
다음, 운영체제에 맞는 절을 따라 하세요. `KIT`은 키트 폴더의 경로입니다(예: `/Volumes/USB/kit`,
`E:\\kit`).

"""

# The same commands in both languages' instructions.
POSIX_COMMANDS = """```bash
cp KIT/uv/{key}/uv ~/uv && chmod +x ~/uv
~/uv venv --offline --no-python-downloads
~/uv pip install --offline --no-index -f KIT/wheels -r KIT/requirements.txt
~/uv run --offline python part1_echo/manage.py runserver
```
"""

WINDOWS_COMMANDS = """```powershell
KIT\\uv\\{key}\\uv.exe venv --offline --no-python-downloads
KIT\\uv\\{key}\\uv.exe pip install --offline --no-index -f KIT\\wheels -r KIT\\requirements.txt
KIT\\uv\\{key}\\uv.exe run --offline python part1_echo\\manage.py runserver
```
"""

POSIX_EN = "## {name} (`{key}`), bash or zsh\n\n" + POSIX_COMMANDS

POSIX_KO = "## {name} (`{key}`), bash/zsh\n\n" + POSIX_COMMANDS

WINDOWS_NOTE_EN = """
The same three lines work in cmd. In PowerShell, a path with a space needs `&` and quotes:
`& "D:\\my kit\\uv\\{key}\\uv.exe" venv ...`. Every later command in the notes works as written
with that path in place of `uv`; add `--offline` when the room has no internet. Windows Defender
Firewall may ask about Python when a server starts: allow it on private networks only if the
room should reach this laptop.
"""

WINDOWS_NOTE_KO = """
cmd에서도 같은 세 줄이 그대로 됩니다. PowerShell에서 경로에 공백이 있으면 `&`와 따옴표가
필요합니다: `& "D:\\my kit\\uv\\{key}\\uv.exe" venv ...`. 이후 노트의 명령은 `uv` 자리에 이 경로를
쓰면 그대로 됩니다. 인터넷이 없으면 `--offline`을 붙이세요. 서버를 띄울 때 Windows Defender
방화벽이 Python을 허용할지 물으면, 강의실의 다른 노트북이 이 노트북에 접속해야 할 때만 개인
네트워크에서 허용하세요.
"""

WINDOWS_EN = "## {name} (`{key}`), PowerShell or cmd\n\n" + WINDOWS_COMMANDS + WINDOWS_NOTE_EN

WINDOWS_KO = "## {name} (`{key}`), PowerShell/cmd\n\n" + WINDOWS_COMMANDS + WINDOWS_NOTE_KO

POSIX_NOTE_EN = """
On macOS and Linux the copy to `~/uv` gives the program its executable bit back (USB sticks
formatted FAT32 or exFAT drop it). If macOS refuses to open it ("cannot be verified"), run
`xattr -d com.apple.quarantine ~/uv` once. Every later command in the notes works as written
with `~/uv` in place of `uv`; add `--offline` when the room has no internet.
"""

POSIX_NOTE_KO = """
macOS와 리눅스에서 `~/uv`로 복사하는 것은 실행 권한을 되살리기 위해서입니다(FAT32, exFAT로 포맷한
USB는 이 권한을 잃습니다). macOS가 "확인할 수 없는 개발자"라며 열지 않으면
`xattr -d com.apple.quarantine ~/uv`를 한 번 실행하세요. 이후 노트의 명령은 `uv` 자리에 `~/uv`를
쓰면 그대로 됩니다. 인터넷이 없으면 `--offline`을 붙이세요.
"""


if __name__ == "__main__":
    sys.exit(main())
