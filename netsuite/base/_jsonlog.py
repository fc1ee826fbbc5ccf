"""
A JSON log observer: one object per line, for journald, log shippers and C{jq}.

Why not Twisted's C{jsonFileLogObserver}: it writes every key of the event, the private
ones too (C{log_logger}, C{log_source}, C{log_format}), prefixes each record with an
ASCII record separator, and needs a reader that knows Twisted's format. Here each line
is a plain JSON object with a fixed head and the event's own fields::

    {"time": "2026-12-02T17:12:40.123456Z", "level": "info",
     "namespace": "netsuite.stream._door.DoorFactory", "text": "echo tcp 127.0.0.1:5: connected",
     "service": "echo", "door": "tcp", "conn": 1, "peer": "tcp 127.0.0.1:5"}

  - C{time}: ISO-8601, UTC; C{level}: Twisted's level name; C{namespace}: the logger's;
    C{text}: the formatted message (a multi-line one stays one JSON line: C{\\n} escaped);
  - every other field whose value JSON can hold, as it is; any other value as C{str()};
    never Twisted's private C{log_*} keys nor the legacy C{message}/C{format} plumbing;
  - a logged failure adds C{traceback} (the whole traceback as text);
  - a batch of lines (L{netsuite.base._logbatch}) becomes one object per line, each with
    its own time and fields.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import IO, Any

from twisted.logger import ILogObserver, LogEvent, LogLevel, formatEvent
from zope.interface import implementer

__all__ = ["JSONObserver", "event_objects", "json_file_observer", "to_json_line"]

#: The head of every object; event fields of these names are left out.
RESERVED = frozenset({"time", "level", "namespace", "text", "traceback"})
_LEVEL_TYPE = type(LogLevel.info)
#: Keys of the legacy (twisted.python.log) bridge that only repeat the text.
LEGACY = frozenset({"message", "format", "isError", "why", "failure"})


def _iso(seconds: float) -> str:
    stamp = datetime.fromtimestamp(seconds, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _plain(value: Any) -> Any:
    """C{value} if JSON holds it exactly (no NaN, string keys), else its C{str()}."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if value.__class__ is _LEVEL_TYPE:  # a LogLevel constant
        return value.name
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: _plain(v) for k, v in value.items()}
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


def _fields(source: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: _plain(value)
        for key, value in source.items()
        if not key.startswith("log_") and key not in RESERVED and key not in LEGACY
    }


def event_objects(event: LogEvent) -> Iterator[dict[str, Any]]:
    """The JSON objects one event stands for: one, or one per line of a batch."""
    level = event.get("log_level")
    head_level = level.name if level is not None and level.__class__ is _LEVEL_TYPE else "info"
    namespace = event.get("log_namespace") or event.get("system") or "-"
    when = event.get("log_time")
    if not isinstance(when, int | float):
        when = 0.0
    records = event.get("records")
    if "batch" in event and isinstance(records, list):
        for record in records:
            if not isinstance(record, Mapping):
                continue
            at = record.get("time")
            yield {
                "time": _iso(at if isinstance(at, int | float) else when),
                "level": head_level,
                "namespace": namespace,
                "text": str(record.get("text", "")),
                **_fields(record),
            }
        return
    text = formatEvent(event)
    out = {
        "time": _iso(when),
        "level": head_level,
        "namespace": namespace,
        "text": text,
        **_fields(event),
    }
    failure = event.get("log_failure")
    if failure is None:  # a legacy log.err: the failure under its old key
        failure = event.get("failure") if event.get("isError") else None
    if failure is not None:
        try:
            out["traceback"] = failure.getTraceback()
        except Exception:
            out["traceback"] = repr(failure)
    yield out


def to_json_line(obj: Mapping[str, Any]) -> str:
    """One object as one line (non-ASCII kept: journald and jq read UTF-8)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


@implementer(ILogObserver)
class JSONObserver:
    """
    Writes each event as JSON lines to C{stream}, flushed per event (a crash loses no line).

    It never raises: a log observer that raises is removed by Twisted's publisher.
    """

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def __call__(self, event: LogEvent) -> None:
        try:
            text = "".join(to_json_line(obj) for obj in event_objects(event))
        except Exception as e:  # a field whose str() fails: say so rather than lose it
            text = to_json_line({"time": _iso(0.0), "level": "error", "text": repr(e)})
        self.stream.write(text)
        self.stream.flush()


def json_file_observer(path: str | None = None) -> JSONObserver:
    """A L{JSONObserver} appending to C{path} (L{None}, C{""} or C{"-"}: standard output)."""
    if not path or path == "-":
        return JSONObserver(sys.stdout)
    return JSONObserver(open(path, "a", encoding="utf-8"))  # lives as long as the process
