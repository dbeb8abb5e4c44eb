"""`uv run pytest -m STAGE` picks each test by its stage (what CI's per-stage jobs run)."""

import os
import subprocess
import sys
import textwrap

from stages import ROOT

TESTS = {
    "conftest.py": 'pytest_plugins = ["stage_markers"]\n',
    "test_by_param.py": """
        import pytest

        @pytest.mark.parametrize("stage", ["part1_echo", "part3_async"])
        def test_page(stage):
            pass
    """,
    "test_by_marker.py": """
        import pytest

        @pytest.mark.part2_groups
        @pytest.mark.part4_tests
        def test_marked():
            pass

        def test_plain():
            pass
    """,
    "test_by_constant.py": 'STAGE = "part3_async"\n\ndef test_constant():\n    pass\n',
    "test_part4_things.py": "def test_in_module():\n    pass\n",
    "test_names.py": """
        def test_part2_by_name():
            pass

        def test_partial_is_no_stage():
            pass
    """,
}


def selected(tmp_path, marker, tests=TESTS):
    for name, text in tests.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = --strict-markers\n")
    paths = os.pathsep.join([str(ROOT / "tools"), str(ROOT / "tools" / "tests")])
    # No third-party plugins (django, xdist...): a plain pytest starts in a fraction of a second.
    env = {**os.environ, "PYTHONPATH": paths, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-m", marker]
        + ["--collect-only", "-q"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode in (0, 5), result.stdout + result.stderr
    return sorted(line for line in result.stdout.splitlines() if "::" in line)


def test_each_stage_marker_selects_its_tests(tmp_path):
    assert selected(tmp_path, "part1_echo") == ["test_by_param.py::test_page[part1_echo]"]
    assert selected(tmp_path, "part2_groups") == [
        "test_by_marker.py::test_marked",
        "test_names.py::test_part2_by_name",
    ]
    assert selected(tmp_path, "part3_async") == [
        "test_by_constant.py::test_constant",
        "test_by_param.py::test_page[part3_async]",
    ]
    assert selected(tmp_path, "part4_tests") == [
        "test_by_marker.py::test_marked",
        "test_part4_things.py::test_in_module",
    ]


def test_tests_of_no_stage_are_marked_repo(tmp_path):
    assert selected(tmp_path, "repo") == [
        "test_by_marker.py::test_plain",
        "test_names.py::test_partial_is_no_stage",
    ]


REDIS_TESTS = {
    "conftest.py": """
        import pytest

        pytest_plugins = ["stage_markers"]

        @pytest.fixture(scope="session")
        def redis_url():
            return "redis://127.0.0.1:6379/0"

        @pytest.fixture
        def layer_server(redis_url):
            return redis_url
    """,
    "test_layers.py": """
        import pytest

        @pytest.mark.parametrize("layer", ["memory", "redis"])
        def test_by_layer(layer):
            pass

        def test_by_fixture(redis_url):
            pass

        def test_through_another_fixture(layer_server):
            pass

        @pytest.mark.redis
        def test_marked():
            pass

        def test_memory_only():
            pass
    """,
}


def test_not_redis_keeps_only_the_in_memory_tests(tmp_path):
    """-m "not redis" (CI's Windows and macOS jobs) leaves out every test that needs Redis."""
    assert selected(tmp_path, "not redis", REDIS_TESTS) == [
        "test_layers.py::test_by_layer[memory]",
        "test_layers.py::test_memory_only",
    ]
    assert selected(tmp_path, "redis", REDIS_TESTS) == [
        "test_layers.py::test_by_fixture",
        "test_layers.py::test_by_layer[redis]",
        "test_layers.py::test_marked",
        "test_layers.py::test_through_another_fixture",
    ]
