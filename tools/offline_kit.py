"""Build an offline kit for a room with no (or slow) internet: copy the folder to a USB stick.

    uv run python tools/offline_kit.py kit                      # every platform x Python 3.11-3.14
    uv run python tools/offline_kit.py --platforms this --pythons this kit
    uv run python tools/offline_kit.py --platforms windows-x86_64,macos-arm64 kit

The kit holds: wheels/ (every package a learner's `uv sync` installs, for each platform x Python,
checked against the lock's hashes), requirements.txt (the lock exported, with hashes),
uv/<platform>/ (the uv program and its wheel, from PyPI, which puts `uv` on the laptop's PATH),
repo.bundle (the repository with its history, for `git clone`), repo.zip (the same files, for a
laptop without git), docs-site/ (the docs, built to open from disk) and README.md / README.ko.md
saying, for each OS, how to install with no network, and which Python versions the kit is for: it
has no Python.

Needs the internet (PyPI) while building; pip downloads the wheels with --only-binary, one
platform x Python at a time, with the versions and hashes the lock gives that environment. The docs
site needs the docs group (`uv sync --group docs`), or --no-docs.
"""

import argparse
import importlib.util
import io
import os
import platform
import shutil
import subprocess
import sys
import tarfile
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
        shutil.copy(wheels[0], out / wheels[0].name)  # what `uv tool install` installs from
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


def bundle_repository(dest, log):
    """repo.bundle: HEAD as branch `main`, with its history (a shallow checkout, as CI's: HEAD's
    files as one commit), so `git clone` gives the guide's reset commands a repository."""

    def git(*args, cwd):
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
        log.write(done.stdout + done.stderr)
        if done.returncode != 0:
            raise SystemExit(f"git {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "repo.git"
        git("init", "--quiet", "--bare", str(bare), cwd=tmp)
        source = ROOT
        if git("rev-parse", "--is-shallow-repository", cwd=ROOT).strip() == "true":
            source = Path(tmp) / "snapshot"
            files = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True)
            with tarfile.open(fileobj=io.BytesIO(files.stdout)) as archive:
                safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                archive.extractall(source, **safe)
            git("init", "--quiet", cwd=source)
            git("add", "--all", cwd=source)
            who = ["-c", "user.name=offline kit", "-c", "user.email=offline-kit@localhost"]
            git(
                *who,
                "commit",
                "--quiet",
                "-m",
                "The tutorial, as the offline kit holds it",
                cwd=source,
            )
        git("fetch", "--quiet", str(source), "HEAD:refs/heads/main", cwd=bare)
        git("symbolic-ref", "HEAD", "refs/heads/main", cwd=bare)
        git("bundle", "create", str(dest), "HEAD", "main", cwd=bare)


