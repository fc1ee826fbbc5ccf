"""
Log lines that leave together: one Twisted log event for many lines.

Why: a Twisted log event costs some 35 microseconds in twistd's file observer (format,
timestamp, write, flush), about as much as a whole TLS echo connection's Python work or
serving a small cached file. Lines that come once per connection or per request (web
access lines, connection opened/closed/refused) are gathered here and leave as one event
at most L{DELAY} seconds later, or at once when L{LIMIT} are waiting; a busy server pays
the observer once per batch, and a connection flood cannot become a log flood of events.

Each line keeps its place: the event's text is the lines, in order, one per line (twistd
indents continuation lines with a tab); the event's C{lines} field says how many.

Each line also keeps its own structured fields (service, door, conn, peer...): the event's
C{records} field lists one dict per line, C{{"text": line, "time": when, **fields}}, and its
C{batch} field names the batch. The JSON observer (L{netsuite.base._jsonlog}) writes one
object per record, so machines see one event per connection although twistd's text file
pays for one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger, LogLevel

__all__ = ["DELAY", "LIMIT", "LogBatch"]

#: Seconds a line may wait to leave with others, and how many may wait.
DELAY = 0.1
LIMIT = 256


class LogBatch:
    """
    Gathers log lines of one level and emits them as one event.

    @param field: the event field that carries the text (C{"{field}"} is its format), so
        that observers and tests can tell batches apart (C{"access"}, C{"connections"}).
    """

    def __init__(
        self,
        logger: Logger,
        clock: IReactorTime,
        field: str,
        level: LogLevel = LogLevel.info,
        delay: float = DELAY,
        limit: int = LIMIT,
    ) -> None:
        self.logger = logger
        self.clock = clock
        self.field = field
        self.level = level
        self.delay = delay
        self.limit = limit
        self._format = "{" + field + "}"
        self._lines: list[str] = []
        self._records: list[dict[str, Any]] = []
        self._due: IDelayedCall | None = None
        #: Set by L{close}: lines then leave at once (no timer outlives the owner).
        self.closed = False

    def add(self, line: str, fields: Mapping[str, Any] | None = None) -> None:
        """
        Queue one line: it leaves within L{delay} seconds, or now if the batch is full.

        @param fields: the line's structured fields (kept in the event's C{records}, with
            the line's own time: the batch may leave a little later).
        """
        lines = self._lines
        lines.append(line)
        record: dict[str, Any] = {"text": line, "time": self.clock.seconds()}
        if fields:
            record.update(fields)
        self._records.append(record)
        if len(lines) >= self.limit or self.closed:
            self.flush()
        elif self._due is None:
            self._due = self.clock.callLater(self.delay, self._timer)

    def _timer(self) -> None:
        self._due = None
        self.flush()

    def flush(self) -> None:
        """Emit the queued lines now, as one event (on shutdown, or when full)."""
        due, self._due = self._due, None
        if due is not None and due.active():
            due.cancel()
        lines, self._lines = self._lines, []
        records, self._records = self._records, []
        if lines:
            fields: dict[str, Any] = {
                self.field: "\n".join(lines), "lines": len(lines),
                "batch": self.field, "records": records,
            }  # fmt: skip
            self.logger.emit(self.level, self._format, **fields)

    def close(self) -> None:
        """Flush, and from now on emit each line at once (the owner is stopping)."""
        self.closed = True
        self.flush()

    def open(self) -> None:
        """Batch again (the owner started again after L{close})."""
        self.closed = False

    def __len__(self) -> int:
        return len(self._lines)
