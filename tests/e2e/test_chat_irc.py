"""
End to end: the real `twistd -n netsuite-chat`, its IRC door and its line door, with real
clients on 127.0.0.1: Twisted's own IRCClient, a raw-socket line client (what nc does),
the suckless `ii` client, `openssl s_client`, and raw sockets for what no polite client
does (silence, HTTP, a wrong PASS).

These are trial test cases that run the reactor (the Twisted IRC clients live on it);
blocking clients run in threads (L{blocking}) so the reactor keeps going while they wait.
Every wait ends when the awaited line arrives (or fails at a deadline); the keepalive
test is timed by the server's own --ping-interval/--ping-timeout. The only polling is of
ii's `out` files, which ii exposes no other way (see L{tests.e2e.ircclients.IIClient}).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from twisted.internet import defer
from twisted.trial.unittest import TestCase

from netsuite.testing import TLSFiles, TwistdProcess, require_tool

from .chatclient import LineClient
from .ircclients import (
    TIMEOUT,
    IIClient,
    OpenSSLClient,
    RawIRC,
    TLSLineClient,
    blocking,
    connect_irc,
    disconnect,
)

TCP = "tcp:0:interface=127.0.0.1"
LOBBY = "#lobby"
#: The server's name (--server-name default): the prefix of its own lines.
SERVER = "netsuite"


def chat_server(*args: str, line: str = TCP, irc: str = TCP) -> TwistdProcess:
    return TwistdProcess("netsuite-chat", ["--listen", line, "--irc-listen", irc, *args], expect=2)


def line_said(client: LineClient, room: str, marker: str, count: int) -> list[tuple[str, str]]:
    """Read C{client}'s lines until C{count} messages to C{room} containing C{marker}
    have come; (sender, text) of each, in the order they arrived."""
    seen: list[tuple[str, str]] = []
    while len(seen) < count:
        line = client.expect(f"[{room}] <")
        sender, _, text = line.split("] <", 1)[1].partition("> ")
        if marker in text:
            seen.append((sender, text))
    return seen


def ii_said(ii: IIClient, room: str, marker: str) -> list[tuple[str, str]]:
    """(sender, text) of each message in ii's window for C{room} containing C{marker}."""
    out = []
    for line in ii.out(room):
        if line.startswith("<") and "> " in line:
            sender, _, text = line[1:].partition("> ")
            if marker in text:
                out.append((sender, text))
    return out


class IRCCase(TestCase):
    """A fresh `twistd -n netsuite-chat` per test, both doors on TCP unless overridden."""

    server_args: Sequence[str] = ("--flood-rate", "1000", "--flood-burst", "1000")
    server: TwistdProcess

    def make_server(self) -> TwistdProcess:
        return chat_server(*self.server_args)

    @defer.inlineCallbacks
    def setUp(self) -> Any:
        self.server = yield blocking(self.make_server().start)
        self.addCleanup(self.stop_server)

    @defer.inlineCallbacks
    def stop_server(self) -> Any:
        # In a thread: the reactor keeps running, so Twisted clients still connected
        # (a failed test) see their connections close instead of leaving it dirty.
        code = yield blocking(self.server.stop)
        self.assertEqual(code, 0, self.server.log())

    @property
    def line_address(self) -> tuple[str, int]:
        return self.server.address(next(k for k in self.server.listeners if "line" in k))

    @property
    def irc_address(self) -> tuple[str, int]:
        return self.server.address(next(k for k in self.server.listeners if "irc" in k))

    def tempdir(self) -> Path:
        path = Path(tempfile.mkdtemp(prefix="netsuite-e2e-"))
        self.addCleanup(shutil.rmtree, path, True)
        return path

    @defer.inlineCallbacks
    def line_client(self, nick: str, factory: Callable[[], LineClient] | None = None) -> Any:
        """A line-door client, renamed to C{nick}, in #lobby (where it starts)."""

        def make() -> LineClient:
            client = factory() if factory is not None else LineClient(self.line_address)
            client.send(f"/nick {nick}")
            client.expect(f"is now known as {nick}")
            return client

        client = yield blocking(make)
        self.addCleanup(client.close)
        return client

    @defer.inlineCallbacks
    def irc_client(self, nick: str, join: str | None = LOBBY, **kwargs: Any) -> Any:
        """Twisted's IRCClient, registered as C{nick} and in C{join} (its 366 came)."""
        client = yield connect_irc(self.irc_address, nick, **kwargs)
        self.addCleanup(disconnect, client)
        if join:
            client.join(join)
            yield client.expect("366", param=join)
        return client

    @defer.inlineCallbacks
    def ii_client(
        self, nick: str, join: str | None = LOBBY, password: str | None = None,
        registered: bool = True,
    ) -> Any:  # fmt: skip
        """The ii client as C{nick}; registered (001 shown) and in C{join} by default."""
        executable = require_tool("ii")
        client = IIClient(executable, self.tempdir(), self.irc_address, nick, password)
        self.addCleanup(blocking, client.quit)

        def ready() -> None:
            if registered:
                client.registered()
            if registered and join:
                client.join(join)

        yield blocking(ready)
        return client


