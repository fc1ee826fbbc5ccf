"""
Accounts and operators (L{netsuite.chat._accounts}): the stored Scrypt hash, its
bounds, the config entries, the check, C{python -m netsuite.chat.hashpw}, the options
and the nick an account reserves on every door.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from contextlib import redirect_stderr, redirect_stdout
from typing import Any

from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat import hashpw
from netsuite.chat._accounts import (
    SCRYPT_N,
    AccountBook,
    account_of,
    hash_password,
    parse_entries,
    parse_hash,
    verify_password,
)
from netsuite.chat._events import ChatError
from netsuite.chat.tap import Options, makeService
from netsuite.testing import hub_on_clock

from .helpers import line_session, text

#: A cheap cost for tests (the default, 2**14, takes ~57 ms a check).
CHEAP = 16


def entry(name: str, password: str) -> str:
    """A C{NAME:HASH} entry at the cheap cost."""
    return f"{name}:{hash_password(password, n=CHEAP)}"


def book(
    accounts: Mapping[str, str] | None = None,
    opers: Mapping[str, str] | None = None,
    run: Callable[..., None] | None = None,
) -> AccountBook:
    """An L{AccountBook} of C{name: password} pairs, hashed cheaply."""
    made = AccountBook(
        parse_entries([entry(k, v) for k, v in (accounts or {}).items()], "--account"),
        parse_entries([entry(k, v) for k, v in (opers or {}).items()], "--irc-oper"),
    )
    if run is not None:
        made.run = run
    return made


class HashTests(SynchronousTestCase):
    def test_round_trip(self) -> None:
        stored = hash_password("sesame", n=CHEAP, salt=b"saltsalt")
        self.assertTrue(stored.startswith(f"scrypt${CHEAP}$8$1$c2FsdHNhbHQ=$"))
        self.assertNotIn("sesame", stored)
        parsed = parse_hash(stored)
        self.assertEqual(str(parsed), stored)
        self.assertTrue(verify_password(parsed, "sesame"))
        self.assertFalse(verify_password(parsed, "millet"))
        self.assertFalse(verify_password(parsed, "sesame "))

    def test_default_cost_and_fresh_salt(self) -> None:
        first, second = hash_password("é" * 100), hash_password("é" * 100)
        self.assertNotEqual(first, second)  # a new salt each time
        self.assertEqual(parse_hash(first).n, SCRYPT_N)
        self.assertTrue(verify_password(parse_hash(first), "é" * 100))

    def test_bounds_at_n_and_n_plus_one(self) -> None:
        """The costs a config may ask: n a power of 2 up to 2**18, r up to 32, p up to 16."""
        good = parse_hash(hash_password("x", n=CHEAP))
        salt, key = str(good).split("$")[4:]
        for n, r, p, ok in [
            (2**18, 8, 1, True), (2**18 + 1, 8, 1, False), (2**19, 8, 1, False),
            (1, 8, 1, False), (2, 1, 1, True), (16, 32, 16, True), (16, 33, 1, False),
            (16, 8, 17, False), (16, 0, 1, False), (16, 8, 0, False),
        ]:  # fmt: skip
            text_ = f"scrypt${n}${r}${p}${salt}${key}"
            if ok:
                self.assertEqual(parse_hash(text_).n, n)
            else:
                self.assertRaises(ValueError, parse_hash, text_)

    def test_malformed(self) -> None:
        for bad in ["", "sesame", "scrypt$16$8$1$salt", "bcrypt$16$8$1$a$b",
                    "scrypt$x$8$1$c2FsdHNhbHQ=$" + "A" * 44,
                    "scrypt$16$8$1$!!!$" + "A" * 44,
                    "scrypt$16$8$1$c2FsdA==$" + "A" * 44,  # a 4-byte salt
                    "scrypt$16$8$1$c2FsdHNhbHQ=$QUFB"]:  # a 3-byte hash  # fmt: skip
            with self.assertRaises(ValueError) as caught:
                parse_hash(bad)
            self.assertNotIn("AAAA", str(caught.exception))


class EntriesTests(SynchronousTestCase):
    def test_parse(self) -> None:
        found = parse_entries([entry("Jilles", "sesame"), entry("bob", "x")], "--account")
        self.assertEqual(sorted(found), ["bob", "jilles"])
        self.assertEqual(found["jilles"][0], "Jilles")

    def test_refusals_name_the_entry_not_the_hash(self) -> None:
        stored = hash_password("x", n=CHEAP)
        for entries, words in [
            (["nocolon"], "expected NAME:HASH"),
            ([":" + stored], "expected NAME:HASH"),
            (["9bad:" + stored], "valid nick"),
            ([f"bob:{stored}", f"BOB:{stored}"], "given twice"),
            (["bob:plaintext"], "'bob': expected scrypt$"),
        ]:
            with self.assertRaises(ValueError) as caught:
                parse_entries(entries, "--account")
            self.assertIn(words, str(caught.exception))
            self.assertIn("--account", str(caught.exception))
            self.assertNotIn(stored.split("$")[-1], str(caught.exception))


class BookTests(SynchronousTestCase):
    def test_check(self) -> None:
        accounts = book({"jilles": "sesame"}, {"operuser": "operpassword"})
        got: list[str | None] = []
        accounts.check("accounts", "JILLES", "sesame", got.append)
        accounts.check("accounts", "jilles", "millet", got.append)
        accounts.check("accounts", "nobody", "sesame", got.append)  # a decoy hash
        accounts.check("opers", "jilles", "sesame", got.append)  # not an operator
        accounts.check("opers", "operuser", "operpassword", got.append)
        self.assertEqual(got, ["jilles", None, None, None, "operuser"])
        self.assertEqual(accounts.account("Jilles"), "jilles")
        self.assertIsNone(accounts.account("bob"))

    def test_deferred_runner(self) -> None:
        """The check runs where the runner says; its answer comes when it is done."""
        waiting: list[tuple[Any, Any]] = []
        accounts = book({"jilles": "sesame"}, run=lambda work, done: waiting.append((work, done)))
        got: list[str | None] = []
        accounts.check("accounts", "jilles", "sesame", got.append)
        self.assertEqual(got, [])
        work, done = waiting.pop()
        done(work())
        self.assertEqual(got, ["jilles"])

    def test_account_of(self) -> None:
        class Someone:
            account: str | None = None
            identity: str | None = None

        one = Someone()
        self.assertIsNone(account_of(one))
        one.identity = "alice"
        self.assertEqual(account_of(one), "alice")
        one.account = "bob"
        self.assertEqual(account_of(one), "bob")
        self.assertIsNone(account_of(object()))


class ReservationTests(SynchronousTestCase):
    """An account's name is a nick only its owner may take, on every door (as Ergo)."""

    def setUp(self) -> None:
        self.hub, _ = hub_on_clock()
        book({"jilles": "sesame"}).install(self.hub)

    def test_line_door_refused(self) -> None:
        session, out, _ = line_session(self.hub, "bob")
        out.clear()
        session.data_received(b"/nick Jilles\r\n")
        self.assertIn("reserved by a different account", text(out))
        self.assertEqual(session.nick, "bob")

    def test_web_page_refused(self) -> None:
        import json

        from netsuite.web._chatws_session import WebChatSession

        sent: list[str] = []
        page = WebChatSession(self.hub, sent.append, lambda code, reason: None)
        page.start()
        page.text_received(json.dumps({"type": "nick", "nick": "jilles"}))
        error = json.loads(sent[-1])
        self.assertEqual(error["type"], "error")
        self.assertIn("reserved by a different account", error["message"])
        self.assertNotEqual(page.nick, "jilles")

    def test_hub_refuses_and_owner_takes_it(self) -> None:
        class Member:
            door = "web"
            nick = ""
            account: str | None = None

            def deliver(self, event: object) -> None:
                pass

            def disconnect(self, reason: str) -> None:
                pass

        guest, owner = Member(), Member()
        with self.assertRaises(ChatError) as caught:
            self.hub.connect(guest, "JILLES")
        self.assertEqual(caught.exception.code, "nick_in_use")
        self.assertIsNone(self.hub.find("jilles"))
        owner.account = "jilles"
        self.assertEqual(self.hub.connect(owner, "Jilles"), "Jilles")
        self.assertNotEqual(self.hub.guest_nick(), "jilles")


