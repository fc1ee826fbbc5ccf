"""
A one-line editor for a terminal in cbreak mode, sans-IO: keystrokes in, lines and
terminal output out.

The terminal's own line discipline cannot print a line above what the user is typing:
the kernel holds the half-typed line, and anything printed lands in the middle of it.
So C{netsuite chat} turns the kernel's editing off (cbreak: no echo, no line buffering,
signals kept, so Ctrl-C and Ctrl-Z work) and keeps the typed line here. L{LineEditor.show}
then prints an incoming line above the prompt and redraws the prompt with what was typed.

Keys: printable characters insert; Backspace deletes a character, Ctrl-W a word, Ctrl-U
the line; Enter submits; Ctrl-D on an empty line ends the input; Ctrl-L redraws; escape
sequences (arrows, function keys) are ignored, as are other control characters. The line
is at most C{max_bytes} bytes of UTF-8 (a bell says when it is full). A line longer than
the terminal is wide is still redrawn from its start, so what is shown may wrap oddly;
nothing typed is lost.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

__all__ = ["EndOfInput", "LineEditor", "Submitted"]

#: Carriage return and erase to the end of the line: redraw the current line from its start.
ERASE_LINE = "\r\x1b[K"


@dataclass(frozen=True)
class Submitted:
    """The user pressed Enter on C{line}."""

    line: str


@dataclass(frozen=True)
class EndOfInput:
    """The user pressed Ctrl-D on an empty line."""


EditorEvent = Submitted | EndOfInput

_BACKSPACE = ("\x7f", "\x08")
_KILL_LINE = "\x15"  # Ctrl-U
_KILL_WORD = "\x17"  # Ctrl-W
_EOF = "\x04"  # Ctrl-D
_REDRAW = "\x0c"  # Ctrl-L
_ESC = "\x1b"


class LineEditor:
    """
    @ivar prompt: shown before the typed text (L{set_prompt} changes it on screen too).
    @ivar buffer: what has been typed so far on this line.
    @ivar max_bytes: the longest line, in bytes of UTF-8.
    """

    def __init__(self, prompt: str = "> ", max_bytes: int = 4000) -> None:
        self.prompt = prompt
        self.buffer = ""
        self.max_bytes = max_bytes
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._escape = ""  # the escape sequence being skipped, from its ESC
        self._after_cr = False

    def feed(self, data: bytes) -> tuple[list[EditorEvent], str]:
        """Keystrokes in; the events they make and the text to write to the terminal."""
        events: list[EditorEvent] = []
        out: list[str] = []
        for char in self._decoder.decode(data):
            after_cr, self._after_cr = self._after_cr, char == "\r"
            if self._escape:
                self._skip_escape(char)
                continue
            if char == _ESC:
                self._escape = char
            elif char in "\r\n":
                if char == "\n" and after_cr:
                    continue  # CR LF (a paste): one line
                events.append(Submitted(self.buffer))
                self.buffer = ""
                out.append(ERASE_LINE + self.prompt)
            elif char in _BACKSPACE:
                if self.buffer:
                    self.buffer = self.buffer[:-1]
                    out.append(self.redraw())
            elif char == _KILL_LINE:
                self.buffer = ""
                out.append(self.redraw())
            elif char == _KILL_WORD:
                self.buffer = self.buffer.rstrip(" ")
                cut = self.buffer.rfind(" ") + 1
                self.buffer = self.buffer[:cut]
                out.append(self.redraw())
            elif char == _EOF:
                if not self.buffer:
                    events.append(EndOfInput())
            elif char == _REDRAW:
                out.append(self.redraw())
            elif char == "\t":
                out.append(self._insert(" "))
            elif char.isprintable():
                out.append(self._insert(char))
            # Any other control character is ignored.
        return events, "".join(out)

    def _insert(self, char: str) -> str:
        if len((self.buffer + char).encode("utf-8")) > self.max_bytes:
            return "\a"
        self.buffer += char
        return char

    def _skip_escape(self, char: str) -> None:
        """Swallow one character of an escape sequence (CSI, SS3, or ESC and one key)."""
        seq = self._escape + char
        if len(seq) == 2:
            # ESC [ starts a CSI and ESC O an SS3; ESC and anything else is a pair.
            self._escape = seq if char in "[O" else ""
        elif seq[1] == "O":
            self._escape = ""  # SS3: one final character
        elif "\x40" <= char <= "\x7e" or len(seq) > 32:
            self._escape = ""  # CSI final byte (or a runaway sequence)
        else:
            self._escape = seq

    def redraw(self) -> str:
        """The whole line again: prompt and what was typed."""
        return ERASE_LINE + self.prompt + self.buffer

    def show(self, line: str) -> str:
        """The text that prints C{line} above the prompt and redraws the prompt."""
        return ERASE_LINE + line + "\n" + self.prompt + self.buffer

    def set_prompt(self, prompt: str) -> str:
        """Change the prompt; the text that redraws the line with it."""
        if prompt == self.prompt:
            return ""
        self.prompt = prompt
        return self.redraw()

    def clear(self) -> str:
        """The text that erases the prompt line (before exiting)."""
        return ERASE_LINE