class IRCDoorTests(IRCCase):
    """Both doors, every kind of client, one hub."""

    @defer.inlineCallbacks
    def test_same_messages_same_order_for_every_client(self) -> None:
        """
        A line client, Twisted's IRCClient and ii share #lobby; each sends 5 messages, all
        at once. Everyone sees everyone else's messages, in the same order: the line
        client (which sees its own too, as the hub ordered them) is the reference, and
        each IRC client's view is that order without its own lines (IRC servers do not
        echo them; ii shows its own when it sends them).
        """
        count = 5
        lina = yield self.line_client("lina")
        tom = yield self.irc_client("tom")
        iris = yield self.ii_client("iris")
        # `netsuite chat` shares #lobby with an IRC client in tests/e2e/test_client_chat_irc.py.
        yield blocking(lina.expect, "-> tom joined")
        yield blocking(lina.expect, "-> iris joined")

        iris_lines = [f"order iris {i}" for i in range(count)]
        for i in range(count):
            lina.send(f"order lina {i}")
            tom.say(LOBBY, f"order tom {i}")
        yield blocking(iris.send, LOBBY, *iris_lines)  # in a thread: it may wait for the FIFO

        members = 3
        reference, tom_view, iris_view = yield defer.gatherResults(
            [
                blocking(line_said, lina, LOBBY, "order ", members * count),
                tom.wait_until(
                    lambda: (s := tom.said(LOBBY, "order ")) and len(s) >= 2 * count and s,
                    "the others' 10 messages",
                ),
                blocking(
                    iris.wait,
                    lambda: (s := ii_said(iris, LOBBY, "order ")) and len(s) >= 3 * count and s,
                    "15 messages in #lobby",
                ),
            ],
            consumeErrors=True,
        )
        for nick in ("lina", "tom", "iris"):
            self.assertEqual(
                [text for sender, text in reference if sender == nick],
                [f"order {nick} {i}" for i in range(count)],
            )
        self.assertEqual(tom_view, [m for m in reference if m[0] != "tom"])
        self.assertEqual(
            [m for m in iris_view if m[0] != "iris"], [m for m in reference if m[0] != "iris"]
        )
        self.assertEqual([text for sender, text in iris_view if sender == "iris"], iris_lines)

    @defer.inlineCallbacks
    def test_history_replayed_to_late_irc_joiners(self) -> None:
        """What #lobby said before an IRC client joined is replayed to it, after the
        JOIN's names list (366), in order; ii shows it in the room's window."""
        lina = yield self.line_client("lina")
        for text in ("history one", "history two"):
            lina.send(text)
            yield blocking(lina.expect, f"<lina> {text}")

        late = yield self.irc_client("late")
        said = yield late.wait_until(
            lambda: (s := late.said(LOBBY, "history ")) and len(s) >= 2 and s, "the history"
        )
        self.assertEqual(said, [("lina", "history one"), ("lina", "history two")])
        names_end = late.find("366")
        first = late.find("PRIVMSG", "history one")
        assert names_end is not None and first is not None
        self.assertGreater(first, names_end)
        self.assertEqual(late.messages[first].prefix, f"lina!lina@{SERVER}")

        iris = yield self.ii_client("iris")
        yield blocking(iris.wait_out, "<lina> history two", LOBBY)
        window = iris.out(LOBBY)
        joined = next(i for i, line in enumerate(window) if "iris(" in line)
        one = window.index("<lina> history one")
        self.assertLess(joined, one)
        self.assertLess(one, window.index("<lina> history two"))

    @defer.inlineCallbacks
    def test_private_messages_between_doors(self) -> None:
        """/msg from the line door arrives on IRC as a PRIVMSG to the nick (Twisted's
        client and ii), and an IRC PRIVMSG to a line-door nick arrives as [private]."""
        lina = yield self.line_client("lina")
        tom = yield self.irc_client("tom", join=None)
        iris = yield self.ii_client("iris", join=None)

        lina.send("/msg tom psst, tom")
        message = yield tom.expect("PRIVMSG", "psst, tom")
        self.assertEqual(message.prefix, f"lina!lina@{SERVER}")
        self.assertEqual(message.params, ("tom", "psst, tom"))
        yield blocking(lina.expect, "[private -> tom] psst, tom")

        tom.msg("lina", "hello lina")
        yield blocking(lina.expect, "[private] <tom> hello lina")

        lina.send("/msg iris psst, iris")
        yield blocking(iris.wait_out, "<lina> psst, iris", "lina")

        yield blocking(iris.send, "", "/j lina hello from ii")  # ii: a private message
        yield blocking(lina.expect, "[private] <iris> hello from ii")
        self.assertEqual(tom.said("lina"), [])  # nothing private went astray

    @defer.inlineCallbacks
    def test_nick_taken_on_one_door_is_refused_on_the_other(self) -> None:
        """A line-door nick gets 433 on IRC (registering, or NICK later), whatever the
        case; an IRC nick is refused on the line door; ii gets 433 too."""
        line_bob = yield self.line_client("bob")

        bob = yield self.irc_client("bob", join=None)  # IRCClient retries with bob_ on 433
        self.assertEqual([m.params[:2] for m in bob.collisions], [("*", "bob")])
        self.assertEqual(bob.nickname, "bob_")
        welcome = bob.messages[bob.find("001") or 0]
        self.assertEqual(welcome.params[0], "bob_")

        bob.setNick("BOB")  # registered now: NICK to a taken nick, folded case
        refused = yield bob.expect("433", param="BOB")
        self.assertEqual(refused.params[:2], ("bob_", "BOB"))

        carol = yield self.irc_client("carol")
        for attempt in ("carol", "CaRoL"):
            line_bob.send(f"/nick {attempt}")
            yield blocking(line_bob.expect, f"!! nick {attempt} is taken")
        line_bob.send("still bob")
        message = yield carol.expect("PRIVMSG", "still bob")
        self.assertEqual(message.nick, "bob")

        ii = yield self.ii_client("bob", registered=False)
        yield blocking(ii.wait_out, "Nickname is already in use")
        self.assertNotIn(" 001 ", "\n".join(ii.raw.lines))

    @defer.inlineCallbacks
    def test_http_request_on_irc_port_closed_at_once(self) -> None:
        """
        A browser's GET (or a cross-protocol form POST carrying IRC commands) on the IRC
        port is closed at once with no reply at all; the POST's commands are not run, and
        the members of #lobby see nothing of it and keep talking.
        """
        lina = yield self.line_client("lina")
        tom = yield self.irc_client("tom")
        yield blocking(lina.expect, "-> tom joined")

        requests = [
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
            b"Content-Length: 57\r\n\r\n"
            b"NICK mallory\r\nUSER mallory 0 * :m\r\nJOIN #lobby\r\n",
        ]
        for request in requests:
            raw = yield blocking(RawIRC, self.irc_address)
            self.addCleanup(raw.close)
            raw.sock.sendall(request)
            data, closed, took = yield blocking(raw.read_to_close)
            self.assertTrue(closed, f"still open after {took:.1f}s: {request!r}")
            self.assertEqual(data, b"")  # no HTTP response, no IRC numeric either
            self.assertLess(took, TIMEOUT / 3)

        tom.whois("mallory")
        yield tom.expect("401", param="mallory")  # the POST's NICK/USER/JOIN never ran
        tom.say(LOBBY, "after http")
        # lina's very next line is tom's: no join, quit or error from the HTTP peers.
        line = yield blocking(lina.read_line, time.monotonic() + TIMEOUT)
        self.assertEqual(line, "[#lobby] <tom> after http")
        self.assertEqual(tom.find("JOIN", start=tom.find("366") or 0, param=LOBBY), None)


