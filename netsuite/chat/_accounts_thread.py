"""
The Twisted side of password checks: L{threaded} runs a Scrypt check in the reactor's
thread pool and calls back in the reactor thread.

A check takes about 57 ms of CPU (L{netsuite.chat._accounts}); run inline it would
stall every connection of the process that long, once per login attempt. OpenSSL's
scrypt releases the GIL, so the reactor keeps serving while a pool thread hashes; the
pool's size (Twisted's default, 10 threads, 16 MiB each at most) bounds the memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger

from netsuite.chat._accounts import Runner

__all__ = ["threaded"]

log = Logger()


def threaded(reactor: Any) -> Runner:
    """A runner (L{netsuite.chat._accounts.AccountBook.run}) on C{reactor}'s pool."""

    def run(work: Callable[[], Any], done: Callable[[Any], None]) -> None:
        d = deferToThreadPool(reactor, reactor.getThreadPool(), work)
        d.addCallback(done)
        d.addErrback(lambda f: log.failure("password check failed", f))

    return run
