"""The package's layout is its data flow: core (bottom) -> data -> vectors -> training -> analysis -> studies, with
the run (`embedlab.run`) and the command (`embedlab.cli`) on top. A stage imports only itself and stages before it,
nothing imports the top, and no import cycle exists, counting imports inside functions too. Read from the source
with `ast`, so it needs no imports and anyone can run it: `pytest tests/core/test_layering.py`."""

from __future__ import annotations

import ast
from pathlib import Path

from helpers import ROOT

PACKAGE = ROOT / "src" / "embedlab"
STAGES = ["core", "data", "vectors", "training", "analysis", "studies"]  # in the order data moves
TOP = {"run", "cli"}  # the composition root: may use every stage


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The embedlab modules a file imports, anywhere in it (module level or inside functions), as 'stage.module'."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] != "embedlab" or len(parts) == 1:
                continue  # `from embedlab import __version__`: the package itself
            base = ".".join(parts[1:])
            submodules = [f"{base}.{a.name}" for a in node.names if (PACKAGE / base / f"{a.name}.py").exists()]
            found.update(submodules or [base])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "embedlab" and len(parts) > 1:
                    found.add(".".join(parts[1:]))
    return found - {module_name(path)}


def graph() -> dict[str, set[str]]:
    files = [p for p in sorted(PACKAGE.rglob("*.py")) if p.parts[len(PACKAGE.parts)] not in ("configs", "experiments")]
    return {module_name(p): imports_of(p) for p in files if module_name(p)}


def stage(module: str) -> str:
    return module.split(".")[0] if module.split(".")[0] in STAGES else "top"


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


def backward(edges: dict[str, set[str]]) -> list[str]:
    """Imports of a later stage, or of the top, from inside a stage."""
    bad = []
    for module, targets in sorted(edges.items()):
        if stage(module) == "top":
            continue
        for target in sorted(targets):
            if stage(target) == "top" or STAGES.index(stage(target)) > STAGES.index(stage(module)):
                bad.append(f"{module} -> {target}")
    return bad


def test_the_checks_find_a_planted_cycle_and_a_backward_import():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    assert backward({"data.text": {"core.errors"}, "core.memo": {"studies.report"}, "vectors.files": {"run"}}) == [
        "core.memo -> studies.report",
        "vectors.files -> run",
    ]


def test_every_module_sits_in_a_stage_or_on_top():
    edges = graph()
    assert {"run", "cli", "core.rundir", "data.text", "studies.sweep"} <= set(edges)  # the graph was read
    assert {m for m in edges if stage(m) == "top"} == TOP
    assert all(target in edges for targets in edges.values() for target in targets), "an import of no module"


def test_each_stage_imports_only_itself_and_earlier_stages():
    assert backward(graph()) == []


def test_no_import_cycle_in_the_package():
    assert cycles(graph()) == []


def test_one_printer_of_the_error_line_and_one_entry_point():
    """`embedlab: error:` is printed by core.errors.print_error only; `embedlab` (cli) is the entry point, with
    `python -m embedlab.run` its documented alias."""
    package = ROOT / "src" / "embedlab"
    printers = [p.relative_to(package) for p in package.rglob("*.py") if "embedlab: error:" in p.read_text()]
    assert [str(p) for p in printers] == ["core/errors.py"]
    mains = sorted(
        str(p.relative_to(package)) for p in package.rglob("*.py") if '__name__ == "__main__"' in p.read_text()
    )
    assert mains == ["cli.py", "run.py"]


def test_the_tests_mirror_the_package_and_import_no_test_module_nor_a_private_name():
    """tests/<stage>/ for each stage of src/embedlab; a test module shares helpers through tests/helpers.py only,
    and reaches the package through its public names (a private one would pin the tests to an implementation)."""
    tests = ROOT / "tests"
    stages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()} - {"configs"}
    assert stages <= {p.name for p in tests.iterdir() if p.is_dir()}, stages
    problems = []
    for path in sorted(tests.rglob("test_*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            where = f"{path.relative_to(tests)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.split(".")[0].startswith("test_") or node.module == "conftest":
                    problems.append(f"{where} imports from {node.module}")
                if node.module.startswith("embedlab"):
                    problems += [f"{where} imports {a.name}" for a in node.names if a.name.startswith("_")]
            elif isinstance(node, ast.Import):
                tests_modules = [a.name for a in node.names if a.name.startswith(("test_", "conftest"))]
                problems += [f"{where} imports {name}" for name in tests_modules]
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                base = node.value
                if isinstance(base, ast.Name) and base.id in _embedlab_modules(tree):
                    problems.append(f"{where} reads {base.id}.{node.attr}")
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "setattr" and len(node.args) >= 2:
                name = node.args[1]
                if isinstance(name, ast.Constant) and str(name.value).startswith("_"):
                    target = node.args[0]
                    if isinstance(target, ast.Name) and target.id in _embedlab_modules(tree):
                        problems.append(f"{where} patches {target.id}.{name.value}")
    assert not problems, problems


def _embedlab_modules(tree: ast.Module) -> set[str]:
    """The names a test module binds to embedlab modules (`import embedlab.x as y`, `from embedlab.x import y`)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.asname or a.name.split(".")[0] for a in node.names if a.name.startswith("embedlab")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("embedlab"):
            names |= {a.asname or a.name for a in node.names if a.name[:1].islower()}
    return names