class IRCFloodTests(IRCCase):
    server_args = ("--flood-rate", "1", "--flood-burst", "10", "--flood-queue", "5")

    @defer.inlineCallbacks
    def test_flood_notice_then_kick(self) -> None:
        """An IRC member flooding #lobby is told by a server NOTICE that its lines are
        queued (fake lag), then, its queue full, cut off with ERROR; the line door sees
        what ran and the quit."""
        lina = yield self.line_client("lina")
        spammer = yield self.irc_client("spammer")
        yield blocking(lina.expect, "-> spammer joined")
        for i in range(20):
            spammer.say(LOBBY, f"spam {i}")
        notice = yield spammer.expect("NOTICE", "slow down: your lines are queued")
        self.assertEqual((notice.prefix, notice.params[0]), (SERVER, "spammer"))
        error = yield spammer.expect("ERROR", "Excess Flood")
        self.assertEqual(error.text, "Closing link: Excess Flood (5 lines queued)")
        yield spammer.lost
        yield blocking(lina.expect, "<spammer> spam 0")
        yield blocking(lina.expect, "<- spammer quit (Excess Flood (5 lines queued))")


class IRCTLSTests(IRCCase):
    """Both doors on nstls: (netsuite's hardened TLS) listeners only."""

    def make_server(self) -> TwistdProcess:
        self.tls = TLSFiles(self.tempdir())
        return chat_server(line=self.tls.nstls(), irc=self.tls.nstls())

    @defer.inlineCallbacks
    def test_line_and_irc_clients_over_tls(self) -> None:
        """A line client over Python's ssl module and Twisted's IRCClient over TLS (both
        verifying the server against the test CA) talk to each other in #lobby."""
        self.assertEqual(sorted(self.server.listeners), ["chat/irc-tls", "chat/line-tls"])
        ca = self.tls.ca_path
        lina = yield self.line_client("lina", lambda: TLSLineClient(self.line_address, ca))
        self.assertIn(lina.sock.version(), ("TLSv1.2", "TLSv1.3"))
        tom = yield self.irc_client("tom", ca_path=ca)
        self.assertTrue(tom.transport.getPeerCertificate())  # really TLS
        yield blocking(lina.expect, "-> tom joined")

        lina.send("hello over tls")
        message = yield tom.expect("PRIVMSG", "hello over tls")
        self.assertEqual(message.nick, "lina")
        tom.say(LOBBY, "hi back over tls")
        yield blocking(lina.expect, "[#lobby] <tom> hi back over tls")

    @defer.inlineCallbacks
    def test_openssl_s_client_registers(self) -> None:
        """`openssl s_client` (verifying the chain and the name) registers on the IRC TLS
        port with NICK/USER, gets 001, and talks to #lobby."""
        openssl = require_tool("openssl")
        lina = yield self.line_client(
            "lina", lambda: TLSLineClient(self.line_address, self.tls.ca_path)
        )
        # -quiet: no session dump; -no_ign_eof (after -quiet, which turns it on): end the
        # session, with a close_notify, when stdin closes; -nocommands: a line starting
        # with Q (QUIT) is sent, not taken as s_client's own "quit" command.
        args = [
            "-CAfile", self.tls.ca_path, "-verify_return_error", "-servername", "localhost",
            "-verify_hostname", "localhost", "-quiet", "-no_ign_eof", "-nocommands",
        ]  # fmt: skip

        def session() -> list[str]:
            client = OpenSSLClient(openssl, self.irc_address, args)
            try:  # all in this thread: s_client and lina are blocking clients
                client.send("NICK sam", "USER sam 0 * :openssl s_client")
                welcome = client.expect(" 001 sam ")
                client.send("JOIN #lobby", "PRIVMSG #lobby :hello from s_client")
                lina.expect("[#lobby] <sam> hello from s_client")
                client.send("QUIT :done")
                client.expect("ERROR :Closing link: done")
                return [welcome, str(client.finish())]
            finally:
                if client.process.poll() is None:
                    client.process.kill()
                    client.process.wait()

        welcome, status = yield blocking(session)
        self.assertEqual(welcome, f":{SERVER} 001 sam :Welcome to the {SERVER} IRC network "
                                  f"sam!sam@{SERVER}")  # fmt: skip
        self.assertEqual(status, "0")
        yield blocking(lina.expect, "<- sam quit (done)")

    @defer.inlineCallbacks
    def test_server_closes_tls_connection_after_quit(self) -> None:
        """
        When a member leaves (IRC QUIT, line /quit) over TLS, the server closes the
        connection, as it does over TCP. (Twisted's TLS transport sends close_notify and
        closes only once no producer is registered: StreamDoor.finish unregisters the
        door's Outbox first.)
        """
        deadline = 3.0  # a healthy server closes within milliseconds
        ca = self.tls.ca_path

        def irc_quit() -> bool:
            client = RawIRC(self.irc_address, timeout=deadline, ca_path=ca)
            try:
                client.register("leaver", "QUIT :bye")
                client.timeout = TIMEOUT
                client.expect("ERROR :Closing link: bye")
                client.timeout = deadline
                return client.closed()
            finally:
                client.close()

        def line_quit() -> bool:
            client = TLSLineClient(self.line_address, ca)
            try:
                client.send("/quit bye")
                client.expect("-!- closing: bye")
                client.timeout = deadline
                return client.closed()
            finally:
                client.close()

        closed = yield defer.gatherResults([blocking(irc_quit), blocking(line_quit)])
        self.assertEqual(closed, [True, True], "[IRC door, line door] closed by the server")


