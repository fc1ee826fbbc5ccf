"""
IRC clients for end-to-end tests of the chat's IRC door, and the glue to use blocking
clients from trial test cases that run the reactor.

  - L{RecordingIRC}: Twisted's own L{twisted.words.protocols.irc.IRCClient}, recording
    every line it receives; L{connect_irc} connects one (TCP or TLS) and waits for 001.
    Its waits are Deferreds that fire when a line arrives (a timeout fails them).
  - L{RawIRC}: a blocking socket that speaks just enough IRC for what a well-behaved
    client would never do (stay silent, send HTTP, give a wrong PASS).
  - L{TLSLineClient}: L{tests.e2e.chatclient.LineClient} over Python's C{ssl} module.
  - L{IIClient}: the suckless C{ii} client, driven through its FIFOs and read from its
    C{out} files.
  - L{OpenSSLClient}: C{openssl s_client}, read line by line from its stdout.
  - L{IrssiClient}: Debian's irssi in a private tmux server, driven by keystrokes as a
    person would type, read from its own autolog files.
  - L{blocking}: run a blocking call in a daemon thread, as a Deferred, so the reactor
    (and the Twisted clients on it) keep running while a blocking client waits.

Nothing here sleeps: every wait ends when the awaited line arrives, or fails at a
deadline. The exceptions are files only the client writes: ii's C{out} files, which no
other interface exposes (L{IIClient} re-reads them whenever ii prints a raw line to its
stdout, what ii does just before it writes the file, and otherwise every
L{IIClient.POLL} seconds, until a deadline), and irssi's autolog files (L{IrssiClient},
polled the same way: irssi runs in a terminal and has no other output).
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import signal
import socket
import ssl
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from twisted.internet import defer, endpoints, reactor
from twisted.internet.protocol import connectionDone
from twisted.internet.ssl import Certificate, optionsForClientTLS
from twisted.python.failure import Failure
from twisted.words.protocols import irc

from .chatclient import LineClient

__all__ = [
    "IIClient",
    "IrssiClient",
    "Message",
    "OpenSSLClient",
    "RawIRC",
    "RecordingIRC",
    "TLSLineClient",
    "blocking",
    "connect_irc",
    "disconnect",
]

T = TypeVar("T")

#: How long any single wait may take before the test fails (the server answers in
#: milliseconds; this only bounds a test that is going to fail anyway).
TIMEOUT = 15.0


def blocking(f: Callable[..., T], *args: Any, **kwargs: Any) -> defer.Deferred[T]:
    """
    C{f(*args, **kwargs)} in a new daemon thread; a Deferred of its result.

    Blocking clients (raw sockets, subprocesses) wait with their own deadlines, so the
    thread always ends; being a daemon it can never hold up the interpreter's exit, which
    matters under pytest, where no reactor shutdown stops Twisted's thread pool.
    """
    d: defer.Deferred[T] = defer.Deferred()

    def run() -> None:
        try:
            result = f(*args, **kwargs)
        except BaseException:
            failure = Failure()
            reactor.callFromThread(d.errback, failure)  # type: ignore[attr-defined]
        else:
            reactor.callFromThread(d.callback, result)  # type: ignore[attr-defined]

    threading.Thread(target=run, name=f"blocking {getattr(f, '__name__', f)}", daemon=True).start()
    return d


# --- Twisted's IRCClient ---------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One line from the server, parsed by Twisted's C{parsemsg}; numerics stay numbers."""

    prefix: str
    command: str
    params: tuple[str, ...]

    @property
    def nick(self) -> str:
        return self.prefix.split("!", 1)[0]

    @property
    def text(self) -> str:
        return self.params[-1] if self.params else ""

    def __str__(self) -> str:
        return f":{self.prefix} {self.command} {' '.join(self.params)}"