def build_docs(dest, log):
    """The docs site, built to open from disk: page links name files (x.html), not folders."""
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--quiet", "--no-directory-urls"]
        + ["--site-dir", str(dest)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
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
    if not args.no_docs and importlib.util.find_spec("mkdocs") is None:
        parser.error(
            "the docs site needs the docs group: `uv sync --group docs` "
            "(or leave it out: --no-docs)"
        )
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
    bundle_repository(out / "repo.bundle", log)
    if not args.no_docs:
        print("docs site", flush=True)
        build_docs(out / "docs-site", log)
    log.close()
    write_readmes(out, keys, pythons, uv, not args.no_docs)

    parts = {
        "wheels": size(wheels),
        "uv": size(out / "uv"),
        "repo.zip": (out / "repo.zip").stat().st_size,
        "repo.bundle": (out / "repo.bundle").stat().st_size,
        "docs-site": size(out / "docs-site") if not args.no_docs else 0,
    }
    listed = ", ".join(f"{k} {megabytes(v)}" for k, v in parts.items())
    print(f"kit: {out} ({megabytes(size(out))}: {listed})")
    return 0


def python_spec(pythons):
    """The `uv venv --python` request for exactly these minor versions: "3.12", ">=3.11,<3.15"."""
    minors = sorted(PYTHONS[v] for v in pythons)
    if len(minors) == 1:
        return f"{minors[0][0]}.{minors[0][1]}"
    (major, low), high = minors[0], minors[-1][1]
    spec = f">={major}.{low},<{major}.{high + 1}"
    gaps = [m for m in range(low, high) if (major, m) not in minors]
    return spec + "".join(f",!={major}.{m}.*" for m in gaps)


def write_readmes(out, keys, pythons, uv, docs):
    covered = ", ".join(TARGETS[k].name for k in keys)
    versions = ", ".join(pythons)
    spec = python_spec(pythons)
    posix = {k for k in keys if not k.startswith("windows")}
    sections_en, sections_ko = [], []
    for key in keys:
        fields = {"key": key, "name": TARGETS[key].name, "spec": spec}
        if key.startswith("windows"):
            sections_en.append(WINDOWS_EN.format(**fields))
            sections_ko.append(WINDOWS_KO.format(**fields))
        else:
            sections_en.append(POSIX_EN.format(**fields))
            sections_ko.append(POSIX_KO.format(**fields))
    fields = {"covered": covered, "versions": versions, "uv": uv}
    if len(pythons) == 1:
        fields |= {"need": f"Python {versions}", "need_ko": f"이 키트의 Python 버전({versions})을"}
    else:
        fields |= {
            "need": f"one of Python {versions}",
            "need_ko": f"이 키트의 Python 버전({versions}) 가운데 하나를",
        }
    (out / "README.md").write_text(
        README_EN.format(**fields, docs=DOCS_EN if docs else "")
        + "\n".join(sections_en)
        + (POSIX_NOTE_EN if posix else ""),
        encoding="utf-8",
    )
    (out / "README.ko.md").write_text(
        README_KO.format(**fields, docs=DOCS_KO if docs else "")
        + "\n".join(sections_ko)
        + (POSIX_NOTE_KO if posix else ""),
        encoding="utf-8",
    )


README_EN = """# Offline kit: Django Channels chat tutorial

**For Python {versions} only**, on {covered}. uv {uv}.

This kit has no Python. Each laptop needs {need} installed before the day: from
python.org (for Windows and macOS, copy its installer onto the stick while you are online),
Homebrew, or the distribution's packages. A laptop with only another Python (3.14 when the kit is
for 3.12, say) cannot install from this kit: `uv venv` below stops with `No interpreter found`.
Install one of the kit's versions beside the one it has.

What is here:

- `wheels/`: every package a learner's `uv sync` installs, for each platform and Python
- `requirements.txt`: `uv.lock`, with hashes
- `uv/<platform>/`: the uv program and its wheel
- `repo.bundle`: the repository with its history, for `git clone`
- `repo.zip`: the same files, for a laptop without git
{docs}
`KIT` below stands for the kit folder's path, such as `/Volumes/USB/kit` or `E:\\kit`.

## 1. The repository

With git, clone the bundle and go into the folder it makes:

```bash
git clone KIT/repo.bundle channels-chat-tutorial
cd channels-chat-tutorial
```

Without git, unpack `repo.zip` (it holds the folder `channels-chat-tutorial`) and open a terminal in
that folder. The instructor guide's reset commands (`git checkout -- part2_groups`) need the clone.

## 2. uv and the packages

"""

README_KO = """# 오프라인 키트: Django Channels 채팅 튜토리얼

**Python {versions} 전용**입니다. 플랫폼: {covered}. uv {uv}.

이 키트에는 Python이 들어 있지 않습니다. 노트북마다 {need_ko} 미리 설치해 두어야 합니다.
python.org(Windows와 macOS는 인터넷이 될 때 설치 프로그램을 USB에 함께 복사해 두세요),
Homebrew, 배포판 패키지 가운데 하나로 설치합니다.
다른 버전의 Python만 있는 노트북(예: 키트는 3.12용인데 3.14만 있는 노트북)은 이 키트로
설치할 수 없습니다. 아래의 `uv venv`가 `No interpreter found`로 멈춥니다. 키트의 버전
가운데 하나를 함께 설치하세요.

들어 있는 것:

- `wheels/`: 학습자의 `uv sync`가 설치하는 모든 패키지(플랫폼과 Python 버전별)
- `requirements.txt`: 해시가 붙은 `uv.lock`
- `uv/<플랫폼>/`: uv 프로그램과 그 휠
- `repo.bundle`: `git clone`용 저장소(커밋 이력 포함)
- `repo.zip`: git이 없는 노트북용, 같은 파일
{docs}
아래의 `KIT`은 키트 폴더의 경로입니다(예: `/Volumes/USB/kit`, `E:\\kit`).

## 1. 저장소

git이 있으면 번들을 클론하고, 만들어진 폴더로 들어갑니다.

```bash
git clone KIT/repo.bundle channels-chat-tutorial
cd channels-chat-tutorial
```

git이 없으면 `repo.zip`을 풀고(`channels-chat-tutorial` 폴더가 나옵니다) 그 폴더에서 터미널을
여세요. 강사 가이드의 초기화 명령(`git checkout -- part2_groups`)은 클론한 저장소에서만 됩니다.

## 2. uv와 패키지

"""

DOCS_EN = """- `docs-site/`: the docs; open `docs-site/index.html` in a browser (every page works
  from disk, search only when a web server serves the folder)
"""

DOCS_KO = """- `docs-site/`: 문서. 브라우저로 `docs-site/index.html`을 여세요(모든 페이지가
  파일로 열리며, 검색만은 웹 서버로 폴더를 띄웠을 때 됩니다)
"""

# The same commands in both languages' instructions.
POSIX_UV = """```bash
cp KIT/uv/{key}/uv ~/uv-kit && chmod +x ~/uv-kit
~/uv-kit tool install --offline --no-index --no-python-downloads -f KIT/uv/{key} uv
~/uv-kit tool update-shell
```
"""

POSIX_PACKAGES = """```bash
uv venv --offline --no-python-downloads --python "{spec}"
uv pip install --offline --no-index -f KIT/wheels -r KIT/requirements.txt
uv run python part1_echo/manage.py migrate
uv run python part1_echo/manage.py runserver
```
"""

WINDOWS_UV = """```powershell
KIT\\uv\\{key}\\uv.exe tool install --offline --no-index --no-python-downloads -f KIT\\uv\\{key} uv
KIT\\uv\\{key}\\uv.exe tool update-shell
```
"""

WINDOWS_PACKAGES = """```powershell
uv venv --offline --no-python-downloads --python "{spec}"
uv pip install --offline --no-index -f KIT\\wheels -r KIT\\requirements.txt
uv run python part1_echo/manage.py migrate
uv run python part1_echo/manage.py runserver
```
"""

NEW_TERMINAL_EN = """
Open a new terminal in `channels-chat-tutorial`: `uv` is on its PATH now, so every command of the
notes works as written there, with no network.

"""

NEW_TERMINAL_KO = """
`channels-chat-tutorial`에서 새 터미널을 여세요. 이제 `uv`가 PATH에 있으므로
노트의 명령이 네트워크 없이도 적힌 그대로 됩니다.

"""

POSIX_EN = "### {name} (`{key}`), bash or zsh\n\n" + POSIX_UV + NEW_TERMINAL_EN + POSIX_PACKAGES

POSIX_KO = "### {name} (`{key}`), bash/zsh\n\n" + POSIX_UV + NEW_TERMINAL_KO + POSIX_PACKAGES

WINDOWS_NOTE_EN = """
The same lines work in cmd. In PowerShell, a kit path with a space needs `&` and quotes:
`& "D:\\my kit\\uv\\{key}\\uv.exe" tool install ...`. Windows Defender Firewall may ask about
Python when a server starts: allow it on private networks only if the room should reach this laptop.
"""

WINDOWS_NOTE_KO = """
cmd에서도 같은 줄이 그대로 됩니다. PowerShell에서 키트 경로에 공백이 있으면 `&`와
따옴표가 필요합니다: `& "D:\\my kit\\uv\\{key}\\uv.exe" tool install ...`. 서버를 띄울 때
Windows Defender 방화벽이 Python을 허용할지 물으면, 강의실의 다른 노트북이 이 노트북에
접속해야 할 때만 개인 네트워크에서 허용하세요.
"""

WINDOWS_EN = (
    "### {name} (`{key}`), PowerShell or cmd\n\n"
    + WINDOWS_UV
    + NEW_TERMINAL_EN
    + WINDOWS_PACKAGES
    + WINDOWS_NOTE_EN
)

WINDOWS_KO = (
    "### {name} (`{key}`), PowerShell/cmd\n\n"
    + WINDOWS_UV
    + NEW_TERMINAL_KO
    + WINDOWS_PACKAGES
    + WINDOWS_NOTE_KO
)

POSIX_NOTE_EN = """
On macOS and Linux the copy to `~/uv-kit` gives the program its executable bit back (USB sticks
formatted FAT32 or exFAT drop it); delete `~/uv-kit` once `uv` works. If macOS refuses to open it
("cannot be verified"), run `xattr -d com.apple.quarantine ~/uv-kit` once. `uv tool update-shell`
puts `~/.local/bin`, where `uv` now is, on the PATH of your shell's startup file.
"""

POSIX_NOTE_KO = """
macOS와 리눅스에서 `~/uv-kit`으로 복사하는 것은 실행 권한을 되살리기 위해서입니다(FAT32,
exFAT로 포맷한 USB는 이 권한을 잃습니다). `uv`가 동작하면 `~/uv-kit`은 지워도 됩니다.
macOS가 "확인할 수 없는 개발자"라며 열지 않으면 `xattr -d com.apple.quarantine ~/uv-kit`을
한 번 실행하세요. `uv tool update-shell`은 `uv`가 설치된 `~/.local/bin`을 셸 시작 파일의
PATH에 넣습니다.
"""


if __name__ == "__main__":
    sys.exit(main())
