"""
Shared by the pin and fence tests: what the C{netsuite._twisted} modules declare, and
which private names a Twisted class has (class attributes and methods, and the
C{self._name} attributes its methods assign).
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import pkgutil
import textwrap
from types import ModuleType
from typing import Any

import netsuite._twisted

#: Where the private names we borrow come from: Twisted, and pyOpenSSL under it.
BORROWED = ("twisted", "OpenSSL")


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def fence_modules() -> list[ModuleType]:
    """Every module of C{netsuite._twisted}."""
    return [
        importlib.import_module(f"netsuite._twisted.{info.name}")
        for info in pkgutil.iter_modules(netsuite._twisted.__path__)
    ]


def resolve(dotted: str) -> Any:
    """The object at C{dotted}: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:]:
            obj = getattr(obj, part)
        return obj
    raise ImportError(dotted)


def is_borrowed(module_name: str) -> bool:
    return module_name.split(".")[0] in BORROWED


@functools.cache
def assigned_on_self(cls: type) -> frozenset[str]:
    """The private C{self.<name>} attributes the methods of C{cls} itself assign."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return frozenset()
    return frozenset(
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Store)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
        and is_private(node.attr)
    )


@functools.cache
def borrowed_private_names(cls: type) -> dict[str, str]:
    """C{{name: "module.Class"}}: the private names the Twisted classes in C{cls}'s MRO
    define (as attributes or methods, or by assigning C{self.<name>})."""
    names: dict[str, str] = {}
    for base in reversed(cls.__mro__):
        if not is_borrowed(base.__module__):
            continue
        where = f"{base.__module__}.{base.__qualname__}"
        for name in [n for n in vars(base) if is_private(n)] + sorted(assigned_on_self(base)):
            names[name] = where
    return names