class RecordingIRC(irc.IRCClient):
    """
    Twisted's IRC client, recording what it receives. Its behaviour is IRCClient's own
    but for three things: it never PINGs on its own (heartbeatInterval), a 433 after
    registration is not retried under another nick, and a 464 does not raise.

    C{messages} holds every line from the server, in order. L{expect} waits for the next
    matching one (from a cursor, like L{LineClient.expect}); L{wait_until} waits for any
    condition over C{messages}. Both fail after L{TIMEOUT} seconds, or at once if the
    connection is lost first.

    @ivar signed_on: fires with this client once 001 arrived.
    @ivar lost: fires when the connection is closed, whoever closed it.
    """

    # The server's keepalive is under test, not ours: never PING on our own. Replies to
    # the server's PINGs are IRCClient's own (irc_PING), untouched.
    heartbeatInterval = None

    def __init__(self, nickname: str, password: str | None = None) -> None:
        self.nickname = nickname
        self.username = nickname
        self.realname = f"{nickname} (Twisted IRCClient)"
        self.password = password
        self.messages: list[Message] = []
        self.cursor = 0
        self.collisions: list[Message] = []
        self.connected_now = False
        self.signed_on: defer.Deferred[RecordingIRC] = defer.Deferred()
        self.lost: defer.Deferred[None] = defer.Deferred()
        self._waiters: list[tuple[Callable[[], Any], defer.Deferred[Any], Any]] = []

    # --- recording ------------------------------------------------------------------------

    def connectionMade(self) -> None:
        self.connected_now = True
        super().connectionMade()

    def lineReceived(self, line: bytes | str) -> None:
        text = line.decode("utf-8") if isinstance(line, bytes) else line
        try:
            prefix, command, params = irc.parsemsg(irc.lowDequote(text))
        except irc.IRCBadMessage:
            prefix, command, params = "", "?", [text]
        self.messages.append(Message(prefix or "", command, tuple(params)))
        super().lineReceived(line)
        self._check()

    def signedOn(self) -> None:
        if not self.signed_on.called:
            self.signed_on.callback(self)

    def irc_ERR_NICKNAMEINUSE(self, prefix: str, params: list[str]) -> None:
        """433: recorded; before registration IRCClient's own retry (nick + "_") runs."""
        self.collisions.append(Message(prefix, "433", tuple(params)))
        if not self._registered:
            super().irc_ERR_NICKNAMEINUSE(prefix, params)

    def irc_ERR_PASSWDMISMATCH(self, prefix: str, params: list[str]) -> None:
        """464: recorded (IRCClient's own raises, which would log an error in the test)."""

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.connected_now = False
        super().connectionLost(reason)
        if not self.signed_on.called:
            self.signed_on.errback(
                AssertionError(f"{self.nickname}: closed before 001\n{self.transcript()}")
            )
        self._check()
        self.lost.callback(None)

    # --- waiting ----------------------------------------------------------------------------

    def transcript(self, last: int = 15) -> str:
        return "\n".join(str(m) for m in self.messages[-last:])

    def wait_until(
        self, condition: Callable[[], T | None], what: str = "", timeout: float = TIMEOUT
    ) -> defer.Deferred[T]:
        """
        Fire with C{condition()} as soon as it is true (it is checked now, then after
        each line received); fail after C{timeout} seconds or when the connection ends.
        """
        d: defer.Deferred[T] = defer.Deferred()
        value = condition()
        if value:
            d.callback(value)
            return d
        if not self.connected_now:
            d.errback(AssertionError(f"{self.nickname}: not connected\n" + self.transcript()))
            return d

        def expire() -> None:
            self._drop(d)
            d.errback(
                AssertionError(f"{self.nickname}: {what or condition} never came\n"
                               + self.transcript())
            )  # fmt: skip

        timer = reactor.callLater(timeout, expire)  # type: ignore[attr-defined]
        self._waiters.append((condition, d, timer))
        return d

    def _drop(self, d: defer.Deferred[Any]) -> None:
        self._waiters = [w for w in self._waiters if w[1] is not d]

    def _check(self) -> None:
        for condition, d, timer in list(self._waiters):
            value = condition()
            if value or not self.connected_now:
                self._drop(d)
                timer.cancel()
                if value:
                    d.callback(value)
                else:
                    d.errback(
                        AssertionError(f"{self.nickname}: connection lost while waiting\n"
                                       + self.transcript())
                    )  # fmt: skip

    def find(
        self, command: str, text: str | None = None, start: int = 0, param: str | None = None
    ) -> int | None:
        """Index of the first message from C{start} on with this command (and text)."""
        for i in range(start, len(self.messages)):
            m = self.messages[i]
            if m.command != command:
                continue
            if text is not None and text not in m.text:
                continue
            if param is not None and param not in m.params:
                continue
            return i
        return None

    def expect(
        self, command: str, text: str | None = None, param: str | None = None
    ) -> defer.Deferred[Message]:
        """The next message (from the cursor on) with C{command}, C{text} in its last
        parameter and C{param} among its parameters; the cursor moves past it."""

        def found() -> Message | None:
            i = self.find(command, text, self.cursor, param)
            if i is None:
                return None
            self.cursor = i + 1
            return self.messages[i]

        return self.wait_until(found, f"{command} {param or ''} {text or ''}".strip())

    def said(self, room: str, marker: str = "") -> list[tuple[str, str]]:
        """(sender, text) of every PRIVMSG to C{room} so far whose text has C{marker}."""
        return [
            (m.nick, m.text)
            for m in self.messages
            if m.command == "PRIVMSG" and m.params[0] == room and marker in m.text
        ]


