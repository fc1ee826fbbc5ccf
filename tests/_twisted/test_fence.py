"""
No private Twisted name is used outside C{netsuite/_twisted/}.

The fence (STYLE.md, "Fence what you borrow") only helps if nothing climbs over it: a
private name used in a door or the web site would break on a Twisted upgrade somewhere
the pin test (C{test_pins.py}) does not look. This walks every module of C{netsuite/}
with C{ast} and fails on:

  - an import of a C{_}-prefixed Twisted (or pyOpenSSL) module or name;
  - in a class that subclasses a Twisted class (directly, through a C{netsuite._twisted}
    base or through a class of the same module): overriding one of the Twisted bases'
    private names (method or attribute) or touching one (C{self._name}, C{super()._name});
  - anywhere: an attribute access (or C{getattr}/C{hasattr}/C{setattr} with a constant
    name) to a private name some C{PRIVATE_NAMES} lists, unless the module defines that
    name on a class of its own; and C{X._name} where C{X} was imported from Twisted.

The checker is tested on small sources, with violations and without.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from tests._twisted._privates import (
    BORROWED,
    borrowed_private_names,
    fence_modules,
    is_private,
    resolve,
)

ROOT = Path(__file__).resolve().parents[2] / "netsuite"
FENCE = ROOT / "_twisted"

_ACCESSORS = ("getattr", "hasattr", "setattr", "delattr")


def fenced_names() -> frozenset[str]:
    """Every private name a C{netsuite._twisted} module declares it relies on."""
    names: set[str] = set()
    for module in fence_modules():
        for dotted, attribute in module.PRIVATE_NAMES:
            names.add(attribute)
            names.update(p for p in dotted.split(".") if is_private(p))
    return frozenset(names)


def _borrowed_module(dotted: str) -> bool:
    return dotted.split(".")[0] in BORROWED


@dataclass
class _Module:
    tree: ast.Module
    filename: str
    fenced: frozenset[str]
    imports: dict[str, str] = field(default_factory=dict)
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    found: list[str] = field(default_factory=list)

    def report(self, node: ast.AST, what: str) -> None:
        self.found.append(f"{self.filename}:{getattr(node, 'lineno', 0)}: {what}")

    # --- imports ------------------------------------------------------------------

    def check_imports(self) -> None:
        """Flag private imports anywhere; map the names module-level imports bind (an
        import inside a function binds a local name, which parameters may shadow)."""
        top = {id(n) for n in _module_level(self.tree)}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if id(node) in top:
                        self.imports[(alias.asname or alias.name).split(".")[0]] = (
                            alias.name if alias.asname else alias.name.split(".")[0]
                        )
                    if _borrowed_module(alias.name) and any(
                        is_private(p) for p in alias.name.split(".")
                    ):
                        self.report(node, f"imports the private module {alias.name}")
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                private_module = _borrowed_module(node.module) and any(
                    is_private(p) for p in node.module.split(".")
                )
                if private_module:
                    self.report(node, f"imports from the private module {node.module}")
                for alias in node.names:
                    if id(node) in top:
                        self.imports[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                    if _borrowed_module(node.module) and is_private(alias.name):
                        self.report(node, f"imports the private {node.module}.{alias.name}")

    # --- classes ------------------------------------------------------------------

    def _dotted(self, expr: ast.expr) -> str | None:
        parts: list[str] = []
        while isinstance(expr, ast.Attribute):
            parts.insert(0, expr.attr)
            expr = expr.value
        if not isinstance(expr, ast.Name) or expr.id not in self.imports:
            return None
        return ".".join([self.imports[expr.id], *parts])

    def borrowed_of(self, cls: ast.ClassDef, seen: frozenset[str] = frozenset()) -> dict[str, str]:
        """The Twisted private names C{cls}'s bases define: name -> where."""
        names: dict[str, str] = {}
        for base in cls.bases:
            if isinstance(base, ast.Name) and base.id in self.classes and base.id not in seen:
                names.update(self.borrowed_of(self.classes[base.id], seen | {cls.name}))
                continue
            dotted = self._dotted(base)
            if dotted is None:
                continue
            try:
                obj: Any = resolve(dotted)
            except (ImportError, AttributeError):
                continue
            if isinstance(obj, type):
                names.update(borrowed_private_names(obj))
        return names

    def check_classes(self) -> set[str]:
        """Check the subclasses of Twisted classes; return what the others define."""
        self.classes = {n.name: n for n in ast.walk(self.tree) if isinstance(n, ast.ClassDef)}
        own: set[str] = set()
        for cls in self.classes.values():
            borrowed = self.borrowed_of(cls)
            if not borrowed:
                own.update(_defined_by(cls))
                continue
            for node in cls.body:
                for name in _class_level_names(node):
                    if name in borrowed:
                        self.report(node, f"{cls.name} overrides {borrowed[name]}.{name}")
            for node in ast.walk(cls):
                name = _accessed_name(node)
                if name is not None and name in borrowed:
                    self.report(node, f"{cls.name} uses {borrowed[name]}.{name}")
        return own

    # --- everywhere ---------------------------------------------------------------

    def check_accesses(self, own: set[str]) -> None:
        for node in ast.walk(self.tree):
            name = _accessed_name(node)
            if name is None:
                continue
            if name in self.fenced and name not in own:
                self.report(node, f"uses {name}, a private Twisted name (PRIVATE_NAMES)")
            elif isinstance(node, ast.Attribute):
                dotted = self._dotted(node.value)
                if dotted is not None and _borrowed_module(dotted):
                    self.report(node, f"uses {dotted}.{name}")


