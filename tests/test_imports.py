"""Arrows one way in python/tfjs_infer: the module import graph, read from the
source with ``ast``, has no cycle. Every import counts, wherever it stands
(module level, inside a function, under ``if TYPE_CHECKING``): a lazy import
that only dodges a cycle is still a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "python" / "tfjs_infer"


def _module_name(path: Path, root: Path) -> tuple[str, bool]:
    """The dotted name of a source file under the package folder `root`, and
    whether it is a package's __init__."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _modules(root: Path) -> dict[str, tuple[Path, bool]]:
    """Every module of the package (.py, and the compiled core's .pyi stub)."""
    out: dict[str, tuple[Path, bool]] = {}
    for path in sorted(root.rglob("*.py")) + sorted(root.rglob("*.pyi")):
        name, is_package = _module_name(path, root)
        out.setdefault(name, (path, is_package))
    return out


def _targets(node: ast.AST, package: str, modules: dict[str, tuple[Path, bool]]) -> list[str]:
    """The package's modules an import statement loads (outside ones are dropped).

    ``from X import a`` names the submodule X.a when there is one, else X
    itself; the parent packages Python also runs on the way are not edges
    (a package's __init__ importing its own submodules is no cycle).
    """
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in modules]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    subs = [f"{source}.{a.name}" for a in node.names]
    found = [s for s in subs if s in modules]
    if len(found) < len(subs) and source in modules:
        found.append(source)
    return found


def import_graph(root: Path = PACKAGE) -> dict[str, dict[str, int]]:
    """Module -> {imported module: line of the first such import}."""
    modules = _modules(root)
    graph: dict[str, dict[str, int]] = {name: {} for name in modules}
    for name, (path, is_package) in modules.items():
        package = name if is_package else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for target in _targets(node, package, modules):
                if target != name:
                    graph[name].setdefault(target, getattr(node, "lineno", 0))
    return graph


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def test_the_package_has_no_import_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 50, "the package's modules were not found"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(
        f"{a} (line {graph[a][b]})" for a, b in zip(cycle, cycle[1:])
    )


@pytest.mark.parametrize(
    ("files", "cyclic"),
    [
        # a -> b -> a, the second import inside a function: a cycle all the same
        ({"a.py": "from . import b\n", "b.py": "def f():\n    from .a import x\n"}, True),
        # under TYPE_CHECKING too
        ({"a.py": "from .b import y\n", "b.py": "if TYPE_CHECKING:\n    from . import a\n"}, True),
        # a submodule imported through its package's name: an edge to the submodule
        (
            {"a.py": "from .sub import c\n", "sub/__init__.py": "", "sub/c.py": "import pkg.a\n"},
            True,
        ),
        # the package's __init__ importing its submodules, which import each other one way
        ({"__init__.py": "from . import a, b\n", "a.py": "from .b import y\n", "b.py": ""}, False),
        ({"a.py": "from .b import y\nfrom .c import z\n", "b.py": "from .c import z\n"}, False),
    ],
)
def test_the_cycle_finder(tmp_path: Path, files: dict[str, str], cyclic: bool) -> None:
    """The checker above finds the cycles it must (and only those)."""
    root = tmp_path / "pkg"
    for name, text in {"__init__.py": "", "c.py": "", **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    graph = import_graph(root)
    assert (find_cycle(graph) is not None) == cyclic, graph
