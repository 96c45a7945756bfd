"""The backend's packages depend one way, down ARCHITECTURE.md's list, with no cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import tradepulse_backend
from tests.architecture.import_graph import find_cycle, import_graph, upward_imports

ROOT = Path(tradepulse_backend.__file__).parent


def test_the_backend_has_no_import_cycle():
    assert find_cycle(import_graph(ROOT)) is None


def test_no_package_imports_a_layer_above_it():
    assert upward_imports(import_graph(ROOT)) == []


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    """A throwaway `tradepulse_backend` tree: every folder gets an empty `__init__.py` unless
    `files` gives it one."""
    package = tmp_path / "tradepulse_backend"
    for name, text in files.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    for folder in (package, *(p for p in package.rglob("*") if p.is_dir())):
        if not (folder / "__init__.py").exists():
            (folder / "__init__.py").write_text("")
    return package


def test_a_cycle_is_found_when_two_modules_import_each_other(tmp_path):
    package = _package(tmp_path, {
        "store/__init__.py": "from tradepulse_backend.store import a\n",
        "store/a.py": "from tradepulse_backend.store import b\n",
        "store/b.py": "import os\n\ndef later():\n    import sys\n\n"
                      "from tradepulse_backend.store.a import x\n"})
    cycle = find_cycle(import_graph(package))
    assert cycle is not None and cycle[0] == cycle[-1]
    assert {"tradepulse_backend.store.a", "tradepulse_backend.store.b"} <= set(cycle)


def test_an_import_of_a_higher_layer_is_reported(tmp_path):
    package = _package(tmp_path, {"store/q.py": "from tradepulse_backend.performance import m\n",
                                  "performance/m.py": ""})
    assert upward_imports(import_graph(package)) == [
        "tradepulse_backend.store.q -> tradepulse_backend.performance.m"]


def test_a_type_checking_import_is_not_a_dependency(tmp_path):
    package = _package(tmp_path, {
        "store/q.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                      "    from tradepulse_backend.performance import m\n",
        "performance/m.py": ""})
    assert upward_imports(import_graph(package)) == []


DATABASE_PACKAGES = ("sqlalchemy", "alembic", "psycopg")


def _database_uses(path: Path) -> list[str]:
    """Imports of a database library, and reads of a `store.engine`, anywhere in a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = ([node.module or ""] if isinstance(node, ast.ImportFrom) else
                 [alias.name for alias in node.names] if isinstance(node, ast.Import) else [])
        found += [f"imports {n}" for n in names if n.split(".")[0] in DATABASE_PACKAGES]
        if (isinstance(node, ast.Attribute) and node.attr == "engine"
                and "store" in ast.unparse(node.value)):
            found.append(f"reads {ast.unparse(node)}")
    return found


def test_only_the_store_package_touches_the_database():
    outside = {str(path.relative_to(ROOT)): uses for path in sorted(ROOT.rglob("*.py"))
               if "store" not in path.relative_to(ROOT).parts[:1]
               and (uses := _database_uses(path))}
    assert outside == {}
