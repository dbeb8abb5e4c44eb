"""What pyproject.toml and uv.lock say, read one way by every tool: package names normalised,
the dependency groups `uv sync` installs, and the versions uv.lock pins.

Standard library only, and importable on an old Python (tomllib is imported where it is used):
tools/doctor.py reads the lock before `uv sync`. What `uv sync` installs on a given platform
(markers evaluated) is lock_coverage.Lock's business.
"""

import re

from stages import ROOT

PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "uv.lock"


def normalize(name):
    """A package name as an index compares it (PEP 503): "Channels_Redis" -> "channels-redis"."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_toml(path):
    import tomllib

    with open(path, "rb") as f:
        return tomllib.load(f)


def default_groups(pyproject=PYPROJECT):
    """The dependency groups a plain `uv sync` installs ([tool.uv] default-groups; uv's own
    default is ["dev"])."""
    return read_toml(pyproject).get("tool", {}).get("uv", {}).get("default-groups", ["dev"])


def lock_packages(lock_text):
    """[(normalised name, version)] of every package a uv.lock pins (the project itself left
    out); a name can come twice when the lock pins another version on some platforms."""
    import tomllib

    return [
        (normalize(p["name"]), p["version"])
        for p in tomllib.loads(lock_text).get("package", [])
        if "virtual" not in p.get("source", {})
    ]


def versions_by_name(lock_text):
    """{normalised name: {every version the lock pins}}."""
    found = {}
    for name, version in lock_packages(lock_text):
        found.setdefault(name, set()).add(version)
    return found


def opt_in_packages():
    """The packages pyproject names in the docs, dev and bench groups (not through `test`)."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
    names = [
        item
        for group in ("docs", "dev", "bench")
        for item in groups[group]
        if isinstance(item, str)
    ]
    return {canonicalize_name(Requirement(name).name) for name in names}
