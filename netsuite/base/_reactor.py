"""
The global reactor behind a proxy that picks it at first use, not at import.

Why: parsing a plugin's options builds its listen descriptions' endpoints, and each
holds a reactor; netsuite's modules are also imported where no reactor is chosen yet (a
C{.tac} file, tests, a program that installs the asyncio reactor after importing them).
Importing C{twisted.internet.reactor} there would install the default (epoll) and make
the later choice fail with C{ReactorAlreadyInstalledError}. twistd itself installs
C{--reactor} while it parses its own options, before the plugin's, so under twistd every
reactor (epoll, poll, select, asyncio: C{tests/e2e/test_reactors.py}) is the one used.
Hot paths (per connection, per datagram) take the real reactor with L{GlobalReactor.of}
once they run, so they do not pay the proxy's attribute lookup every time.
"""

from __future__ import annotations

from typing import Any

__all__ = ["GlobalReactor"]


class GlobalReactor:
    """
    The global reactor, looked up when first used rather than when imported, so that
    parsing options does not pick a reactor before twistd's C{--reactor} has.
    """

    _reactor: Any = None

    def _resolve(self) -> Any:
        reactor = self._reactor
        if reactor is None:
            from twisted.internet import reactor

            object.__setattr__(self, "_reactor", reactor)  # looked up once, then kept
        return reactor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._resolve(), name)

    @staticmethod
    def of(reactor: Any) -> Any:
        """The real reactor behind C{reactor} (services keep it, not the proxy: hot paths
        call it per connection or per datagram)."""
        return reactor._resolve() if isinstance(reactor, GlobalReactor) else reactor

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._resolve(), name, value)