def connect_irc(
    address: tuple[str, int],
    nick: str,
    *,
    password: str | None = None,
    ca_path: str | None = None,
    hostname: str = "localhost",
) -> defer.Deferred[RecordingIRC]:
    """
    Connect a L{RecordingIRC} to C{address} (over TLS, verifying the server against
    C{ca_path} and C{hostname}, when C{ca_path} is given); fire once it is registered.
    """
    host, port = address
    endpoint: Any = endpoints.TCP4ClientEndpoint(reactor, host, port, timeout=TIMEOUT)
    if ca_path is not None:
        trust = Certificate.loadPEM(Path(ca_path).read_bytes())
        endpoint = endpoints.wrapClientTLS(optionsForClientTLS(hostname, trust), endpoint)
    client = RecordingIRC(nick, password)
    d = endpoints.connectProtocol(endpoint, client)
    d.addCallback(lambda _: client.signed_on)
    return d


@defer.inlineCallbacks
def disconnect(client: RecordingIRC) -> Any:
    """
    QUIT, wait for the server's ERROR, then close our side and wait until closed (abort
    if that takes too long). Closing after ERROR, rather than waiting for the server to
    close, keeps this cleanup independent of how the server closes (see the TLS todo
    test in test_chat_irc).
    """
    if not client.connected_now:
        return
    client.quit("bye")
    with contextlib.suppress(AssertionError):  # lost already, or no ERROR: close anyway
        yield client.wait_until(lambda: client.find("ERROR") is not None, "ERROR after QUIT")
    if client.connected_now:
        client.transport.loseConnection()
    timer = reactor.callLater(TIMEOUT, client.transport.abortConnection)  # type: ignore[attr-defined]
    yield client.lost
    if timer.active():
        timer.cancel()


# --- blocking socket clients -----------------------------------------------------------------


class RawIRC(LineClient):
    """A blocking IRC connection with no manners: it says only what the test sends."""

    def __init__(
        self, address: tuple[str, int], timeout: float = TIMEOUT, ca_path: str | None = None
    ) -> None:
        self.sock = socket.create_connection(address, timeout=timeout)
        if ca_path is not None:  # TLS, verifying the server as "localhost"
            context = ssl.create_default_context(cafile=ca_path)
            self.sock = context.wrap_socket(self.sock, server_hostname="localhost")
        self.timeout = timeout
        self.buffer = b""
        self.lines: list[str] = []
        self.nick = ""

    def register(self, nick: str, *extra: str, password: str | None = None) -> None:
        """(PASS,) NICK and USER, then C{extra} lines, in one write."""
        self.nick = nick
        lines = [f"NICK {nick}", f"USER {nick} 0 * :raw socket", *extra]
        if password is not None:
            lines.insert(0, f"PASS {password}")
        self.sock.sendall("".join(line + "\r\n" for line in lines).encode())

    def read_to_close(self) -> tuple[bytes, bool, float]:
        """
        Everything received until the server closes: the bytes, whether it closed (FIN or
        RST) before the timeout, and the seconds it took.
        """
        start = time.monotonic()
        deadline = start + self.timeout
        data = self.buffer
        self.buffer = b""
        closed = False
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            data += chunk
        self.lines += data.decode("utf-8", "replace").splitlines()
        return data, closed, time.monotonic() - start


