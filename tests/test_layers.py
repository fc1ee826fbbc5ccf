"""
The layout is the architecture: each package of netsuite imports only the packages below
it, and no module imports itself back through others.

Why a test: the tree is what a newcomer reads first (docs/architecture.md draws it), and
an upward import is how a layer starts to know about the one above it (the TLS layer
reaching up to the doors' cork, a parser importing the twistd glue). The graph is read
from the source with C{ast}, so nothing is imported to check it; imports under
C{if TYPE_CHECKING:} are annotations only and do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

ROOT = Path(__file__).resolve().parents[1] / "netsuite"

#: Bottom to top. A package may import its own modules, the root C{netsuite} (the
#: version) and any package of a lower layer; never one of its own layer or above.
LAYERS: list[set[str]] = [
    {"_twisted", "base"},
    {"limits"},
    {"tls"},
    {"stream"},
    {"twistd"},
    {"echo", "datagram", "chat"},
    {"web"},
    {"suite"},
    {"client"},
    {"testing"},
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The netsuite modules C{path} imports (a name imported from a package counts as
    the module of that name when there is one)."""
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _type_checking_only(node):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("netsuite"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("netsuite"):
                continue
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in known else node.module)
    return {m for m in found if m in known}


def graph() -> dict[str, set[str]]:
    files = sorted(ROOT.rglob("*.py"))
    known = {module_name(f) for f in files}
    return {module_name(f): imports_of(f, known) for f in files}


def package_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def layer_of(package: str) -> int:
    for i, layer in enumerate(LAYERS):
        if package in layer:
            return i
    raise KeyError(package)


def upward_imports(g: dict[str, set[str]]) -> list[str]:
    """Every import that goes sideways or up the layers, as C{'a -> b'}."""
    wrong = []
    for module, targets in g.items():
        here = package_of(module)
        if here is None:
            continue
        for target in targets:
            there = package_of(target)
            if there is None or there == here:
                continue
            if layer_of(there) >= layer_of(here):
                wrong.append(f"{module} -> {target}")
    return sorted(wrong)


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


class LayerTests(SynchronousTestCase):
    def test_every_package_has_a_layer(self) -> None:
        packages = {package_of(m) for m in graph()} - {None}
        placed = set().union(*LAYERS)
        self.assertEqual(packages - placed, set(), "add new packages to LAYERS")

    def test_imports_go_down_only(self) -> None:
        self.assertEqual(upward_imports(graph()), [])

    def test_no_import_cycle(self) -> None:
        self.assertEqual(cycles(graph()), [])


class CheckerTests(SynchronousTestCase):
    """The checks themselves find what they are for."""

    def test_upward_import_found(self) -> None:
        g = {"netsuite.tls._x": {"netsuite.stream._write"}, "netsuite.stream._write": set()}
        self.assertEqual(upward_imports(g), ["netsuite.tls._x -> netsuite.stream._write"])

    def test_sideways_import_found(self) -> None:
        g = {"netsuite.echo._x": {"netsuite.chat._hub"}, "netsuite.chat._hub": set()}
        self.assertEqual(upward_imports(g), ["netsuite.echo._x -> netsuite.chat._hub"])

    def test_cycle_found(self) -> None:
        g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
        self.assertEqual(cycles(g), [["a", "b", "c"]])

    def test_type_checking_imports_do_not_count(self) -> None:
        path = Path(self.mktemp())
        path.write_text(
            "from typing import TYPE_CHECKING\n"
            "import netsuite.base\n"
            "if TYPE_CHECKING:\n"
            "    from netsuite.web import _site\n"
        )
        known = {"netsuite.base", "netsuite.web", "netsuite.web._site"}
        self.assertEqual(imports_of(path, known), {"netsuite.base"})
