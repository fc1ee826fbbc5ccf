"""
Every private Twisted name netsuite relies on still exists, with the shape we use.

Each C{netsuite._twisted} module lists what it borrows in C{PRIVATE_NAMES}, as
(dotted object, attribute) pairs. A Twisted upgrade that renames or removes one fails
here, in a message naming the Twisted version and the module to fix, before any
behaviour test fails somewhere less obvious. Run this first (docs/twisted-upgrades.md).
"""

from __future__ import annotations

import ast
import inspect

import OpenSSL
import twisted
from twisted.trial.unittest import SynchronousTestCase

from tests._twisted._privates import assigned_on_self, fence_modules, resolve

VERSIONS = f"Twisted {twisted.__version__}, pyOpenSSL {OpenSSL.__version__}"


def used_as_methods(module: object) -> set[str]:
    """The names a fence module calls (C{x.name(...)}) or overrides (C{def name})."""
    tree = ast.parse(inspect.getsource(module))  # type: ignore[arg-type]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            names.add(node.func.attr)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            names.add(node.func.id)
        elif isinstance(node, ast.FunctionDef):
            names.add(node.name)
    return names


def has_attribute(obj: object, attribute: str) -> bool:
    """On the object, or (for a class) assigned to C{self} by a method of its MRO."""
    if hasattr(obj, attribute):
        return True
    if isinstance(obj, type):
        return any(attribute in assigned_on_self(c) for c in obj.__mro__)
    return False


class PinTests(SynchronousTestCase):
    def test_every_module_declares_its_names(self) -> None:
        modules = fence_modules()
        self.assertGreaterEqual(len(modules), 6)
        for module in modules:
            names = getattr(module, "PRIVATE_NAMES", None)
            self.assertIsInstance(names, tuple, f"{module.__name__} has no PRIVATE_NAMES")
            self.assertTrue(names, f"{module.__name__}: PRIVATE_NAMES is empty")
            self.assertTrue(module.__doc__, f"{module.__name__} says nowhere why it exists")
            for entry in names:
                self.assertEqual(len(entry), 2, f"{module.__name__}: {entry!r}")

    def test_every_private_name_resolves(self) -> None:
        problems = []
        for module in fence_modules():
            methods = used_as_methods(module)
            for dotted, attribute in module.PRIVATE_NAMES:
                where = f"{dotted}.{attribute} (used by {module.__name__})"
                try:
                    obj = resolve(dotted)
                except (ImportError, AttributeError) as e:
                    problems.append(f"{where}: {dotted} is gone ({e})")
                    continue
                if not has_attribute(obj, attribute):
                    problems.append(f"{where}: no such attribute")
                    continue
                value = getattr(obj, attribute, None)
                if attribute in methods and value is not None and not callable(value):
                    problems.append(f"{where}: no longer callable")
        self.assertEqual(
            problems,
            [],
            f"with {VERSIONS}, private names netsuite relies on changed; fix the module "
            f"named in each line (docs/twisted-upgrades.md):\n  " + "\n  ".join(problems),
        )

    def test_resolves_instance_attributes(self) -> None:
        """An attribute only a method assigns counts (the checker is not vacuous)."""
        from twisted.protocols.tls import TLSMemoryBIOProtocol

        self.assertTrue(has_attribute(TLSMemoryBIOProtocol, "_tlsConnection"))
        self.assertFalse(has_attribute(TLSMemoryBIOProtocol, "_no_such_thing"))