class IRCPasswordTests(IRCCase):
    PASSWORD = "s3cret-pw"
    server_args = ("--password", PASSWORD)

    @defer.inlineCallbacks
    def test_pass_required(self) -> None:
        """With --password, a wrong PASS or none gets 464 and the connection is closed
        (its nick is not kept); the right one registers (Twisted's client, and ii)."""
        for password in ("wrong", None):
            raw = yield blocking(RawIRC, self.irc_address)
            self.addCleanup(raw.close)
            raw.register("eve", password=password)
            data, closed, took = yield blocking(raw.read_to_close)
            self.assertTrue(closed, f"PASS {password}: still open after {took:.1f}s")
            lines = data.decode().splitlines()
            self.assertEqual(
                lines,
                [f":{SERVER} 464 * :Password incorrect", "ERROR :Closing link: Bad password"],
            )

        eve = yield self.irc_client("eve", password=self.PASSWORD)
        self.assertEqual(eve.nickname, "eve")
        self.assertEqual(eve.collisions, [])
        iris = yield self.ii_client("iris", password=self.PASSWORD)
        yield blocking(iris.send, LOBBY, "ii knows the password")
        yield eve.expect("PRIVMSG", "ii knows the password")


class IRCKeepaliveTests(IRCCase):
    server_args = ("--ping-interval", "1", "--ping-timeout", "1")

    @defer.inlineCallbacks
    def test_silent_client_dropped_answering_one_stays(self) -> None:
        """
        With --ping-interval 1 --ping-timeout 1, a registered client that never answers
        the server's PING is dropped with "Ping timeout" (and #lobby sees it quit), while
        Twisted's IRCClient, which answers each PING (and never PINGs on its own), keeps
        being PINGed and stays. Timed by the server's timers only.
        """
        lina = yield self.line_client("lina")
        lively = yield self.irc_client("lively")
        quiet = yield blocking(RawIRC, self.irc_address)
        self.addCleanup(quiet.close)
        quiet.register("quiet", "JOIN #lobby")  # then not one more byte
        yield blocking(lina.expect, "-> quiet joined")

        data, closed, took = yield blocking(quiet.read_to_close)
        pings_then = len([m for m in lively.messages if m.command == "PING"])
        self.assertTrue(closed, f"the silent client was still connected after {took:.1f}s")
        lines = data.decode().splitlines()
        self.assertIn(f"PING :{SERVER}", lines)
        self.assertEqual(lines[-1], "ERROR :Closing link: Ping timeout")
        yield blocking(lina.expect, "<- quiet quit (Ping timeout)")

        # Two more PINGs to the answering client: it outlived the silent one by at least
        # one more full interval and timeout.
        yield lively.wait_until(
            lambda: len([m for m in lively.messages if m.command == "PING"]) >= pings_then + 2,
            "two more PINGs",
        )
        self.assertTrue(lively.connected_now)
        lively.say(LOBBY, "still here")
        yield blocking(lina.expect, "[#lobby] <lively> still here")
        self.assertIsNone(lively.find("ERROR"))