class TLSLineClient(LineClient):
    """L{LineClient} over TLS with Python's C{ssl} module, verifying the server."""

    def __init__(
        self,
        address: tuple[str, int],
        ca_path: str,
        hostname: str = "localhost",
        timeout: float = TIMEOUT,
    ) -> None:
        context = ssl.create_default_context(cafile=ca_path)
        raw = socket.create_connection(address, timeout=timeout)
        self.sock = context.wrap_socket(raw, server_hostname=hostname)
        self.timeout = timeout
        self.buffer = b""
        self.lines: list[str] = []
        self.nick = self.expect("welcome to").split(", ")[1].split(".")[0]


# --- external programs -----------------------------------------------------------------------


class PipeReader:
    """
    A subprocess's output, read by a daemon thread into C{lines}; waiters are woken as
    each line arrives (so the pipe never fills and blocks the program).
    """

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self.eof = False
        self.changed = threading.Condition()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: Any) -> None:
        for raw in stream:
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            with self.changed:
                self.lines.append(text)
                self.changed.notify_all()
        with self.changed:
            self.eof = True
            self.changed.notify_all()

    def wait(self, condition: Callable[[], T | None], deadline: float, poll: float) -> T | None:
        """
        C{condition()} once true, or None at C{deadline}. It is re-checked when a line
        arrives, at EOF, and at least every C{poll} seconds (for conditions on files).
        """
        while True:
            with self.changed:
                seen = len(self.lines)
            value = condition()
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            with self.changed:
                if len(self.lines) != seen:
                    continue  # a line came while the condition was evaluated
                if self.eof:  # nothing more will come (the program exited)
                    return condition() or None
                self.changed.wait(min(left, poll))

    def expect(self, needle: str, start: int = 0, timeout: float = TIMEOUT) -> int:
        """Index of the first line from C{start} on containing C{needle}."""

        def found() -> int | None:
            for i in range(start, len(self.lines)):
                if needle in self.lines[i]:
                    return i + 1  # truthy even for line 0
            return None

        index = self.wait(found, time.monotonic() + timeout, timeout)
        if index is None:
            raise AssertionError(f"{needle!r} never came:\n" + "\n".join(self.lines[-15:]))
        return index - 1


