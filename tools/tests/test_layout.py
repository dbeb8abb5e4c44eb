"""The tooling's layout rules, fast: shared test code lives in conftest.py or tools/, never in
another test module; the stages and the repository root are declared once (tools/stages.py)."""

import ast
import re
import sys

from stages import ROOT

TOOLS = ROOT / "tools"


def imported_modules(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_no_test_module_imports_another():
    tests = sorted((TOOLS / "tests").glob("test_*.py"))
    assert len(tests) > 20
    found = [
        f"{path.name} imports {module}"
        for path in tests
        for module in imported_modules(path)
        if module.split(".")[0].startswith("test_")
    ]
    assert not found, "move what they share to conftest.py or tools/: " + "; ".join(found)


def test_stages_and_root_are_declared_only_in_stages_py():
    declared = re.compile(r"^(ROOT|STAGES)\s*=", re.M)
    found = [
        path.relative_to(ROOT).as_posix()
        for path in sorted(TOOLS.rglob("*.py"))
        if declared.search(path.read_text(encoding="utf-8"))
    ]
    assert found == ["tools/stages.py"], found


# tools/doctor.py runs before `uv sync`, on whatever Python a laptop has, to say what is missing.
BEFORE_SYNC = ["doctor", "bilingual", "install_hints", "lockfile", "stages"]


def test_what_the_doctor_imports_first_is_standard_library_and_old_python():
    for name in BEFORE_SYNC:
        source = (TOOLS / f"{name}.py").read_text(encoding="utf-8")
        ast.parse(source, feature_version=(3, 6))  # raises on newer syntax
        top_level = [
            node for node in ast.parse(source).body if isinstance(node, ast.Import | ast.ImportFrom)
        ]
        modules = {
            (alias.name if isinstance(node, ast.Import) else node.module).split(".")[0]
            for node in top_level
            for alias in node.names
        }
        outside = modules - set(sys.stdlib_module_names) - set(BEFORE_SYNC)
        assert not outside, f"tools/{name}.py imports {outside} before `uv sync`"
