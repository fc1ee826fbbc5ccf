"""
C{netsuite chat}: an interactive client for the plain-line chat door.

Lines typed go to the server as they are (slash commands too: the server interprets
them); lines from the server appear as they arrive. On a terminal the typed line is kept
by the client (L{netsuite.client._lineedit}), so an incoming line is printed above the
prompt instead of through what is being typed, and the prompt names the current room.
With stdin or stdout not a terminal (a pipe, a script), lines are read and printed as
they are, with no prompt.

C{/quit} leaves: the client exits 0 once the server has closed the connection (so does
the end of input, Ctrl-D, which sends C{/quit}). A lost connection is reported on stderr
and exits 1; with C{--reconnect} the client connects again after 1 s, 2 s, 4 s ... (at
most 30 s), asks for its nick back and joins the rooms it was in again. C{--nick NAME}
sends C{/nick NAME} once the server has greeted us. C{--tls} verifies the server as
C{netsuite echo --tls} does (C{--ca}, C{--cert}, C{--key}, C{--insecure}).

Layout: L{netsuite.client._chat_session.ChatClient} holds the logic (sans-IO: lines and
events in, actions out); L{ChatController} carries the actions out on the reactor; the
screens (L{netsuite.client._chat_screen}) turn lines into bytes for stdout. The module
is above 400 lines because the controller is one adapter: every action the session
returns is carried out here, next to the connection and the reconnect timer it drives.

Exit status: 0 after C{/quit} or the end of input; 1 a lost or refused connection, a
failed TLS verification; 2 bad arguments; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable
from typing import Any

from twisted.internet import error as net_error
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure

from netsuite.client._chat_screen import PROG, CbreakMode, PlainScreen, Screen, TerminalScreen
from netsuite.client._chat_session import (
    Action,
    ChatClient,
    Exit,
    Hangup,
    Prompt,
    Reconnect,
    Show,
    Status,
    Transmit,
)
from netsuite.client._common import (
    StdioFlags,
    StdioSide,
    add_tls_arguments,
    check_tls_arguments,
    connection_failure_message,
    is_tls_failure,
    port_number,
    positive_seconds,
    react_command,
    say,
    set_nodelay,
    tls_client_options,
    tls_peer_chain,
)
from netsuite.client._lineedit import EditorEvent, Submitted

__all__ = ["NAME", "SUMMARY", "ChatController", "add_arguments", "run"]

NAME = "chat"
SUMMARY = "Chat on a netsuite chat server's line door (interactive; --reconnect)."
DEFAULT_TIMEOUT = 10.0

# -- the Twisted side ----------------------------------------------------------------------


class _ServerSide(Protocol):
    """The connection end: bytes to and from the chat server."""

    def __init__(self, controller: ChatController) -> None:
        self.controller = controller

    def connectionMade(self) -> None:
        self.controller.network_made(self.transport)

    def dataReceived(self, data: bytes) -> None:
        self.controller.server_data(data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.controller.network_lost(reason, tls_peer_chain(self.transport))


class ChatController:
    """
    Carries out a L{ChatClient}'s actions on the reactor: connects (again), writes to the
    server and to the screen, keeps the reconnect and hang-up timers, and fires
    C{finished} with the exit status once the connection and stdio are both closed.

    C{connect(protocol)} connects C{protocol} to the server and returns a L{Deferred}
    (an endpoint's C{connectProtocol}). Messages for stderr at the end are collected
    in C{messages}.
    """

    def __init__(
        self,
        client: ChatClient,
        clock: IReactorTime,
        connect: Callable[[Protocol], Deferred[Any]],
        screen: Screen,
        host: str,
        port: int,
        ca: str | None = None,
    ) -> None:
        self.client = client
        self.clock = clock
        self.connect = connect
        self.screen = screen
        self.host = host
        self.port = port
        self.ca = ca
        self.finished: Deferred[int] = Deferred()
        self.messages: list[str] = []
        self.stdio: Any = None
        self.network: Any = None
        self._stdio_open = False
        self._attempt: Deferred[Any] | None = None
        self._received_any = False
        self._retry: IDelayedCall | None = None
        self._hangup: IDelayedCall | None = None
        self._code: int | None = None

    def start(self) -> None:
        """Connect for the first time."""
        self._connect()

    def stdio_protocol(self) -> Protocol:
        """The protocol to give L{twisted.internet.stdio.StandardIO}."""
        return StdioSide(self)

    # -- the server --------------------------------------------------------------------

    def _connect(self) -> None:
        self._retry = None
        if self._code is not None:
            return
        self.client.connecting()
        self._received_any = False
        attempt = self.connect(_ServerSide(self))
        self._attempt = attempt
        attempt.addErrback(self._connect_failed)

    def _connect_failed(self, failure: Failure) -> None:
        self._attempt = None
        if failure.check(CancelledError) or self._code is not None:
            return
        message = connection_failure_message(failure, self.host, self.port)
        self.apply(self.client.connect_failed(message, retry=not is_tls_failure(failure)))

    def network_made(self, transport: Any) -> None:
        self._attempt = None
        set_nodelay(transport)
        self.network = transport
        if self._code is not None:
            transport.loseConnection()
            return
        self.apply(self.client.connected())

    def server_data(self, data: bytes) -> None:
        self._received_any = True
        self.apply(self.client.data_received(data))

    def network_lost(self, reason: Failure, peer_chain: Any = ()) -> None:
        self.network = None
        self._cancel("_hangup")
        if self._code is not None:
            self._maybe_finished()
            return
        if not self._received_any and is_tls_failure(reason):
            message = connection_failure_message(reason, self.host, self.port, peer_chain, self.ca)
            self.apply(self.client.connect_failed(message, retry=False))
            return
        if reason.check(net_error.ConnectionDone):
            why = "closed by the server"
        else:
            why = f"lost: {reason.getErrorMessage()}"
        self.apply(self.client.connection_lost(why))

    def _hang_up(self) -> None:
        self._hangup = None
        if self.network is not None:
            self.network.abortConnection()

    # -- stdio -------------------------------------------------------------------------

    def stdio_made(self, transport: Any) -> None:
        self.stdio = transport
        self._stdio_open = True
        self._write(self.screen.prompt(self.client.prompt()))
        self.redraw()

    def stdin_data(self, data: bytes) -> None:
        events, echo = self.screen.feed(data)
        self._write(echo)
        self._editor_events(events)

    def stdin_eof(self) -> None:
        self._editor_events(self.screen.end_of_input())

    def _editor_events(self, events: list[EditorEvent]) -> None:
        for event in events:
            if self._code is not None:
                return
            if isinstance(event, Submitted):
                self.apply(self.client.user_line(event.line))
            else:
                self.apply(self.client.user_eof())

    def stdout_gone(self) -> None:
        """Nobody reads stdout any more: nothing left worth doing."""
        self._stdio_open = False
        self.finish(0)

    def stdio_lost(self) -> None:
        self._stdio_open = False
        self.finish(0)

    def _write(self, data: bytes) -> None:
        if data and self._stdio_open and self.stdio is not None:
            self.stdio.write(data)

    def redraw(self) -> None:
        """Draw the prompt line again (after the terminal was given back to us)."""
        if isinstance(self.screen, TerminalScreen):
            self._write(self.screen.redraw())

    # -- actions -----------------------------------------------------------------------

    def apply(self, actions: list[Action]) -> None:
        """Carry out C{actions}, in order."""
        exiting = any(isinstance(a, Exit) for a in actions)
        for action in actions:
            if isinstance(action, Show):
                self._write(self.screen.show(action.line))
            elif isinstance(action, Transmit):
                if self.network is not None:
                    self.network.write(action.data)
            elif isinstance(action, Status):
                if exiting:
                    self.messages.append(action.text)  # for stderr, after the screen
                else:
                    self._write(self.screen.status(action.text))
            elif isinstance(action, Prompt):
                self._write(self.screen.prompt(action.text))
            elif isinstance(action, Reconnect):
                self._cancel("_retry")
                self._retry = self.clock.callLater(action.delay, self._connect)
            elif isinstance(action, Hangup):
                if self._hangup is None:
                    self._hangup = self.clock.callLater(action.after, self._hang_up)
            elif isinstance(action, Exit):
                self.finish(action.code)

    def _cancel(self, name: str) -> None:
        call = getattr(self, name)
        if call is not None and call.active():
            call.cancel()
        setattr(self, name, None)

    def finish(self, code: int) -> None:
        """Stop with exit status C{code} (the first call decides): close both ends."""
        if self._code is not None:
            self._maybe_finished()
            return
        self._code = code
        self._cancel("_retry")
        self._cancel("_hangup")
        if self._attempt is not None:
            attempt, self._attempt = self._attempt, None
            attempt.cancel()
        if self.network is not None:
            self.network.loseConnection()
        if self._stdio_open and self.stdio is not None:
            self._write(self.screen.close())
            self.stdio.loseConnection()  # flushes stdout first
        self._maybe_finished()

    def _maybe_finished(self) -> None:
        if (
            self._code is not None
            and not self._stdio_open
            and self.network is None
            and not self.finished.called
        ):
            self.finished.callback(self._code)


# -- the command -------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of C{netsuite chat}."""
    parser.add_argument("host", metavar="HOST", help="server name or IP address")
    parser.add_argument("port", metavar="PORT", type=port_number, help="the line door's port")
    parser.add_argument("--nick", metavar="NAME", help="send /nick NAME once greeted")
    parser.add_argument(
        "--reconnect",
        action="store_true",
        help="on a lost connection, connect again (1 s, 2 s, 4 s ... at most 30 s apart), "
        "ask for the nick back and join the same rooms",
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=positive_seconds,
        default=DEFAULT_TIMEOUT,
        help="to connect (default %(default)g)",
    )
    tls = parser.add_argument_group("TLS")
    tls.add_argument(
        "--tls", action="store_true", help="TLS; the server's certificate must name HOST"
    )
    add_tls_arguments(tls, "--tls")


def _is_terminal() -> bool:
    try:
        return os.isatty(0) and os.isatty(1)
    except OSError:  # pragma: no cover - closed descriptors
        return False


class _Descriptors:
    """
    What StandardIO changes on stdin and stdout (non-blocking mode, and the terminal's
    cbreak mode when we set it), put back at exit: a shell sharing the terminal must not
    inherit them.
    """

    def __init__(self, cbreak: CbreakMode | None) -> None:
        self.cbreak = cbreak
        self.flags = StdioFlags()

    def restore(self) -> None:
        if self.cbreak is not None:
            self.cbreak.leave()
        self.flags.restore()


async def _chat(
    reactor: Any, args: argparse.Namespace, tls: Any, descriptors: _Descriptors
) -> int:
    from twisted.internet.endpoints import HostnameEndpoint, connectProtocol, wrapClientTLS
    from twisted.internet.stdio import StandardIO

    endpoint: Any = HostnameEndpoint(reactor, args.host, args.port, timeout=args.timeout)
    if tls is not None:
        endpoint = wrapClientTLS(tls, endpoint)
    client = ChatClient(nick=args.nick, reconnect=args.reconnect)
    terminal = descriptors.cbreak is not None
    screen: Screen = TerminalScreen() if terminal else PlainScreen()
    controller = ChatController(
        client,
        reactor,
        lambda protocol: connectProtocol(endpoint, protocol),
        screen,
        args.host,
        args.port,
        args.ca,
    )
    if terminal:
        _redraw_on_continue(reactor, controller, descriptors)
    StandardIO(controller.stdio_protocol(), reactor=reactor)
    controller.start()
    code = await controller.finished
    for line in controller.messages:
        say(PROG, line)
    return code


def _redraw_on_continue(
    reactor: Any, controller: ChatController, descriptors: _Descriptors
) -> None:
    """After Ctrl-Z and C{fg}, the shell may have reset the terminal: set cbreak again."""
    import signal

    def again() -> None:
        if descriptors.cbreak is not None:
            with contextlib.suppress(OSError):
                descriptors.cbreak.enter()
        controller.redraw()

    signal.signal(signal.SIGCONT, lambda signum, frame: reactor.callFromThread(again))


def _validate(args: argparse.Namespace) -> None:
    check_tls_arguments(args, args.tls, "--tls")


def run(args: argparse.Namespace) -> int:
    """Run C{netsuite chat} with parsed C{args}; returns the exit status."""
    _validate(args)
    tls = tls_client_options(PROG, args.host, args) if args.tls else None
    terminal = _is_terminal()
    cbreak = CbreakMode(0) if terminal else None
    descriptors = _Descriptors(cbreak)

    def interrupted() -> int | None:
        descriptors.restore()
        if terminal:
            with contextlib.suppress(OSError):
                os.write(1, b"\r\x1b[K")
        return None

    try:
        if cbreak is not None:
            cbreak.enter()
        return react_command(
            PROG, lambda reactor: _chat(reactor, args, tls, descriptors), interrupted
        )
    finally:
        descriptors.restore()
        sys.stderr.flush()
