"""
SASL on the IRC door (L{netsuite.chat._irc_sasl}), in the sans-IO session, following
ircv3.net/specs/extensions/sasl-3.1 and sasl-3.2: PLAIN and EXTERNAL, each success and
each failure numeric (902-908), registration held, and how an account shows
(account-tag, account-notify, extended-join, WHOIS 330, its nick reserved).
"""

from __future__ import annotations

import base64
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._irc_sasl import CHUNK, RESPONSE_MAX
from netsuite.chat._irc_session import IRCSession
from netsuite.testing import hub_on_clock

from .test_accounts import book
from .test_irc import codes, feed, irc_session, lines

#: sasl-3.1's example: authzid "jilles", authcid "jilles", password "sesame".
JILLES = "amlsbGVzAGppbGxlcwBzZXNhbWU="


def plain(authzid: str, authcid: str, password: str) -> str:
    return base64.b64encode(f"{authzid}\0{authcid}\0{password}".encode()).decode()


class SaslCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.hub, self.clock = hub_on_clock(flood_rate=1000, flood_burst=1000)
        self.waiting: list[tuple[Any, Any]] = []
        self.book = book({"jilles": "sesame", "foo": "bar" * 100})
        self.book.install(self.hub)

    def started(self, nick: str = "jilles", **kw: Any) -> tuple[IRCSession, list[bytes]]:
        """CAP LS 302, NICK, USER, CAP REQ sasl (ACKed): the exchange may begin."""
        session, out, _ = irc_session(self.hub, **kw)
        feed(session, "CAP LS 302", f"NICK {nick}", f"USER {nick} 0 * :Real", "CAP REQ sasl")
        self.assertEqual(lines(out)[-1], ":netsuite CAP * ACK :sasl")
        out.clear()
        return session, out


