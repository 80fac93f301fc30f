"""The shape of the package: no import circles, no module taking another's private names, no module
over 600 lines, package __init__ files that import nothing. Built from the source with `ast`."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "kafkalab"
MAX_LINES = 600


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _runtime_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth (lazy ones too), but those under `if TYPE_CHECKING:`."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _edges(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the kafkalab modules it imports (a name imported from a package that is a module
    of its own counts as that module)."""
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in _runtime_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name in modules}
            elif node.module and node.level == 0 and node.module in modules:
                subs = {f"{node.module}.{a.name}" for a in node.names} & set(modules)
                targets |= subs or {node.module}
                if len(subs) < len(node.names):
                    targets.add(node.module)
        edges[name] = targets - {name, "kafkalab"}  # kafkalab/__init__ loads lazily, by name
    return edges


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := walk(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (found := walk(start)):
            return found
    return None


def test_the_import_graph_has_no_circle() -> None:
    cycle = _cycle(_edges(_modules()))
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_the_circle_finder_finds_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"b"}}) is None


def test_no_module_takes_another_modules_private_names() -> None:
    modules = _modules()
    taken = []
    for name, path in modules.items():
        for node in _runtime_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module in modules and node.module != name:
                taken += [f"{name} takes {node.module}.{a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
    assert taken == []


def test_no_module_is_over_600_lines() -> None:
    long = {name: n for name, path in _modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_subpackages_import_nothing_on_their_own() -> None:
    """Importing kafkalab.lab.state must not import the rest of kafkalab.lab: each package's
    __init__ is its docstring."""
    for path in PACKAGE.glob("*/__init__.py"):
        tree = ast.parse(path.read_text())
        assert all(isinstance(n, ast.Expr) for n in tree.body), path