class IIClient:
    """
    The C{ii} IRC client (suckless), in its own directory tree under C{root}.

    ii takes input from FIFOs (C{<root>/<host>/in} for the server, C{.../#room/in} for a
    room) and writes what it shows to C{out} files beside them; its stdout carries the
    raw lines from the server. One writer is kept open per FIFO for ii's whole life, so
    ii never sees EOF on them (ii reopens a FIFO at EOF, and a line written in that
    window would be lost).

    C{out} files can only be polled: a wait re-reads them when ii prints a raw line
    (which it does just before writing the file) and every L{POLL} seconds, up to a
    deadline (L{TIMEOUT}).
    """

    POLL = 0.02

    def __init__(
        self,
        executable: str,
        root: Path,
        address: tuple[str, int],
        nick: str,
        password: str | None = None,
    ) -> None:
        host, port = address
        self.nick = nick
        self.root = Path(root)
        self.dir = self.root / host
        env = dict(os.environ)
        command = [executable, "-s", host, "-p", str(port), "-i", str(self.root), "-n", nick]
        if password is not None:
            env["II_TEST_PASSWORD"] = password  # ii -k reads the password from the environment
            command += ["-k", "II_TEST_PASSWORD"]
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        self.raw = PipeReader(self.process.stdout)
        self._writers: dict[str, int] = {}

    # --- files ------------------------------------------------------------------------------

    def _dir(self, channel: str) -> Path:
        # ii's channel_normalize_path: lower case; anything but letters, digits, .#&+!- -> _
        name = "".join(c.lower() if c.isalnum() or c in ".#&+!-" else "_" for c in channel)
        return self.dir / name if name else self.dir

    def out(self, channel: str = "") -> list[str]:
        """The complete lines of a C{out} file, without ii's timestamps."""
        try:
            data = (self._dir(channel) / "out").read_text("utf-8", "replace")
        except FileNotFoundError:
            return []
        lines = data.split("\n")[:-1]  # the last piece is empty or still being written
        return [line.split(" ", 1)[1] if " " in line else "" for line in lines]

    def wait(self, condition: Callable[[], T | None], what: str, timeout: float = TIMEOUT) -> T:
        value = self.raw.wait(condition, time.monotonic() + timeout, self.POLL)
        if not value:
            raise AssertionError(
                f"ii {self.nick}: {what} never came (exit status {self.process.poll()})\n"
                "stdout:\n" + "\n".join(self.raw.lines[-15:])
            )
        return value

    def wait_out(self, needle: str, channel: str = "", timeout: float = TIMEOUT) -> str:
        """The first line of C{channel}'s out file containing C{needle}."""

        def found() -> str | None:
            return next((line for line in self.out(channel) if needle in line), None)

        where = channel or "the server window"
        return self.wait(found, f"{needle!r} in {where}", timeout)

    # --- input ------------------------------------------------------------------------------

    def send(self, channel: str, *lines: str) -> None:
        """Write C{lines} to C{channel}'s FIFO ("" is the server's), once ii reads it."""
        fd = self._writers.get(channel)
        if fd is None:
            path = self._dir(channel) / "in"

            def opened() -> int | None:
                try:
                    if not stat.S_ISFIFO(path.stat().st_mode):
                        return None
                    return os.open(path, os.O_WRONLY | os.O_NONBLOCK) + 1  # truthy
                except FileNotFoundError:
                    return None
                except OSError as e:  # ENXIO: ii has not opened it for reading yet
                    if e.errno != errno.ENXIO:
                        raise
                    return None

            fd = self.wait(opened, f"the FIFO {path}") - 1
            os.set_blocking(fd, True)
            self._writers[channel] = fd
        data = "".join(line + "\n" for line in lines).encode()
        os.write(fd, data)  # ii reads a line at a time; each write stays under PIPE_BUF

    def registered(self) -> None:
        self.wait_out("Welcome to")

    def join(self, room: str) -> None:
        """/j ROOM, then wait until ii shows our own JOIN in the room's window."""
        self.send("", f"/j {room}")
        self.wait_out(f"-!- {self.nick}(", room)

    def quit(self) -> int:
        """/q, then wait for ii to exit (SIGTERM it if it does not); its exit status."""
        if self.process.poll() is None:
            with contextlib.suppress(OSError, AssertionError):
                self.send("", "/q")
        try:
            code = self.process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGTERM)
            code = self.process.wait()
        for fd in self._writers.values():
            os.close(fd)
        self._writers.clear()
        return code