class PlainTests(SaslCase):
    def test_spec_example(self) -> None:
        """sasl-3.1: AUTHENTICATE PLAIN, +, the response; 900 and 903; then CAP END."""
        session, out = self.started()
        feed(session, "AUTHENTICATE PLAIN")
        self.assertEqual(lines(out), ["AUTHENTICATE +"])
        out.clear()
        feed(session, "AUTHENTICATE " + JILLES)
        self.assertEqual(
            lines(out),
            [
                ":netsuite 900 * jilles!jilles@netsuite jilles :You are now logged in as jilles",
                ":netsuite 903 * :SASL authentication successful",
            ],
        )
        self.assertFalse(session.registered)  # CAP END still to come
        feed(session, "CAP END")
        self.assertTrue(session.registered)
        self.assertEqual((session.nick, session.account), ("jilles", "jilles"))

    def test_no_authzid_and_mechanism_case(self) -> None:
        session, out = self.started("someone")
        feed(session, "AUTHENTICATE plain", "AUTHENTICATE " + plain("", "JILLES", "sesame"))
        self.assertEqual(codes(out), ["900", "903"])
        self.assertEqual(session.account, "jilles")  # the name as configured

    def test_wrong_password_unknown_account_other_authzid(self) -> None:
        """904 for each, alike; the client may try again."""
        session, out = self.started()
        for response in (
            plain("jilles", "jilles", "millet"),
            plain("", "nobody", "sesame"),
            plain("foo", "jilles", "sesame"),  # no one logs in as someone else
            plain("", "", "sesame"),
            base64.b64encode(b"jilles\0sesame").decode(),  # two fields
            base64.b64encode(b"\0jilles\0\xff").decode(),  # not UTF-8
            "not base64!",
        ):
            feed(session, "AUTHENTICATE PLAIN", "AUTHENTICATE " + response)
        self.assertEqual(codes(out), ["904"] * 7)
        self.assertIn(":netsuite 904 * :SASL authentication failed", lines(out))
        self.assertIsNone(session.account)
        feed(session, "AUTHENTICATE PLAIN", "AUTHENTICATE " + JILLES)
        self.assertEqual(codes(out)[-2:], ["900", "903"])

    def test_chunks_of_400(self) -> None:
        """A response over 400 bytes comes in 400-byte chunks; the last shorter."""
        response = plain("foo", "foo", "bar" * 100)
        self.assertGreater(len(response), CHUNK)
        session, out = self.started("foo")
        feed(session, "AUTHENTICATE PLAIN", "AUTHENTICATE " + response[:CHUNK])
        self.assertEqual(lines(out), ["AUTHENTICATE +"])  # waits for the rest
        feed(session, "AUTHENTICATE " + response[CHUNK:])
        self.assertEqual(codes(out), ["900", "903"])

    def test_exactly_400_then_plus(self) -> None:
        password = "bar" * 97
        self.book.install(self.hub)
        self.book.accounts = {**self.book.accounts, **book({"foo": password}).accounts}
        response = plain("foo", "foo", password)
        self.assertEqual(len(response), CHUNK)
        session, out = self.started("foo")
        feed(session, "AUTHENTICATE PLAIN", "AUTHENTICATE " + response)
        self.assertEqual(codes(out), [])  # a full chunk: more may follow
        feed(session, "AUTHENTICATE +")
        self.assertEqual(codes(out), ["900", "903"])

    def test_905_for_a_chunk_over_400(self) -> None:
        session, out = self.started()
        feed(session, "AUTHENTICATE PLAIN", "AUTHENTICATE " + "A" * (CHUNK + 1))
        self.assertEqual(lines(out)[-1], ":netsuite 905 * :SASL message too long")
        feed(session, "AUTHENTICATE " + JILLES)  # the exchange is over: a new mechanism?
        self.assertEqual(codes(out)[-2:], ["908", "904"])

    def test_response_max_at_n_and_n_plus_one(self) -> None:
        """Ten full chunks are taken (4,000 bytes); one byte more gets 905."""
        session, out = self.started()
        feed(session, "AUTHENTICATE PLAIN", *["AUTHENTICATE " + "A" * CHUNK] * 10)
        self.assertEqual(RESPONSE_MAX, 10 * CHUNK)
        self.assertEqual(codes(out), [])
        feed(session, "AUTHENTICATE +")
        self.assertEqual(codes(out), ["904"])  # taken whole, then refused: not PLAIN
        feed(session, "AUTHENTICATE PLAIN", *["AUTHENTICATE " + "A" * CHUNK] * 10)
        feed(session, "AUTHENTICATE A")
        self.assertEqual(codes(out), ["904", "905"])

    def test_906_abort(self) -> None:
        session, out = self.started()
        feed(session, "AUTHENTICATE PLAIN", "AUTHENTICATE *")
        self.assertEqual(lines(out)[-1], ":netsuite 906 * :SASL authentication aborted")
        feed(session, "AUTHENTICATE " + JILLES)  # no exchange now: a mechanism name
        self.assertEqual(codes(out)[-2:], ["908", "904"])

    def test_cap_end_mid_exchange_aborts_and_registers(self) -> None:
        """sasl-3.1: registration completed during an exchange: 906, no account."""
        session, out = self.started("bob")
        feed(session, "AUTHENTICATE PLAIN", "CAP END")
        self.assertEqual(codes(out)[:2], ["906", "001"])
        self.assertTrue(session.registered)
        self.assertIsNone(session.account)

    def test_907_already(self) -> None:
        session, out = self.started()
        feed(session, "AUTHENTICATE PLAIN", "AUTHENTICATE " + JILLES, "AUTHENTICATE PLAIN")
        self.assertEqual(
            lines(out)[-1], ":netsuite 907 * :You have already authenticated using SASL"
        )

    def test_908_unknown_mechanism(self) -> None:
        session, out = self.started()
        feed(session, "AUTHENTICATE SCRAM-SHA-256")
        self.assertEqual(
            lines(out),
            [
                ":netsuite 908 * PLAIN,EXTERNAL :are available SASL mechanisms",
                ":netsuite 904 * :SASL authentication failed",
            ],
        )

    def test_902_certificate_holder_for_another_account(self) -> None:
        """Its nick is its certificate's name: it cannot be another account's member."""
        session, out = self.started()
        session.identity = "alice"
        feed(session, "AUTHENTICATE PLAIN", "AUTHENTICATE " + JILLES)
        self.assertEqual(lines(out)[-1], ":netsuite 902 * :You must use a nick assigned to you")
        self.assertIsNone(session.account)

    def test_needs_the_cap(self) -> None:
        session, out, _ = irc_session(self.hub)
        feed(session, "AUTHENTICATE PLAIN", "AUTHENTICATE")
        self.assertEqual(codes(out), ["904", "461"])

    def test_later_lines_wait_for_the_check(self) -> None:
        """
        The check runs elsewhere (a thread); the lines after it wait and run in order
        once it is answered, as irctest's PING/PONG synchronisation expects.
        """
        self.book.run = lambda work, done: self.waiting.append((work, done))
        session, out = self.started()
        feed(session, "AUTHENTICATE PLAIN", "AUTHENTICATE " + JILLES, "CAP END", "PING :sync")
        self.assertEqual(lines(out), ["AUTHENTICATE +"])
        self.assertFalse(session.registered)
        work, done = self.waiting.pop()
        done(work())
        self.assertEqual(codes(out)[:3], ["900", "903", "001"])
        self.assertEqual(lines(out)[-1], ":netsuite PONG netsuite :sync")
        self.assertTrue(session.registered)

    def test_lines_waiting_at_n_and_n_plus_one(self) -> None:
        """The hub's flood_queue lines may wait for a check; one more closes the link."""
        for extra, closed in ((0, False), (1, True)):
            self.book.run = lambda work, done: self.waiting.append((work, done))
            session, out = self.started()
            feed(session, "AUTHENTICATE PLAIN", "AUTHENTICATE " + JILLES)
            feed(session, *["PING :x"] * (self.hub.flood_queue + extra))
            self.assertEqual(session.closed, closed)
            work, done = self.waiting.pop()
            done(work())
            if closed:
                self.assertIn(
                    f"ERROR :Closing link: Excess Flood ({self.hub.flood_queue} lines queued)",
                    lines(out),
                )
            else:
                pongs = lines(out).count(":netsuite PONG netsuite :x")
                self.assertEqual(pongs, self.hub.flood_queue)

    def test_answer_after_close_is_dropped(self) -> None:
        self.book.run = lambda work, done: self.waiting.append((work, done))
        session, out = self.started()
        feed(session, "AUTHENTICATE PLAIN", "AUTHENTICATE " + JILLES)
        session.closed = True  # the connection is lost meanwhile (as the door does it)
        self.hub.quit(session, "connection lost")
        out.clear()
        work, done = self.waiting.pop()
        done(work())
        self.assertEqual(out, [])
        self.assertIsNone(session.account)

    def test_after_registration(self) -> None:
        """sasl-3.2: SASL after registration; 900 names the registered nick."""
        session, out = self.started("guest")
        feed(session, "CAP END")
        out.clear()
        feed(session, "AUTHENTICATE PLAIN", "AUTHENTICATE " + JILLES)
        self.assertEqual(
            lines(out)[1],
            ":netsuite 900 guest guest!guest@netsuite jilles :You are now logged in as jilles",
        )
        feed(session, "NICK jilles")  # the account's nick is now ours to take
        self.assertEqual(session.nick, "jilles")


