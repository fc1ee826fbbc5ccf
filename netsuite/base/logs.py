"""
Log observers for twistd's C{--logger} option.

C{twistd --logger netsuite.base.logs.json_observer -n netsuite-echo} writes one JSON object
per event to stdout (Twisted's own JSON format: record-separated, every event field
kept: peer, reason, counts), for log shippers and machines.
"""

from __future__ import annotations

import sys

from twisted.logger import ILogObserver, jsonFileLogObserver

__all__ = ["json_observer"]


def json_observer() -> ILogObserver:
    """A JSON observer on standard output (twistd calls it with no arguments)."""
    return jsonFileLogObserver(sys.stdout)
