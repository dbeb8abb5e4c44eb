"""Stage markers, so one stage's tests run alone: `uv run pytest -m part2_groups`.

A test belongs to the stages named by, in this order: its explicit markers
(`@pytest.mark.part3_async`), its `stage` parameter, its module's `STAGE` constant, or the stage
numbers in its module's or function's name (`test_part4_suite.py`). Any other test is marked
`repo` (the repository's own tools, docs and lint). CI runs one job per stage with these markers.

A test that needs Redis is also marked `redis`: by an explicit marker, by using the `redis_url`
fixture, or by a `layer` parameter of "redis". `-m "not redis"` runs the rest, on the in-memory
layer only (CI's Windows and macOS jobs, which have no redis-server).
"""

import re

import pytest
from stages import STAGES

REPO = "repo"
REDIS = "redis"
_BY_NUMBER = {re.match(r"part(\d+)_", stage).group(1): stage for stage in STAGES}
_NUMBER_IN_NAME = re.compile(r"(?:^|_)part(\d+)(?=_|$)")


def pytest_configure(config):
    for stage in STAGES:
        config.addinivalue_line("markers", f"{stage}: a test of {stage} (run with -m {stage})")
    config.addinivalue_line("markers", f"{REPO}: a test of no stage: the repo's tools, docs, lint")
    config.addinivalue_line(
        "markers", f'{REDIS}: needs Redis; -m "not redis" runs the in-memory layer only'
    )


def stages_of(item):
    """The stages a collected test belongs to, in STAGES order; [] for none."""
    explicit = [stage for stage in STAGES if item.get_closest_marker(stage)]
    if explicit:
        return explicit
    callspec = getattr(item, "callspec", None)
    param = callspec.params.get("stage") if callspec else None
    if param in STAGES:
        return [param]
    constant = getattr(getattr(item, "module", None), "STAGE", None)
    if constant in STAGES:
        return [constant]
    names = (item.path.stem, getattr(item, "originalname", item.name))
    numbers = {number for name in names for number in _NUMBER_IN_NAME.findall(name)}
    return [stage for number, stage in _BY_NUMBER.items() if number in numbers]


def needs_redis(item):
    """Marked `redis`, uses the redis_url fixture, or runs with layer="redis"."""
    callspec = getattr(item, "callspec", None)
    return (
        item.get_closest_marker(REDIS) is not None
        or "redis_url" in getattr(item, "fixturenames", ())
        or (callspec is not None and callspec.params.get("layer") == "redis")
    )


# First, so the markers exist before pytest's own hook deselects by `-m`.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    for item in items:
        for name in stages_of(item) or [REPO]:
            item.add_marker(name)
        if needs_redis(item) and item.get_closest_marker(REDIS) is None:
            item.add_marker(REDIS)