class OpenSSLClient:
    """C{openssl s_client} as a line client: write to its stdin, read its stdout."""

    def __init__(self, executable: str, address: tuple[str, int], args: Sequence[str]) -> None:
        host, port = address
        self.process = subprocess.Popen(
            [executable, "s_client", "-connect", f"{host}:{port}", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.out = PipeReader(self.process.stdout)
        self.seen = 0

    def send(self, *lines: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("".join(line + "\r\n" for line in lines).encode())
        self.process.stdin.flush()

    def expect(self, needle: str) -> str:
        i = self.out.expect(needle, self.seen)
        self.seen = i + 1
        return self.out.lines[i]

    def finish(self) -> int:
        """Close stdin and wait for the exit (SIGTERM after the timeout); its status."""
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            return self.process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGTERM)
            return self.process.wait()


class IrssiClient:
    """
    irssi (Debian's C{/usr/bin/irssi}) in a private tmux server (its own socket under
    C{root}, so no other tmux is touched), with its own C{--home}: a config that connects
    to C{address}, and autolog on, so what irssi shows in each window is also written to
    C{<root>/logs/<window>.log}, the one output a test can read. Input is typed into the
    tmux pane (L{type}), as a person would. The pane's output is piped into a FIFO the
    test waits on (select), so a wait for a log line wakes when irssi draws something,
    not on a timer.

    C{autojoin} is a room irssi joins once connected (its channel list, as a person
    configures it); C{settings} are extra irssi settings (C{section: {name: value}}).
    """

    #: Longest wait between two looks at the log when irssi draws nothing (a bound on
    #: the wait, not a polling period: the FIFO wakes the wait first).
    QUIET = 1.0

    def __init__(
        self,
        executable: str,
        tmux: str,
        root: Path,
        address: tuple[str, int],
        nick: str,
        autojoin: str = "",
        settings: dict[str, dict[str, str]] | None = None,
    ) -> None:
        host, port = address
        self.nick = nick
        self.tmux = tmux
        self.root = Path(root)
        self.logs = self.root / "logs"
        home = self.root / "home"
        home.mkdir(parents=True)
        self.logs.mkdir()
        sections: dict[str, dict[str, str]] = {
            "core": {"real_name": "Irssi Example", "user_name": nick, "nick": nick,
                     "settings_autosave": "no"},
            "fe-common/core": {"autolog": "yes", "autolog_level": "all",
                               "autolog_path": f"{self.logs}/$0.log"},
        }  # fmt: skip
        for section, values in (settings or {}).items():
            sections.setdefault(section, {}).update(values)
        body = "\n".join(
            f'  "{section}" = {{ ' + " ".join(f'{k} = "{v}";' for k, v in values.items()) + " };"
            for section, values in sections.items()
        )
        (home / "config").write_text(
            f'servers = ( {{ address = "{host}"; port = "{port}"; chatnet = "test"; '
            'autoconnect = "yes"; use_tls = "no"; } );\n'
            'chatnets = { test = { type = "IRC"; }; };\n'
            + (
                f'channels = ( {{ name = "{autojoin}"; chatnet = "test"; autojoin = "yes"; }} );\n'
                if autojoin
                else ""
            )
            + f"settings = {{\n{body}\n}};\n"
        )
        self.socket = str(self.root / "tmux.sock")
        screen = self.root / "screen.fifo"
        os.mkfifo(screen)
        # Reading and writing ends both ours: the open does not wait, select waits for data.
        self._screen = os.open(screen, os.O_RDWR | os.O_NONBLOCK)
        self._tmux(
            "new-session", "-d", "-s", "irssi", "-x", "160", "-y", "50",
            f"{executable} --home={home}",
        )  # fmt: skip
        self._tmux("pipe-pane", "-t", "irssi", f"cat >> {screen}")

    def _tmux(self, *args: str) -> str:
        return subprocess.run(
            [self.tmux, "-S", self.socket, *args], check=True, capture_output=True, text=True,
            timeout=TIMEOUT,
        ).stdout  # fmt: skip

    def screen(self) -> str:
        """What the terminal shows now (for failure messages)."""
        try:
            return self._tmux("capture-pane", "-p")
        except (subprocess.SubprocessError, OSError) as e:
            return f"(no screen: {e})"

    def type(self, text: str) -> None:
        """Type C{text} and press Enter."""
        self._tmux("send-keys", "-l", text)
        self._tmux("send-keys", "Enter")

    def log(self, window: str) -> list[str]:
        """The lines irssi logged for C{window} (a room, or a nick), without timestamps."""
        try:
            data = (self.logs / f"{window.lower()}.log").read_text("utf-8", "replace")
        except FileNotFoundError:
            return []
        lines = data.split("\n")[:-1]
        return [line.split(" ", 1)[1] if " " in line else "" for line in lines]

    def wait_log(self, window: str, needle: str, timeout: float = TIMEOUT) -> str:
        """The first line of C{window}'s log containing C{needle}, polled to a deadline."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((line for line in self.log(window) if needle in line), None)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"irssi {self.nick}: {needle!r} never came in {window}\n"
                    + "\n".join(self.log(window)[-15:])
                    + "\nscreen:\n"
                    + self.screen()
                )
            # Wake when irssi draws (it logs what it shows), or after QUIET at most.
            left = min(self.QUIET, deadline - time.monotonic())
            if select.select([self._screen], [], [], max(0.0, left))[0]:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._screen, 1 << 16)

    def quit(self) -> None:
        """/quit, then end the private tmux server (only ours: its own socket)."""
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.type("/quit")
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._tmux("kill-server")
        with contextlib.suppress(OSError):
            os.close(self._screen)