def _module_level(tree: ast.Module) -> list[ast.stmt]:
    """The module's own statements, with those inside its top-level C{if} and C{try}."""
    found: list[ast.stmt] = []
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        found.append(node)
        if isinstance(node, ast.If):
            todo += node.body + node.orelse
        elif isinstance(node, ast.Try):
            todo += node.body + node.orelse + node.finalbody
            todo += [s for h in node.handlers for s in h.body]
    return found


def _class_level_names(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def _defined_by(cls: ast.ClassDef) -> set[str]:
    """Private names a class of netsuite's own defines: its methods, attributes, C{self.x}."""
    names = {n for node in cls.body for n in _class_level_names(node) if is_private(n)}
    for node in ast.walk(cls):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
            and is_private(node.attr)
        ):
            names.add(node.attr)
    return names


def _accessed_name(node: ast.AST) -> str | None:
    """The private name C{node} reaches: C{x._name}, or C{getattr(x, "_name", ...)}."""
    if isinstance(node, ast.Attribute) and is_private(node.attr):
        return node.attr
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _ACCESSORS
        and len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
        and isinstance(node.args[1].value, str)
        and is_private(node.args[1].value)
    ):
        return node.args[1].value
    return None


def violations(source: str, filename: str, fenced: frozenset[str] | None = None) -> list[str]:
    """Every use of a private Twisted name in C{source} (see the module docstring)."""
    module = _Module(
        ast.parse(source, filename), filename, fenced_names() if fenced is None else fenced
    )
    module.check_imports()
    module.check_accesses(module.check_classes())
    return sorted(set(module.found))


def netsuite_violations() -> list[str]:
    found: list[str] = []
    for path in sorted(ROOT.rglob("*.py")):
        if FENCE in path.parents:
            continue
        found += violations(path.read_text(), str(path.relative_to(ROOT.parent)))
    return found


class FenceTests(SynchronousTestCase):
    def test_netsuite_uses_no_private_twisted_name_outside_the_fence(self) -> None:
        found = netsuite_violations()
        self.assertEqual(
            found,
            [],
            "private Twisted names outside netsuite/_twisted/: move each into the module "
            "of its subsystem there, list it in PRIVATE_NAMES and call a public-named "
            "function or hook instead:\n  " + "\n  ".join(found),
        )


def check(source: str) -> list[str]:
    return violations(source, "snippet.py")


class CheckerTests(SynchronousTestCase):
    """The checker itself, on small sources: it must fail on each kind of violation."""

    def test_private_module_import(self) -> None:
        self.assertTrue(check("from twisted.web._http2 import H2Connection\n"))
        self.assertTrue(check("import twisted.web._http2\n"))

    def test_private_name_import(self) -> None:
        self.assertTrue(check("from twisted.web.http import _escape\n"))
        self.assertTrue(check("from OpenSSL._util import lib\n"))

    def test_override_of_a_private_method(self) -> None:
        found = check(
            "from twisted.protocols.tls import TLSMemoryBIOProtocol\n"
            "class P(TLSMemoryBIOProtocol):\n"
            "    def _write(self, data):\n"
            "        pass\n"
        )
        self.assertTrue(found)
        self.assertIn("overrides twisted.protocols.tls.TLSMemoryBIOProtocol._write", found[0])

    def test_use_of_an_instance_attribute_of_the_base(self) -> None:
        found = check(
            "from twisted.protocols import tls\n"
            "class P(tls.TLSMemoryBIOProtocol):\n"
            "    def go(self):\n"
            "        return self._tlsConnection\n"
        )
        self.assertTrue(found)
        self.assertIn("P uses twisted.protocols.tls.TLSMemoryBIOProtocol._tlsConnection", found[0])

    def test_through_a_fenced_base_and_a_local_class(self) -> None:
        found = check(
            "from netsuite._twisted.tls import OneFlightTLSProtocol\n"
            "class A(OneFlightTLSProtocol):\n"
            "    pass\n"
            "class B(A):\n"
            "    def go(self):\n"
            "        return self._handshakeDone\n"
        )
        self.assertTrue(found)
        self.assertIn("B uses twisted.protocols.tls.TLSMemoryBIOProtocol._handshakeDone", found[0])

    def test_fenced_names_anywhere(self) -> None:
        self.assertTrue(check("def f(request):\n    return request.requestHeaders._rawHeaders\n"))
        self.assertTrue(
            check("def f(reactor):\n    return getattr(reactor, '_exitSignal', None)\n")
        )

    def test_private_attribute_of_an_imported_twisted_name(self) -> None:
        self.assertTrue(check("from twisted.web import http\nx = http._anything\n"))

    def test_shadowed_by_a_local_import(self) -> None:
        source = (
            "class R:\n"
            "    def get(self):\n"
            "        from twisted.internet import reactor\n"
            "        return reactor\n"
            "    def of(self, reactor):\n"
            "        return reactor._resolve()\n"
        )
        self.assertEqual(check(source), [])

    def test_clean(self) -> None:
        self.assertEqual(
            check(
                "from twisted.internet.protocol import Protocol\n"
                "from netsuite._twisted.tls import OneFlightTLSProtocol\n"
                "class Door(Protocol):\n"
                "    _deadline = None\n"
                "    def _arm(self):\n"
                "        self._deadline = 1\n"
                "class Own:\n"
                "    def __init__(self):\n"
                "        self._rawHeaders = {}\n"
                "    def get(self):\n"
                "        return self._rawHeaders\n"
                "class T(OneFlightTLSProtocol):\n"
                "    _held = None\n"
                "    def send_records(self, records):\n"
                "        self._held = records\n"
                "        return self.handshake_complete\n"
            ),
            [],
        )
