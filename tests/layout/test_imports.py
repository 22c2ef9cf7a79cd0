"""The host's layout as import rules (docs/architecture.md "Layers"), checked on the source.

Every ``import`` and ``from ... import`` of a host module counts, also those inside functions (a
lazy import is still a dependency, and a cycle through one breaks as soon as someone moves it to
the top of a file).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOST = ROOT / "host"

# package -> host packages it may import (besides itself)
LAYERS = {
    "host.core": set(),
    "host.pinserver": {"host.core"},  # the PIN oracle (issue 8): a service and its client
    "host.bridge": {"host.core", "host.pinserver"},
    "host.chain": {"host.core"},
    "host.devtools": {"host.core", "host.pinserver", "host.bridge", "host.chain"},
    "host.cli": {"host.core", "host.pinserver", "host.bridge", "host.chain", "host.devtools"},
}
# Inside the node: what the application's modules and the engines may never reach up to.
ABOVE_MODULES_AND_ENGINES = ("host.chain.app", "host.chain.node", "host.chain.api")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def host_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(HOST.rglob("*.py"))}


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """The host modules ``path`` imports (``from pkg import mod`` counts as importing pkg.mod)."""
    return imports_in(path.read_text(), name, path.name == "__init__.py", known)


def imports_in(source: str, name: str, is_package: bool, known: set[str]) -> set[str]:
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = host_modules()
    known = set(modules)
    return {name: imports_of(path, name, known) for name, path in modules.items()}


def _package(name: str) -> str | None:
    return next((p for p in LAYERS if name == p or name.startswith(p + ".")), None)


def test_every_host_module_is_in_a_layer():
    loose = [m for m in host_modules() if m != "host" and _package(m) is None]
    assert loose == [], f"host modules outside the layers: {loose}"


def test_layers_import_only_below_them():
    wrong = []
    for name, targets in import_graph().items():
        package = _package(name)
        if package is None:
            continue
        for target in targets:
            other = _package(target)
            if other is not None and other != package and other not in LAYERS[package]:
                wrong.append(f"{name} -> {target}")
    assert wrong == []


@pytest.mark.parametrize("below", ["host.chain.x", "host.chain.engine"])
def test_modules_and_engines_never_import_the_app_or_the_node(below):
    upward = [
        f"{name} -> {target}"
        for name, targets in import_graph().items()
        if name == below or name.startswith(below + ".")
        for target in targets
        if any(target == a or target.startswith(a + ".") for a in ABOVE_MODULES_AND_ENGINES)
    ]
    assert upward == []


def test_no_import_cycles():
    graph = import_graph()
    cycles = [sorted(c) for c in strongly_connected(graph) if len(c) > 1]
    assert cycles == []


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (the graph is a few hundred modules)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(component)
    return result


def test_the_checker_sees_cycles_and_lazy_upward_imports():
    """The rules above must be able to fail: the flaws issue 13 found, written back in."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert [sorted(c) for c in strongly_connected(graph) if len(c) > 1] == [["a", "b", "c"]]
    known = set(host_modules())
    lazy = "def _execute():\n    from host.chain.app import Application\n"
    assert imports_in(lazy, "host.chain.x.qcp.module", False, known) == {"host.chain.app"}
    relative = "from ..engine import solo\nfrom . import keeper\n"
    found = imports_in(relative, "host.chain.x.qcp.module", False, known)
    assert "host.chain.engine.solo" not in found  # .. from x/qcp is host.chain.x
    assert imports_in("from ...app import Application\n", "host.chain.x.qcp.module", False,
                      known) == {"host.chain.app"}
