"""
twistd with a log observer that prints only start-up lines and errors, for an A/B in
bench/tls.py (server "netsuite-quietlog"): how much of netsuite's cost per TLS connection
is its two log lines per connection (formatted and written by twistd's file observer).

Usage: quiet_twistd.py TWISTD-ARGUMENTS...  (the same arguments as twistd)
"""

import os
import sys

from twisted.logger import ILogObserver, LogLevel, formatEvent
from twisted.scripts.twistd import run
from zope.interface import directlyProvides

#: Words of the log formats that must still be seen: the port and readiness lines.
KEEP = ("listening", "ready")


def observer() -> object:
    """The observer factory twistd's --logger names: drops per-connection events."""

    out = sys.__stdout__  # twistd points sys.stdout at the log itself

    def observe(event: dict) -> None:
        fmt = event.get("log_format") or ""
        level = event.get("log_level")
        if any(word in fmt for word in KEEP) or level in (LogLevel.error, LogLevel.critical):
            out.write(formatEvent(event) + "\n")
            out.flush()

    directlyProvides(observe, ILogObserver)
    return observe


if __name__ == "__main__":
    # twistd imports the observer by name: make this file's directory importable even
    # when it is run by another script (bench/cpuprof.py).
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.argv = ["twistd", "--logger=quiet_twistd.observer", *sys.argv[1:]]
    run()
