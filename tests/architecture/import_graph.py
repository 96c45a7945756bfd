"""The backend's module-level import graph, read with `ast` (no imports executed)."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

PACKAGE = "tradepulse_backend"

# Lower layers first; a module may import only its own layer or those before it.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"bus", "clock", "config", "workers", "__init__"}),
    frozenset({"telemetry"}),
    frozenset({"store", "ingest", "forwarding"}),
    frozenset({"performance"}),
    frozenset({"alerting", "health"}),
    frozenset({"dashboard"}),
    frozenset({"runtime"}),
    # coordinator serves the dashboard app in-process, as server.py does.
    frozenset({"app", "server", "server_worker", "demo", "cli", "coordinator"}),
)


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _runtime_imports(tree: ast.Module) -> Iterable[tuple[str, str]]:
    """(package, package.name) of each import executed when the module loads: top level,
    outside `if TYPE_CHECKING:`; for `import a.b` both are the module."""
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for child in ast.walk(node):
            if isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                yield from ((child.module, f"{child.module}.{alias.name}")
                            for alias in child.names)
            elif isinstance(child, ast.Import):
                yield from ((alias.name, alias.name) for alias in child.names)
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                break


def import_graph(root: Path) -> dict[str, set[str]]:
    """module -> backend modules it imports at load time."""
    paths = {module_name(root, p): p for p in root.rglob("*.py") if "migrations" not in p.parts}
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        tree = ast.parse(path.read_text(), str(path))
        graph[module] = {_target(source, name, paths) for source, name in _runtime_imports(tree)
                         } & paths.keys() - {module} - _ancestors(module)
    return graph


def _target(source: str, name: str, modules: Mapping[str, Path]) -> str:
    """`from a import b` depends on module a.b when there is one, else on a."""
    return name if name in modules else source


def _ancestors(module: str) -> set[str]:
    """Packages a module sits in: already initializing whenever the module loads."""
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def layer_of(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    for rank, names in enumerate(LAYERS):
        if top in names:
            return rank
    raise LookupError(f"{module}: its package {top!r} is in no layer of LAYERS")


def upward_imports(graph: Mapping[str, Iterable[str]]) -> list[str]:
    """'a -> b' for every import of a higher layer by a lower one."""
    return [f"{module} -> {target}" for module, targets in sorted(graph.items())
            for target in sorted(targets) if layer_of(target) > layer_of(module)]
