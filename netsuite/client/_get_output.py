"""
Where C{netsuite get} writes: L{Output} (the body, to stdout or C{-o FILE}, and C{-i}'s
headers) and L{ProgressLine} (the progress bar on a terminal's stderr). The figures the bar
shows are sans-IO, in L{netsuite.client._get_session}.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import BinaryIO, TextIO, cast

from netsuite.client._get_session import (
    Action,
    Progress,
    WriteError,
)

__all__ = ["Output", "ProgressLine"]


class Output:
    """
    Where the body goes: C{stdout} (a binary stream), or the file C{path}, opened only
    once there is a body to write (so C{--fail} on a 404 leaves no empty file behind).
    Every failure is a L{WriteError} that names it.
    """

    def __init__(self, path: str | None, stdout: BinaryIO) -> None:
        self.path = path
        self.stdout = stdout
        self.file: BinaryIO | None = None
        self.written = 0
        self.broken_pipe = False
        self._fd: int | None = None
        with contextlib.suppress(AttributeError, OSError, ValueError):
            self._fd = stdout.fileno()

    def _to_stdout(self, data: bytes) -> None:
        """
        All of C{data} on stdout, waiting (blocking) until it is taken: a pipe left
        non-blocking by another process (Twisted's StandardIO does that to a shared pipe)
        would otherwise refuse a write half done.
        """
        if self._fd is None:
            self.stdout.write(data)
            self.stdout.flush()
            return
        import select

        self.stdout.flush()  # nothing of ours is buffered there, but keep the order
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self._fd, view) :]
            except BlockingIOError:
                select.select([], [self._fd], [])

    @property
    def name(self) -> str:
        return self.path if self.path is not None else "stdout"

    def existing_size(self) -> int:
        """Bytes already in the file (0 when there is none)."""
        if self.path is None:
            return 0
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return 0
        except OSError as e:
            raise WriteError(f"cannot read {self.path}: {e.strerror}") from None
        if not os.path.isfile(self.path):
            raise WriteError(f"{self.path} is not a regular file")
        return st.st_size

    def open(self, action: Action) -> None:
        """Open the file: appending for L{Action.APPEND}, else from empty."""
        if self.path is None:
            return
        mode = "ab" if action is Action.APPEND else "wb"
        try:
            self.file = cast(BinaryIO, open(self.path, mode))  # noqa: SIM115 - closed by close()/abort()
        except OSError as e:
            raise WriteError(f"cannot write {self.path}: {e.strerror}") from None

    def write(self, data: bytes) -> None:
        try:
            if self.file is not None:
                self.file.write(data)
            else:
                self._to_stdout(data)
        except BrokenPipeError:
            self.broken_pipe = self.file is None
            raise WriteError(f"cannot write to {self.name}: broken pipe") from None
        except OSError as e:
            raise WriteError(f"cannot write to {self.name}: {e.strerror}") from None
        self.written += len(data)

    def head(self, data: bytes) -> None:
        """Status lines and headers (C{-i}): always on stdout."""
        try:
            self._to_stdout(data)
        except BrokenPipeError:
            self.broken_pipe = True
            raise WriteError("cannot write to stdout: broken pipe") from None
        except OSError as e:
            raise WriteError(f"cannot write to stdout: {e.strerror}") from None

    def close(self) -> None:
        """Flush and close the file (a full disk may only show here)."""
        file, self.file = self.file, None
        if file is not None:
            try:
                file.close()
            except OSError as e:
                raise WriteError(f"cannot write {self.path}: {e.strerror}") from None

    def abort(self) -> None:
        """Close without raising: what is written stays (for a later --continue)."""
        with contextlib.suppress(OSError):
            self.close()


class ProgressLine:
    """L{Progress} drawn on a terminal (C{stream}, stderr): one line, redrawn in place."""

    def __init__(
        self,
        stream: TextIO,
        now: Callable[[], float],
        width: int = 80,
    ) -> None:
        self.stream = stream
        self.now = now
        self.width = width
        self.progress: Progress | None = None
        self._drawn = False

    def start(self, total: int | None, offset: int) -> None:
        self.progress = Progress(self.now(), total=total, offset=offset)

    def update(self, count: int) -> None:
        if self.progress is None:
            return
        now = self.now()
        self.progress.update(count, now)
        if self.progress.due(now):
            self._draw(self.progress.render(now, self.width))

    def _draw(self, line: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.stream.write("\r" + line.ljust(self.width)[: self.width])
            self.stream.flush()
            self._drawn = True

    def finish(self, done: bool) -> None:
        """The last line (the average rate, when C{done}), and a newline after it."""
        if self.progress is None:
            return
        if done:
            self._draw(self.progress.render(self.now(), self.width, final=True))
        if self._drawn:
            with contextlib.suppress(OSError, ValueError):
                self.stream.write("\n")
                self.stream.flush()
        self.progress = None
        self._drawn = False