class ExternalTests(SaslCase):
    def test_certificate_identity(self) -> None:
        session, out = self.started("alice")
        session.identity = "alice"
        feed(session, "AUTHENTICATE EXTERNAL")
        self.assertEqual(lines(out), ["AUTHENTICATE +"])
        feed(session, "AUTHENTICATE +")
        self.assertEqual(codes(out), ["900", "903"])
        self.assertEqual(session.account, "alice")

    def test_authzid_must_be_the_certificate(self) -> None:
        session, out = self.started("alice")
        session.identity = "alice"
        for authzid in (b"bob", b"Alice"):
            response = base64.b64encode(authzid).decode()
            feed(session, "AUTHENTICATE EXTERNAL", "AUTHENTICATE " + response)
        self.assertEqual(codes(out), ["904", "900", "903"])

    def test_no_certificate(self) -> None:
        session, out = self.started("alice")
        feed(session, "AUTHENTICATE EXTERNAL", "AUTHENTICATE +")
        self.assertEqual(codes(out), ["904"])


class ShownTests(SaslCase):
    """How an account shows to others: its nick held, 330, the tags and ACCOUNT."""

    def logged_in(self, nick: str, *caps: str) -> tuple[IRCSession, list[bytes]]:
        session, out = self.started(nick)
        if caps:
            feed(session, "CAP REQ :" + " ".join(caps))
        feed(session, "AUTHENTICATE PLAIN", "AUTHENTICATE " + JILLES, "CAP END")
        self.assertTrue(session.registered, lines(out))
        out.clear()
        return session, out

    def plain_client(self, nick: str, *caps: str) -> tuple[IRCSession, list[bytes]]:
        session, out, _ = irc_session(self.hub)
        feed(session, "CAP LS 302", f"NICK {nick}", f"USER {nick} 0 * :Real")
        if caps:
            feed(session, "CAP REQ :" + " ".join(caps))
        feed(session, "CAP END")
        self.assertTrue(session.registered, lines(out))
        out.clear()
        return session, out

    def test_nick_reserved_433(self) -> None:
        """As Ergo: a client not logged in gets 433 for an account's nick."""
        session, out, _ = irc_session(self.hub)
        feed(session, "NICK Jilles", "USER j 0 * :J")
        self.assertEqual(
            lines(out), [":netsuite 433 * Jilles :nick Jilles is reserved by a different account"]
        )
        self.assertFalse(session.registered)
        feed(session, "NICK other")
        self.assertTrue(session.registered)
        out.clear()
        feed(session, "NICK jilles")
        self.assertEqual(codes(out), ["433"])

    def test_whois_330(self) -> None:
        self.logged_in("jilles")
        asker, out = self.plain_client("bob")
        feed(asker, "WHOIS jilles")
        self.assertIn(":netsuite 330 bob jilles jilles :is logged in as", lines(out))
        out.clear()
        feed(asker, "WHOIS bob")
        self.assertNotIn("330", codes(out))

    def test_account_tag(self) -> None:
        """account-tag: C{account=} on messages from a logged-in member only."""
        jilles, _ = self.logged_in("jilles")
        bob, bob_out = self.plain_client("bob", "account-tag")
        carol, carol_out = self.plain_client("carol")
        for s in (jilles, bob, carol):
            feed(s, "JOIN #r")
        bob_out.clear()
        carol_out.clear()
        feed(jilles, "PRIVMSG #r :hi")
        feed(carol, "PRIVMSG #r :hello")
        self.assertEqual(
            lines(bob_out),
            [
                "@account=jilles :jilles!jilles@netsuite PRIVMSG #r :hi",
                ":carol!carol@netsuite PRIVMSG #r :hello",
            ],
        )
        self.assertEqual(lines(carol_out), [":jilles!jilles@netsuite PRIVMSG #r :hi"])

    def test_extended_join_account(self) -> None:
        bob, bob_out = self.plain_client("bob", "extended-join")
        feed(bob, "JOIN #r")
        jilles, _ = self.logged_in("jilles")
        bob_out.clear()
        feed(jilles, "JOIN #r")
        self.assertEqual(lines(bob_out)[0], ":jilles!jilles@netsuite JOIN #r jilles :Real")

    def test_account_notify(self) -> None:
        """account-notify: a room-mate with the cap (and the client) see ACCOUNT."""
        guest, guest_out = self.plain_client("guest", "account-notify")
        bob, bob_out = self.plain_client("bob", "account-notify")
        carol, carol_out = self.plain_client("carol")
        far, far_out = self.plain_client("far", "account-notify")
        for s in (guest, bob, carol):
            feed(s, "JOIN #r")
        for out in (guest_out, bob_out, carol_out):
            out.clear()
        feed(guest, "AUTHENTICATE PLAIN")  # no sasl cap yet
        feed(guest, "CAP REQ sasl", "AUTHENTICATE PLAIN", "AUTHENTICATE " + JILLES)
        notice = ":guest!guest@netsuite ACCOUNT jilles"
        self.assertEqual(lines(bob_out), [notice])
        self.assertEqual(lines(guest_out)[-1], notice)
        self.assertEqual(carol_out + far_out, [])

    def test_another_accounts_nick_433(self) -> None:
        """Logged in as jilles, the nick of account foo is still foo's alone."""
        session, out = self.started("foo")
        feed(session, "AUTHENTICATE PLAIN", "AUTHENTICATE " + JILLES, "CAP END")
        self.assertEqual(codes(out)[-1], "433")
        self.assertFalse(session.registered)
        feed(session, "NICK jilles")
        self.assertTrue(session.registered)

    def test_certificate_holder_shows_without_sasl(self) -> None:
        """A certificate holder counts as logged in as its certificate's name."""
        holder, _ = self.plain_client("guest")
        holder.identity = "carol"
        bob, out = self.plain_client("bob", "account-tag", "message-tags")
        feed(bob, "WHOIS guest")
        self.assertIn(":netsuite 330 bob guest carol :is logged in as", lines(out))
        out.clear()
        feed(holder, "@+typing=active TAGMSG bob")
        self.assertEqual(len(lines(out)), 1)
        self.assertTrue(lines(out)[0].startswith("@account=carol;msgid="), lines(out))
        self.assertTrue(lines(out)[0].endswith(";+typing=active :guest!guest@netsuite TAGMSG bob"))
