"""The package's import graph: no module imports another that (directly or not) imports it back, counting imports
inside functions too, and the bottom layer imports nothing of embedlab above it. Read from the source with `ast`,
so it needs no imports and anyone can run it: `pytest tests/test_layering.py`."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "embedlab"
BOTTOM = {"errors", "jsonio", "rundir", "memo", "config", "download"}  # what every stage may use


def imports_of(path: Path) -> set[str]:
    """The embedlab modules a file imports, anywhere in it (module level or inside functions)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] == "embedlab":
                if len(parts) > 1:
                    found.add(parts[1])
                else:  # from embedlab import x: x may be a module
                    found.update(a.name for a in node.names if (PACKAGE / f"{a.name}.py").exists())
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "embedlab" and len(parts) > 1:
                    found.add(parts[1])
    return found - {path.stem}


def graph() -> dict[str, set[str]]:
    return {p.stem: imports_of(p) for p in sorted(PACKAGE.glob("*.py")) if p.stem != "__init__"}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(edges.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_planted_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_the_package():
    edges = graph()
    assert {"run", "sweep", "results", "report", "tracking"} <= set(edges)  # the graph was read
    assert cycles(edges) == []


def test_the_bottom_layer_imports_only_the_bottom_layer():
    edges = graph()
    above = {module: sorted(edges[module] - BOTTOM) for module in BOTTOM}
    assert above == {module: [] for module in BOTTOM}
