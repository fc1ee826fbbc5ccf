"""
Forgetting the signal that stopped the reactor, so that twistd exits 0 after a clean
shutdown.

Why no public API serves: the reactor records the signal that stopped it in the private
C{ReactorBase._exitSignal}, and twistd (C{twisted.application.app}) reads it after the
reactor stops to re-raise that signal at exit, so a SIGTERM'd service never exits 0.
Nothing public clears it or says whether a signal was the cause.
"""

from __future__ import annotations

import signal
from typing import Any

__all__ = ["PRIVATE_NAMES", "forget_exit_signal"]

#: The private names this module relies on, as (object, attribute) pairs the pin test checks.
PRIVATE_NAMES = (("twisted.internet.base.ReactorBase", "_exitSignal"),)


def forget_exit_signal(reactor: Any) -> None:
    """If SIGTERM or SIGINT stopped C{reactor}, forget it: twistd then exits 0."""
    if getattr(reactor, "_exitSignal", None) in (signal.SIGTERM, signal.SIGINT):
        reactor._exitSignal = None
