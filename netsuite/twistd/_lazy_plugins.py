"""
Plugin objects that import their implementation only when first used.

Twisted imports every module in C{twisted/plugins} whenever it scans for plugins (on
C{twistd --help}, on every description parse), so those modules must stay cheap: these
stand-ins carry a name and a dotted path, and import the real code on the first call.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from twisted.internet.interfaces import (
    IReactorCore,
    IStreamServerEndpoint,
    IStreamServerEndpointStringParser,
)
from twisted.plugin import IPlugin
from zope.interface import implementer

from netsuite.base.interfaces import (
    IDatagramServerEndpoint,
    IDatagramServerEndpointStringParser,
)

__all__ = ["LazyDatagramParser", "LazyStreamParser"]


def _resolve(target: str) -> Any:  # imported by name: only the caller knows its type
    module, _, name = target.partition(":")
    return getattr(import_module(module), name)


@implementer(IPlugin, IStreamServerEndpointStringParser)
class LazyStreamParser:
    """A stream description parser for C{prefix}, implemented by C{target} (C{mod:func})."""

    def __init__(self, prefix: str, target: str) -> None:
        self.prefix = prefix
        self.target = target

    def parseStreamServer(
        self, reactor: IReactorCore, *args: object, **kwargs: object
    ) -> IStreamServerEndpoint:
        return _resolve(self.target)(reactor, *args, **kwargs)


@implementer(IPlugin, IDatagramServerEndpointStringParser)
class LazyDatagramParser:
    """A datagram description parser for C{prefix}, implemented by C{target}."""

    def __init__(self, prefix: str, target: str) -> None:
        self.prefix = prefix
        self.target = target

    def parseDatagramServer(
        self, reactor: object, *args: object, **kwargs: object
    ) -> IDatagramServerEndpoint:
        return _resolve(self.target)(reactor, *args, **kwargs)
