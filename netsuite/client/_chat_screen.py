"""
What the user of C{netsuite chat} sees: L{PlainScreen} (stdin and stdout as they are, for
pipes and scripts), L{TerminalScreen} (a prompt kept by the line editor, incoming lines
printed above it) and L{CbreakMode} (the terminal setting the line editor needs).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from netsuite.client._common import (
    say,
)
from netsuite.client._lineedit import EditorEvent, EndOfInput, LineEditor, Submitted

__all__ = ["MAX_INPUT_LINE", "PROG", "CbreakMode", "PlainScreen", "Screen", "TerminalScreen"]

#: The name status lines carry (C{netsuite chat: ...}).
PROG = "netsuite chat"
#: The longest line taken from stdin when it is not a terminal (the door's own limit).
MAX_INPUT_LINE = 4096


class PlainScreen:
    """
    stdin and stdout as they are (a pipe, a file): one line in is one line to the server,
    one line from the server is one line out. The client's own words go to stderr.
    """

    def __init__(self, status: Callable[[str], None] | None = None) -> None:
        self._partial = b""
        self._status = status or (lambda text: say(PROG, text))

    def feed(self, data: bytes) -> tuple[list[EditorEvent], bytes]:
        *lines, self._partial = (self._partial + data).split(b"\n")
        events: list[EditorEvent] = [Submitted(self._decode(line)) for line in lines]
        if len(self._partial) > MAX_INPUT_LINE:
            self._status(f"an input line over {MAX_INPUT_LINE} bytes was cut there")
            events.append(Submitted(self._decode(self._partial)))
            self._partial = b""
        return events, b""

    def end_of_input(self) -> list[EditorEvent]:
        """stdin ended: a last line without a newline still counts."""
        partial, self._partial = self._partial, b""
        return ([Submitted(self._decode(partial))] if partial else []) + [EndOfInput()]

    @staticmethod
    def _decode(line: bytes) -> str:
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def show(self, line: str) -> bytes:
        return line.encode("utf-8") + b"\n"

    def status(self, text: str) -> bytes:
        self._status(text)
        return b""

    def prompt(self, text: str) -> bytes:
        return b""

    def close(self) -> bytes:
        return b""


class TerminalScreen:
    """
    A terminal in cbreak mode: the typed line lives in a L{LineEditor}, incoming lines
    and the client's own words are printed above the prompt.
    """

    def __init__(self, editor: LineEditor | None = None) -> None:
        self.editor = editor or LineEditor()

    def feed(self, data: bytes) -> tuple[list[EditorEvent], bytes]:
        events, out = self.editor.feed(data)
        return events, out.encode("utf-8")

    def end_of_input(self) -> list[EditorEvent]:
        return [EndOfInput()]

    def show(self, line: str) -> bytes:
        return self.editor.show(line).encode("utf-8")

    def status(self, text: str) -> bytes:
        return self.editor.show(f"{PROG}: {text}").encode("utf-8")

    def prompt(self, text: str) -> bytes:
        return self.editor.set_prompt(text).encode("utf-8")

    def close(self) -> bytes:
        return self.editor.clear().encode("utf-8")

    def redraw(self) -> bytes:
        return self.editor.redraw().encode("utf-8")


Screen = PlainScreen | TerminalScreen


class CbreakMode:
    """
    The terminal on C{fd} without the kernel's line editing and echo (signals kept), as
    L{TerminalScreen} needs it; L{leave} puts back what was there.
    """

    def __init__(self, fd: int) -> None:
        import termios

        self.fd = fd
        self.saved = termios.tcgetattr(fd)

    def enter(self) -> None:
        import termios

        attrs = termios.tcgetattr(self.fd)
        attrs[3] &= ~(termios.ICANON | termios.ECHO)
        attrs[6][termios.VMIN] = 1
        attrs[6][termios.VTIME] = 0
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)

    def leave(self) -> None:
        import termios

        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(self.fd, termios.TCSANOW, self.saved)
