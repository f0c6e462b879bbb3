"""The package's layering, read from the source with ast: which slofpy modules import which
(at run time: imports under ``if TYPE_CHECKING:`` are left out), no import cycles (the
engine included), and each lower layer importing nothing above it."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "slofpy"


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _runtime_nodes(tree: ast.AST):
    """Every node of `tree` except what lies under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def import_graph() -> dict[str, set[str]]:
    """module -> the slofpy modules it imports at run time (module level or in functions)."""
    mods = _modules()

    def known(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, (path, is_package) in mods.items():
        package = mod if is_package else mod.rpartition(".")[0]
        for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[:len(package.split(".")) - node.level + 1]
                    origin = ".".join(base + ([node.module] if node.module else []))
                else:
                    origin = node.module or ""
                names = [f"{origin}.{a.name}" for a in node.names]
                # `from P import m` imports module P.m; `from P import name` takes a name of P
                targets = [n if n in mods else known(origin) for n in names]
            elif isinstance(node, ast.Import):
                targets = [known(a.name) for a in node.names]
            else:
                continue
            graph[mod].update(t for t in targets if t and t != mod and t.startswith("slofpy"))
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


#: what each lower layer may import (besides itself)
ALLOWED_BELOW = {
    "vm": {"errors", "codecache"},
    "abi": set(),
    "fdt": set(),
    "host": {"abi", "fdt", "outfile", "errors"},
    "hv": {"abi", "host"},
}


def test_no_import_cycles_anywhere_the_engine_included():
    assert cycles(import_graph()) == []


def test_lower_layers_import_nothing_above_them():
    wrong = []
    for mod, targets in import_graph().items():
        allowed = ALLOWED_BELOW.get(_layer(mod))
        if allowed is None:
            continue
        wrong += [(mod, t) for t in sorted(targets)
                  if _layer(t) != _layer(mod) and _layer(t) not in allowed]
    assert wrong == []


def test_the_graph_sees_lazy_imports():
    # a function-level import counts: the firmware view imports the tree view inside a method
    assert "slofpy.firmware.tree_view" in import_graph()["slofpy.firmware.openfirmware"]


def test_the_emitters_parts_build_on_its_base_only():
    """codegen/emitter/: each part imports the base (lowering: the two lowering parts too),
    and only the package (the Emitter class) puts them together."""
    package = "slofpy.vm.codegen.emitter"
    graph = import_graph()
    parts = {mod for mod in graph if mod.startswith(package + ".")}
    assert parts, "the emitter's parts were not found"
    allowed = {f"{package}.base"}
    allowed_lowering = allowed | {f"{package}.values", f"{package}.memory"}
    for part in sorted(parts):
        inside = {t for t in graph[part] if t == package or t.startswith(package + ".")}
        assert inside <= (allowed_lowering if part.endswith(".lowering") else allowed) - {part}, part
