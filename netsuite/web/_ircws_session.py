"""
IRC over WebSocket (the IRCv3 WebSocket specification), with no I/O: WebSocket
messages in and out of the IRC door's own session (L{netsuite.chat._irc_session}).

One WebSocket message is one IRC line, without its CRLF, both ways. Which kind of
message is negotiated as a WebSocket subprotocol (L{choose_subprotocol}):

  - C{binary.ircv3.net}: binary messages, any bytes (the session decodes UTF-8 with
    replacement, as it does on the TCP door);
  - C{text.ircv3.net}, or no subprotocol at all: text messages, UTF-8. Output is made
    valid UTF-8 (invalid bytes become U+FFFD), as Ergo and soju do, so that a text frame
    never breaks the browser's WebSocket.

The client's order of preference is kept: the first of its subprotocols we speak wins.

L{IRCWebSession} holds an L{IRCSession} (the same class, options and limits as the IRC
door: C{max_line} with 417 for a longer line, the fake-lag flood pacing, the error
budget) and gives the WebSocket adapter (L{netsuite.web._ircws}) the calls it makes of
every WebSocket session: C{start}, C{end(code, reason)}, C{lost(reason)},
C{going_away(code, reason)} and C{closed}. A message's trailing CRLF (or LF) is
forgiven; a CR, LF or NUL inside it cannot start a second line (the session scrubs
control characters from every line it reads).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from netsuite.chat._hub import Hub
from netsuite.chat._irc_numerics import ERR_INPUTTOOLONG
from netsuite.chat._irc_render import wire
from netsuite.chat._irc_session import IRCSession

__all__ = ["BINARY", "SUBPROTOCOLS", "TEXT", "IRCWebSession", "choose_subprotocol"]

BINARY = "binary.ircv3.net"
TEXT = "text.ircv3.net"
#: The subprotocols spoken here (the specification: binary MUST, text SHOULD).
SUBPROTOCOLS = (BINARY, TEXT)

#: WebSocket close codes (RFC 6455 7.4.1): the IRC session ended (QUIT, an ERROR).
NORMAL = 1000


def choose_subprotocol(offered: Sequence[str]) -> str | None:
    """The first of the client's subprotocols (its order of preference) spoken here;
    L{None} when it offered none of them (then: text messages, and no header)."""
    return next((p for p in (o.strip() for o in offered) if p in SUBPROTOCOLS), None)


class IRCWebSession:
    """
    One IRC client over a WebSocket: its L{IRCSession} (the hub's member, once
    registered), fed one message at a time.

    C{send(line)} gets each output line as bytes without CRLF (the adapter sends it as
    a text or binary message); C{close(code, reason)} closes the WebSocket.
    """

    started = False

    def __init__(
        self,
        hub: Hub,
        send: Callable[[bytes], None],
        close: Callable[[int, str], None],
        *,
        max_line: int = 4096,
        **options: Any,
    ) -> None:
        """C{options}: the rest of L{IRCSession}'s (C{server_name}, C{password}, C{motd},
        C{created}, C{renderer}), passed as they are."""
        self.hub = hub
        self.send = send
        self.close = close
        self.max_line = max_line
        self.irc = IRCSession(hub, self._output, self._ended, max_line=max_line, **options)

    @property
    def closed(self) -> bool:
        return self.irc.closed

    # --- output -----------------------------------------------------------------------

    def _output(self, data: bytes) -> None:
        """The session's bytes (whole CRLF-ended lines, one or more): a message each."""
        if data.count(b"\n") == 1:  # the common case: one line
            self.send(data[:-2] if data.endswith(b"\r\n") else data.rstrip(b"\n"))
            return
        for line in data.split(b"\n"):
            line = line[:-1] if line.endswith(b"\r") else line
            if line:
                self.send(line)

    def _ended(self, reason: str) -> None:
        """The session is done (QUIT, too many errors, flooding): its ERROR went first."""
        self.close(NORMAL, reason)

    # --- the WebSocket's side ---------------------------------------------------------

    def start(self) -> None:
        """The WebSocket is open. Nothing to send: IRC clients speak first (CAP, NICK)."""
        self.started = True

    def message_received(self, data: bytes) -> float | None:
        """
        One message, one line: run it (or queue it, past the flood rate). Returns the
        seconds until a queued line's turn (the adapter's timer calls L{release} then);
        L{None} when nothing waits.
        """
        irc = self.irc
        if irc.closed:
            return None
        if data.endswith(b"\n"):
            data = data[:-2] if data.endswith(b"\r\n") else data[:-1]
        if len(data) > self.max_line:
            irc.reply(ERR_INPUTTOOLONG, "Input line was too long")
            return None
        irc.paced_line(data)
        return None if irc.closed else irc.pacer.wait()

    def release(self) -> float | None:
        """Run the queued lines whose turn came; seconds until the next (L{None}: none)."""
        return self.irc.release()

    def end(self, code: int, reason: str) -> None:
        """Cut off by the adapter (a frame too big): C{ERROR}, leave the hub, close."""
        if self.irc.closed:
            return
        self.irc.out.sendCommand("ERROR", (f":Closing link: {wire(reason)}",))
        self.lost(reason)
        self.close(code, reason)

    def lost(self, reason: str) -> None:
        """The connection is gone or being cut: leave the hub (others see the quit)."""
        irc = self.irc
        if irc.closed:
            return
        irc.closed = True
        self.hub.quit(irc, reason)

    def going_away(self, code: int, reason: str) -> None:
        """
        The server shuts down: C{ERROR :Closing Link: nick (reason)} as the IRC door
        says it, leave the hub without a quit (every member leaves at once), close.
        """
        irc = self.irc
        if irc.closed:
            return
        who = irc.nick or "*"
        irc.out.sendCommand("ERROR", (f":Closing Link: {who} ({wire(reason)})",))
        irc.closed = True
        self.hub.remove(irc)
        self.close(code, reason)
