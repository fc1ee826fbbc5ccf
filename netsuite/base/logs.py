"""
Log observers for twistd's C{--logger} option, and the C{--log-format} switch.

C{twistd --logger netsuite.base.logs.json_logger -n netsuite} writes one JSON object per
line (L{netsuite.base._jsonlog}: time, level, namespace, text and every structured field:
service, door, conn, peer, TLS details, the limit that refused) to the file named by
C{NETSUITE_LOG_FILE}, or to standard output. twistd's own lines (start-up, "Received
SIGTERM") go through the same observer, so every line of the file is JSON.

C{twistd --logger netsuite.base.logs.json_observer} is Twisted's own JSON format
(record-separated, every event key kept), for Twisted's C{eventsFromJSONLogFile}.

L{install_log_format} is what a C{--log-format json|text} option or a config file's
C{[log]} section calls: see docs/logging.md.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, MutableMapping
from typing import Any

from twisted.logger import ILogObserver, jsonFileLogObserver

from netsuite.base._jsonlog import JSONObserver, json_file_observer

__all__ = ["JSON_LOGGER", "LOG_FORMATS", "install_log_format", "json_logger", "json_observer"]

#: The values C{--log-format} and C{[log] format} take.
LOG_FORMATS = ("text", "json")
#: What twistd's C{--logger} takes for the JSON log.
JSON_LOGGER = "netsuite.base.logs.json_logger"


def json_observer() -> ILogObserver:
    """Twisted's JSON observer on standard output (twistd calls it with no arguments)."""
    return jsonFileLogObserver(sys.stdout)


#: The file L{install_log_format} chose for L{json_logger} (None: none chosen).
_chosen_file: str | None = None


def json_logger() -> JSONObserver:
    """
    One JSON object per line, to the file L{install_log_format} chose, else
    C{$NETSUITE_LOG_FILE} (appended), else standard output: the factory twistd's
    C{--logger} names and calls, with no arguments, before logging starts.
    """
    return json_file_observer(_chosen_file or os.environ.get("NETSUITE_LOG_FILE") or None)


def install_log_format(
    format: str,
    path: str | None,
    options: MutableMapping[str, Any] | None = None,
) -> Callable[[], ILogObserver] | None:
    """
    Choose the log format (C{"text"} or C{"json"}) and file (L{None}: standard output).

    twistd picks its observer from its own options (C{--logger}, C{--logfile}) after
    every sub-command's options are parsed and before the application is made, so a
    plugin's C{postOptions} passes twistd's options (C{self.parent}) as C{options}:
    C{"json"} sets C{options["logger"]} to a JSON observer factory, C{"text"} with a
    path sets C{options["logfile"]}. A twistd C{--logger} given by hand wins.

    @return: the observer factory for C{"json"} (a C{.tac} file installs it with
        C{application.setComponent(ILogObserver, factory())}), L{None} for C{"text"}.
    @raise ValueError: an unknown format (the message lists the known ones).
    """
    if format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {format!r}")
    if format == "text":
        if options is not None and path and not options.get("logfile"):
            options["logfile"] = path
        return None

    def factory() -> ILogObserver:
        return json_file_observer(path)

    if options is not None and not options.get("logger"):
        # A dotted name: twistd imports it once every plugin's options are parsed.
        global _chosen_file
        _chosen_file = path
        options["logger"] = JSON_LOGGER
    return factory