class HashpwTests(SynchronousTestCase):
    def run_main(self, args: list[str], stdin: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = hashpw.main(args, io.StringIO(stdin))
        return code, out.getvalue(), err.getvalue()

    def test_entry_for_a_name(self) -> None:
        code, out, _ = self.run_main(["operuser"], "operpassword\n")
        self.assertEqual(code, 0)
        found = parse_entries([out.strip()], "--irc-oper")
        self.assertTrue(verify_password(found["operuser"][1], "operpassword"))

    def test_hash_alone_and_refusals(self) -> None:
        code, out, _ = self.run_main([], "sesame\n")
        self.assertEqual(code, 0)
        self.assertTrue(verify_password(parse_hash(out.strip()), "sesame"))
        self.assertEqual(self.run_main([], "\n")[0], 1)
        self.assertEqual(self.run_main(["9x"], "a\n")[0], 2)
        self.assertEqual(self.run_main(["a", "b"], "a\n")[0], 2)
        self.assertEqual(self.run_main(["--password=x"], "a\n")[0], 2)


class OptionsTests(SynchronousTestCase):
    def test_accounts_and_opers_reach_the_hub(self) -> None:
        options = Options()
        options.parseOptions([
            "--account", entry("jilles", "sesame"), "--account", entry("foo", "bar"),
            "--irc-oper", entry("operuser", "operpassword"),
        ])  # fmt: skip
        service = makeService(options, hub=hub_on_clock()[0])
        hub = service.hub
        self.assertEqual(sorted(hub.accounts.accounts), ["foo", "jilles"])
        self.assertEqual(sorted(hub.accounts.opers), ["operuser"])
        self.assertEqual(sorted(hub.reserved), ["foo", "jilles"])

    def test_none_by_default(self) -> None:
        options = Options()
        options.parseOptions([])
        self.assertEqual((options["account"], options["irc-oper"]), ([], []))
        hub = makeService(options, hub=hub_on_clock()[0]).hub
        self.assertEqual((hub.accounts.accounts, hub.accounts.opers), ({}, {}))

    def test_plain_text_refused(self) -> None:
        for flag in ("--account", "--irc-oper"):
            with self.assertRaises(usage.UsageError) as caught:
                Options().parseOptions([flag, "bob:sesame"])
            self.assertIn(f"{flag} 'bob'", str(caught.exception))

    def test_threaded_runner_calls_back_in_the_reactor(self) -> None:
        """
        The tap's runner hashes in a pool thread (a real one) and answers in the
        reactor thread (C{callFromThread}), never in the pool's.
        """
        import threading

        from twisted.python.threadpool import ThreadPool

        from netsuite.chat._accounts_thread import threaded

        pool = ThreadPool(1, 1, "test-accounts")
        queued: list[Callable[[], object]] = []

        class Reactor:
            def getThreadPool(self) -> ThreadPool:
                return pool

            def callFromThread(self, f: Callable[..., object], *args: object) -> None:
                queued.append(lambda: f(*args))

        where: list[str] = []
        accounts = book({"jilles": "sesame"}, run=threaded(Reactor()))
        got: list[str | None] = []
        pool.start()
        try:
            accounts.run(lambda: where.append(threading.current_thread().name), lambda _: None)
            accounts.check("accounts", "jilles", "sesame", got.append)
        finally:
            pool.stop()  # joins the thread: both checks are done
        self.assertNotEqual(where, [threading.current_thread().name])
        self.assertEqual(got, [])
        for call in queued:
            call()
        self.assertEqual(got, ["jilles"])


class LineLoginTests(SynchronousTestCase):
    """C{/login NAME PASSWORD} on the line door: the account's nick becomes one's own."""

    def setUp(self) -> None:
        self.hub, _ = hub_on_clock(flood_rate=1000, flood_burst=1000)
        self.book = book({"jilles": "sesame"})
        self.book.install(self.hub)

    def test_login_takes_the_nick(self) -> None:
        watcher, watched, _ = line_session(self.hub)
        session, out, _ = line_session(self.hub)
        out.clear()
        watched.clear()
        session.data_received(b"/login JILLES sesame\r\n")
        self.assertIn("-!- logged in as jilles", text(out))
        self.assertEqual((session.nick, session.account), ("jilles", "jilles"))
        self.assertIn("is now known as jilles", text(watched))
        session.data_received(b"/login jilles sesame\r\n")
        self.assertIn("!! you are logged in as jilles already", text(out))

    def test_failures(self) -> None:
        session, out, _ = line_session(self.hub)
        out.clear()
        for line in (b"/login jilles millet", b"/login nobody sesame", b"/login jilles"):
            session.data_received(line + b"\r\n")
        self.assertEqual(
            text(out).splitlines(),
            ["!! login failed", "!! login failed", "!! usage: /login NAME PASSWORD"],
        )
        self.assertIsNone(session.account)

    def test_one_check_at_a_time_and_answer_after_close(self) -> None:
        waiting: list[Any] = []
        self.book.run = lambda work, done: waiting.append((work, done))
        session, out, _ = line_session(self.hub)
        out.clear()
        session.data_received(b"/login jilles sesame\r\n/login jilles sesame\r\n")
        self.assertIn("!! a login is being checked", text(out))
        session.end("gone")
        out.clear()
        work, done = waiting.pop()
        done(work())
        self.assertEqual((out, session.account), ([], None))

    def test_certificate_holder(self) -> None:
        session, out, _ = line_session(self.hub)
        session.identity = "carol"
        out.clear()
        session.data_received(b"/login jilles sesame\r\n")
        self.assertIn("!! your certificate logs you in as carol", text(out))
