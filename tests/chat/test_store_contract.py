"""
One contract for the backbone's two stores: L{StoreContract} runs the same tests on the
in-memory twin (L{MemoryStore} on a L{Clock}) and on L{RedisStore} against a real
C{redis-server} (started per test on a free loopback port, persistence off).

Each concrete class says how time passes and how the server fails: the memory store by
its clock and its C{down}/C{restart}, Redis by waiting on the real reactor (leases of a
few milliseconds, watched until the key is gone, with a deadline) and by killing and
restarting the server process.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

from twisted.internet import reactor as global_reactor
from twisted.internet.defer import Deferred, inlineCallbacks, succeed
from twisted.internet.task import Clock, deferLater
from twisted.trial.unittest import SynchronousTestCase, TestCase

from netsuite.chat._redis_store import BackboneAddress, RedisStore, parse_url
from netsuite.chat._store import RoomSnapshot, StoreError
from netsuite.testing import TLSFiles
from netsuite.testing.chatstore import MemoryStore
from netsuite.testing.redisserver import RedisServer
from netsuite.tls import client_tls_options

reactor: Any = global_reactor
#: How long a condition may take to come true against the real server.
DEADLINE = 10.0

Gen = Generator[Any, Any, None]


class StoreContract:
    """The tests; a concrete class sets C{self.store} up and says how time and faults go."""

    store: Any
    prefix = "ns:"

    # -- what each concrete class provides ------------------------------------------

    def lapse(self, seconds: float) -> Deferred[None]:
        """Let C{seconds} pass for the store."""
        raise NotImplementedError

    def expire(self, proc: str) -> Deferred[None]:
        """C{proc} had a lease, and it has run out."""
        raise NotImplementedError

    def server_down(self) -> None:
        raise NotImplementedError

    def server_up(self) -> None:
        raise NotImplementedError

    def server_restart(self) -> None:
        raise NotImplementedError

    # -- helpers ----------------------------------------------------------------

    def assertStoreError(self, d: Deferred[Any]) -> Deferred[None]:
        case: Any = self
        return case.assertFailure(d, StoreError)

    @inlineCallbacks
    def append_many(
        self, stream: str, n: int, maxlen: int = 1000
    ) -> Generator[Any, Any, list[str]]:
        ids = []
        for i in range(n):
            ids.append((yield self.store.append(stream, {"i": str(i)}, maxlen)))
        return ids

    # -- streams ----------------------------------------------------------------

    @inlineCallbacks
    def test_append_and_tail(self) -> Gen:
        """Ids grow strictly; the tail is the newest entries, oldest first, fields kept."""
        case: Any = self
        ids = yield self.append_many("ns:room:#a", 5)
        case.assertEqual(sorted(ids, key=lambda i: tuple(map(int, i.split("-")))), ids)
        case.assertEqual(len(set(ids)), 5)
        tail = yield self.store.tail("ns:room:#a", 3)
        case.assertEqual(tail, [(ids[i], {"i": str(i)}) for i in (2, 3, 4)])
        everything = yield self.store.tail("ns:room:#a", 100)
        case.assertEqual([e[0] for e in everything], ids)
        case.assertEqual((yield self.store.tail("ns:room:#none", 5)), [])

    @inlineCallbacks
    def test_utf8_fields(self) -> Gen:
        """Values are text, not numbers or bytes ("42" stays "42")."""
        case: Any = self
        fields = {"t": "héllo ☃", "n": "42", "e": ""}
        entry_id = yield self.store.append("ns:room:#u", fields, 10)
        case.assertEqual((yield self.store.tail("ns:room:#u", 1)), [(entry_id, fields)])

    def test_append_needs_fields(self) -> Deferred[None]:
        """XADD takes at least one field."""
        return self.assertStoreError(self.store.append("ns:room:#a", {}, 10))

    @inlineCallbacks
    def test_maxlen(self) -> Gen:
        """C{MAXLEN ~}: at least C{maxlen} newest entries stay, and the stream is trimmed."""
        case: Any = self
        ids = yield self.append_many("ns:room:#m", 300, maxlen=10)
        kept = yield self.store.tail("ns:room:#m", 1000)
        case.assertGreaterEqual(len(kept), 10)
        case.assertLess(len(kept), 300)
        case.assertEqual([e[0] for e in kept], ids[-len(kept) :])

    @inlineCallbacks
    def test_read_from_start(self) -> Gen:
        """C{0-0} reads a stream from its start; each stream's entries in order, COUNT each."""
        case: Any = self
        a = yield self.append_many("ns:room:#a", 3)
        b = yield self.append_many("ns:inbox:p1", 2)
        got = yield self.store.read({"ns:room:#a": "0-0", "ns:inbox:p1": "0-0"}, 0, 10)
        case.assertEqual(
            [(s, e[0]) for s, e in got if s == "ns:room:#a"], [("ns:room:#a", i) for i in a]
        )
        case.assertEqual([e[0] for s, e in got if s == "ns:inbox:p1"], b)
        case.assertEqual(len(got), 5)
        got = yield self.store.read({"ns:room:#a": a[0], "ns:room:#none": "0-0"}, 0, 1)
        case.assertEqual(got, [("ns:room:#a", (a[1], {"i": "1"}))])
        case.assertEqual((yield self.store.read({"ns:room:#a": a[2]}, 0, 10)), [])

    @inlineCallbacks
    def test_read_dollar(self) -> Gen:
        """C{$} is the stream's end when the read starts."""
        case: Any = self
        yield self.append_many("ns:room:#a", 2)
        case.assertEqual((yield self.store.read({"ns:room:#a": "$"}, 0, 10)), [])

    @inlineCallbacks
    def test_read_blocks_until_append(self) -> Gen:
        """A blocked read returns as soon as an entry comes to one of its streams."""
        case: Any = self
        reading = self.store.read({"ns:inbox:p1": "0-0", "ns:room:#a": "0-0"}, 30, 10)
        case.assertFalse(reading.called)
        entry_id = yield self.store.append("ns:room:#a", {"w": "1"}, 10)
        got = yield reading
        case.assertEqual(got, [("ns:room:#a", (entry_id, {"w": "1"}))])

    @inlineCallbacks
    def test_read_block_runs_out(self) -> Gen:
        """A blocked read that nothing wakes fires with [] after C{block} seconds."""
        case: Any = self
        reading = self.store.read({"ns:inbox:p1": "0-0"}, 0.2, 10)
        yield self.store.append("ns:inbox:p2", {"w": "1"}, 10)
        case.assertFalse(reading.called)
        yield self.lapse(0.3)
        case.assertEqual((yield reading), [])

    # -- leases and claims --------------------------------------------------------

    @inlineCallbacks
    def test_claim(self) -> Gen:
        """Free: taken; own: kept (respelt); held by a live process: refused."""
        case: Any = self
        yield self.store.lease("p1", 30)
        yield self.store.lease("p2", 30)
        case.assertTrue((yield self.store.claim("p1", "alice", "Alice")))
        case.assertTrue((yield self.store.claim("p1", "alice", "ALICE")))
        case.assertFalse((yield self.store.claim("p2", "alice", "alice")))
        snap = yield self.store.snapshot()
        case.assertEqual(dict(snap.nicks), {"alice": ("p1", "ALICE")})
        presence = yield self.store.tail("ns:presence", 10)
        case.assertEqual(
            [f for _, f in presence],
            [
                {"op": "claim", "proc": "p1", "folded": "alice", "nick": "Alice"},
                {"op": "claim", "proc": "p1", "folded": "alice", "nick": "ALICE"},
            ],
        )

    @inlineCallbacks
    def test_claim_from_dead_holder(self) -> Gen:
        """A holder whose lease ran out loses the nick to the next claim."""
        case: Any = self
        yield self.store.lease("p2", 30)
        yield self.store.claim("p1", "bob", "bob")
        yield self.expire("p1")
        case.assertTrue((yield self.store.claim("p2", "bob", "Bob")))
        snap = yield self.store.snapshot()
        case.assertEqual(dict(snap.nicks), {"bob": ("p2", "Bob")})

    @inlineCallbacks
    def test_release(self) -> Gen:
        """Only the holder releases; the release is announced."""
        case: Any = self
        yield self.store.lease("p1", 30)
        yield self.store.lease("p2", 30)
        yield self.store.claim("p1", "carol", "carol")
        yield self.store.release("p2", "carol")
        case.assertEqual(dict((yield self.store.snapshot()).nicks), {"carol": ("p1", "carol")})
        yield self.store.release("p1", "carol")
        case.assertEqual(dict((yield self.store.snapshot()).nicks), {})
        case.assertTrue((yield self.store.claim("p2", "carol", "Carol")))
        presence = yield self.store.tail("ns:presence", 10)
        case.assertEqual([f["op"] for _, f in presence], ["claim", "release", "claim"])
        case.assertEqual(presence[1][1], {"op": "release", "proc": "p1", "folded": "carol"})

    @inlineCallbacks
    def test_snapshot(self) -> Gen:
        """Live claims, the dead processes (by claim or membership), the rooms as written."""
        case: Any = self
        yield self.store.lease("live", 30)
        yield self.store.claim("live", "ann", "Ann")
        yield self.store.claim("gone", "ben", "Ben")
        yield self.store.add_member("#Lobby", "live", "line", "Ann")
        yield self.store.add_member("#Lobby", "ghost", "irc", "Cy")
        yield self.store.add_member("#Other", "live", "irc", "Ann")
        yield self.expire("gone")
        yield self.expire("ghost")
        snap = yield self.store.snapshot()
        case.assertEqual(dict(snap.nicks), {"ann": ("live", "Ann")})
        case.assertEqual(snap.dead, frozenset({"gone", "ghost"}))
        case.assertEqual(snap.rooms, ("#Lobby", "#Other"))  # sorted
        # What a listing shows of rooms no local member is in: only the living count.
        yield self.store.set_topic("#lobby", "hi", "Ann")
        listing = (yield self.store.snapshot()).listing
        case.assertEqual(
            {r: (v.members, v.topic) for r, v in listing.items()},
            {"#Lobby": (1, "hi"), "#Other": (1, "")},
        )
        case.assertGreater(listing["#Lobby"].created, 0)

    # -- rooms ------------------------------------------------------------------

    @inlineCallbacks
    def test_rooms(self) -> Gen:
        """Members, topic and creation; names folded or not; the first spelling stays."""
        case: Any = self
        yield self.store.add_member("#Lobby", "p1", "line", "Ann")
        yield self.store.add_member("#LOBBY", "p2", "irc", "Ben")
        yield self.store.set_topic("#lobby", "hello ☃", "Ann")
        yield self.store.set_modes("#LOBBY", '{"f":"nt","o":["ann"]}')
        room = yield self.store.room("#lobby")
        case.assertIsInstance(room, RoomSnapshot)
        case.assertEqual(room.modes, '{"f":"nt","o":["ann"]}')
        case.assertEqual(
            (room.name, room.topic, room.topic_by, dict(room.members)),
            (
                "#Lobby",
                "hello ☃",
                "Ann",
                {"ann": ("p1", "line", "Ann"), "ben": ("p2", "irc", "Ben")},
            ),
        )
        case.assertGreater(room.created, 0)
        case.assertEqual((yield self.store.snapshot()).rooms, ("#Lobby",))
        yield self.store.remove_member("#LOBBY", "ann")
        case.assertEqual(
            dict((yield self.store.room("#Lobby")).members), {"ben": ("p2", "irc", "Ben")}
        )
        yield self.store.remove_member("#lobby", "ben")
        empty = yield self.store.room("#lobby")
        case.assertEqual(
            (empty.topic, empty.created, empty.modes, dict(empty.members)), ("", 0.0, "", {})
        )
        case.assertEqual((yield self.store.snapshot()).rooms, ())
        yield self.store.add_member("#lobby", "p1", "line", "Ann")
        case.assertEqual((yield self.store.snapshot()).rooms, ("#lobby",))

    @inlineCallbacks
    def test_unknown_room(self) -> Gen:
        case: Any = self
        room = yield self.store.room("#nowhere")
        case.assertEqual(room, RoomSnapshot(name="#nowhere"))

    # -- reaping ----------------------------------------------------------------

    @inlineCallbacks
    def test_reap_once(self) -> Gen:
        """A dead process's claims and memberships go once; the second reaper gets []."""
        case: Any = self
        yield self.store.lease("live", 30)
        yield self.store.claim("dead", "dan", "Dan")
        yield self.store.claim("live", "eve", "Eve")
        yield self.store.add_member("#A", "dead", "line", "Dan")
        yield self.store.add_member("#A", "live", "line", "Eve")
        yield self.store.add_member("#B", "dead", "irc", "Dan")
        yield self.expire("dead")
        removed = yield self.store.reap("dead")
        case.assertEqual(sorted(removed), [("#A", "Dan"), ("#B", "Dan")])
        case.assertEqual((yield self.store.reap("dead")), [])
        snap = yield self.store.snapshot()
        case.assertEqual(
            (dict(snap.nicks), snap.dead, snap.rooms),
            ({"eve": ("live", "Eve")}, frozenset(), ("#A",)),
        )
        case.assertEqual(list((yield self.store.room("#a")).members), ["eve"])
        presence = yield self.store.tail("ns:presence", 1)
        case.assertEqual(presence[0][1], {"op": "release", "proc": "dead", "folded": "dan"})

    @inlineCallbacks
    def test_live_not_reaped(self) -> Gen:
        case: Any = self
        yield self.store.lease("live", 30)
        yield self.store.claim("live", "fay", "Fay")
        yield self.store.add_member("#A", "live", "line", "Fay")
        case.assertEqual((yield self.store.reap("live")), [])
        case.assertEqual(dict((yield self.store.snapshot()).nicks), {"fay": ("live", "Fay")})
        case.assertEqual(list((yield self.store.room("#A")).members), ["fay"])

    # -- the server ---------------------------------------------------------------

    @inlineCallbacks
    def test_run_id(self) -> Gen:
        """The run id stays across reconnects and changes when the server restarts."""
        case: Any = self
        first = yield self.store.connect()
        case.assertTrue(first)
        case.assertEqual((yield self.store.connect()), first)
        yield self.store.append("ns:room:#a", {"x": "1"}, 10)
        self.server_restart()
        second = yield self.store.connect()
        case.assertNotEqual(second, first)
        case.assertEqual((yield self.store.tail("ns:room:#a", 10)), [])

    @inlineCallbacks
    def test_down(self) -> Gen:
        """With the server gone, every request fails with StoreError (no hang); then back."""
        blocked = self.store.read({"ns:inbox:p1": "0-0"}, 30, 10)
        self.server_down()
        yield self.assertStoreError(blocked)
        yield self.assertStoreError(self.store.connect())
        for request in self.every_request():
            yield self.assertStoreError(request())
        self.server_up()
        yield self.store.connect()
        yield self.store.append("ns:room:#a", {"x": "1"}, 10)

    @inlineCallbacks
    def test_close(self) -> Gen:
        """Closing fails a blocked read and every later request, until connect()."""
        blocked = self.store.read({"ns:inbox:p1": "0-0"}, 30, 10)
        yield self.store.close()
        yield self.assertStoreError(blocked)
        for request in self.every_request():
            yield self.assertStoreError(request())
        yield self.store.connect()
        yield self.store.lease("p1", 1)

    def every_request(self) -> list[Any]:
        s = self.store
        return [
            lambda: s.append("ns:room:#a", {"x": "1"}, 10),
            lambda: s.tail("ns:room:#a", 10),
            lambda: s.read({"ns:room:#a": "0-0"}, 0, 10),
            lambda: s.read({"ns:room:#a": "0-0"}, 1, 10),
            lambda: s.lease("p1", 10),
            lambda: s.claim("p1", "a", "a"),
            lambda: s.release("p1", "a"),
            lambda: s.snapshot(),
            lambda: s.room("#a"),
            lambda: s.add_member("#a", "p1", "line", "a"),
            lambda: s.remove_member("#a", "a"),
            lambda: s.set_topic("#a", "t", "a"),
            lambda: s.reap("p1"),
        ]


class MemoryStoreTests(StoreContract, TestCase):
    """The contract on the in-memory twin, on a clock."""

    def setUp(self) -> Deferred[str]:
        self.clock = Clock()
        self.clock.advance(1_700_000_000)
        self.store = MemoryStore(self.clock)
        return self.store.connect()

    def lapse(self, seconds: float) -> Deferred[None]:
        self.clock.advance(seconds)
        return succeed(None)

    @inlineCallbacks
    def expire(self, proc: str) -> Gen:
        yield self.store.lease(proc, 1)
        self.clock.advance(1)

    def server_down(self) -> None:
        self.store.down()

    def server_up(self) -> None:
        self.store.up()

    def server_restart(self) -> None:
        self.store.restart()

    # what only the twin promises

    @inlineCallbacks
    def test_ids_from_clock(self) -> Gen:
        """Ids are the clock's milliseconds, with a sequence within one millisecond."""
        first = yield self.store.append("s", {"x": "1"}, 10)
        second = yield self.store.append("s", {"x": "1"}, 10)
        self.clock.advance(0.0105)
        third = yield self.store.append("s", {"x": "1"}, 10)
        self.assertEqual(
            [first, second, third], ["1700000000000-0", "1700000000000-1", "1700000000010-0"]
        )

    def test_ids_at_zero(self) -> None:
        """At time 0 the first id is 0-1, as Redis gives (0-0 is no valid id)."""
        store = MemoryStore(Clock())
        store.connect()
        self.assertEqual(self.successResultOf(store.append("s", {"x": "1"}, 10)), "0-1")

    @inlineCallbacks
    def test_exact_trim(self) -> Gen:
        yield self.append_many("s", 11, maxlen=10)
        self.assertEqual(len((yield self.store.tail("s", 100))), 10)

    @inlineCallbacks
    def test_lease_runs_out_by_clock(self) -> Gen:
        """A lease of n seconds holds for less than n, and is gone at n."""
        yield self.store.lease("p1", 5)
        yield self.store.claim("p1", "a", "a")
        self.clock.advance(4.999)
        self.assertEqual((yield self.store.snapshot()).dead, frozenset())
        self.clock.advance(0.001)
        self.assertEqual((yield self.store.snapshot()).dead, frozenset({"p1"}))

    def test_requests_before_connect(self) -> None:
        store = MemoryStore(Clock())
        self.failureResultOf(store.lease("p", 1), StoreError)

    def test_restart_fails_blocked_read(self) -> None:
        blocked = self.store.read({"s": "0-0"}, 30, 10)
        self.store.restart()
        self.failureResultOf(blocked, StoreError)
        self.failureResultOf(self.store.tail("s", 1), StoreError)

    def test_bad_id(self) -> None:
        self.failureResultOf(self.store.read({"s": "x-1"}, 0, 10), StoreError)


class RedisStoreTests(StoreContract, TestCase):
    """The contract on Redis: a real redis-server per test, killed and restarted at will."""

    #: the store's request deadline (not trial's C{timeout}, the test's own)
    request_timeout = 1.0

    @inlineCallbacks
    def setUp(self) -> Gen:
        import txredisapi  # type: ignore[import-untyped]

        self.server = RedisServer()
        self.addCleanup(self.server.close)
        self.server.start()
        self.store = RedisStore(self.server.url, reactor, timeout=self.request_timeout)
        self.addCleanup(self.store.close)
        # a connection of the test's own, to look at what the store wrote
        self.inspect = yield txredisapi.Connection(
            "127.0.0.1", self.server.port, reconnect=False, convertNumbers=False
        )
        self.addCleanup(lambda: self.inspect.disconnect().addErrback(lambda _: None))
        yield self.store.connect()

    def lapse(self, seconds: float) -> Deferred[None]:
        return deferLater(reactor, seconds, lambda: None)

    @inlineCallbacks
    def expire(self, proc: str) -> Gen:
        """A lease of one millisecond, watched (with a deadline) until Redis drops it."""
        yield self.store.lease(proc, 0.001)
        deadline = time.monotonic() + DEADLINE
        while (yield self.inspect.exists(f"ns:proc:{proc}")):
            self.assertLess(time.monotonic(), deadline, f"the lease of {proc} never ran out")
            yield deferLater(reactor, 0.002, lambda: None)

    def server_down(self) -> None:
        self.server.kill()

    def server_up(self) -> None:
        self.server.start()

    def server_restart(self) -> None:
        self.server.restart()

    # what only Redis shows

    @inlineCallbacks
    def test_lease_px(self) -> Gen:
        """A lease is C{SET proc:<p> 1 PX ms}."""
        yield self.store.lease("p1", 2.5)
        ttl = yield self.inspect.execute_command("PTTL", "ns:proc:p1")
        self.assertTrue(2000 < ttl <= 2500, ttl)

    @inlineCallbacks
    def test_noscript(self) -> Gen:
        """Scripts the server forgot (SCRIPT FLUSH, a restart) are loaded again."""
        yield self.store.lease("p1", 30)
        self.assertTrue((yield self.store.claim("p1", "a", "a")))
        yield self.inspect.execute_command("SCRIPT", "FLUSH")
        self.assertTrue((yield self.store.claim("p1", "b", "b")))
        self.assertEqual(sorted((yield self.store.snapshot()).nicks), ["a", "b"])

    @inlineCallbacks
    def test_error_reply(self) -> Gen:
        """An error reply (a key of the wrong type) is a StoreError; the store goes on."""
        yield self.inspect.set("ns:room:#x", "not a stream")
        yield self.assertStoreError(self.store.append("ns:room:#x", {"a": "1"}, 10))
        yield self.store.append("ns:room:#y", {"a": "1"}, 10)

    @inlineCallbacks
    def test_hung_server(self) -> Gen:
        """A server that answers nothing: requests fail by the deadline, not never."""
        self.server.pause()
        self.addCleanup(self.server.resume)
        started = time.monotonic()
        yield self.assertStoreError(self.store.lease("p1", 1))
        yield self.assertStoreError(self.store.read({"ns:inbox:p1": "0-0"}, 0.1, 10))
        yield self.assertStoreError(self.store.connect())
        self.assertLess(time.monotonic() - started, 3 * self.request_timeout + 1)
        self.server.resume()
        yield self.store.connect()
        yield self.store.lease("p1", 1)

    @inlineCallbacks
    def test_password_and_db(self) -> Gen:
        """The URL's password is sent (a wrong one fails) and its database selected."""
        server = RedisServer(password="s3cret")
        self.addCleanup(server.close)
        server.start()
        url = f"redis://:s3cret@127.0.0.1:{server.port}/3"
        store = RedisStore(url, reactor, timeout=self.request_timeout)
        self.addCleanup(store.close)
        yield store.connect()
        yield store.lease("p1", 30)
        wrong = RedisStore(url, reactor, password="wrong", timeout=self.request_timeout)
        yield self.assertStoreError(wrong.connect())
        yield store.append("ns:room:#a", {"x": "1"}, 10)
        self.assertEqual(len((yield store.tail("ns:room:#a", 10))), 1)
        # the default database of the same server is another keyspace
        other = RedisStore(f"redis://:s3cret@127.0.0.1:{server.port}", reactor)
        self.addCleanup(other.close)
        yield other.connect()
        self.assertEqual((yield other.tail("ns:room:#a", 10)), [])

    @inlineCallbacks
    def test_tls(self) -> Gen:
        """C{rediss://} with the given client TLS options; a server it does not trust fails."""
        files = TLSFiles(Path(self.mktemp()))
        server = RedisServer(tls=files)
        self.addCleanup(server.close)
        server.start()
        self.assertTrue(server.url.startswith("rediss://127.0.0.1:"))
        store = RedisStore.from_url(
            server.url,
            reactor,
            client_tls_options("127.0.0.1", ca=files.ca_path),
            timeout=self.request_timeout,
        )
        self.addCleanup(store.close)
        self.assertTrue((yield store.connect()))
        yield store.lease("p1", 30)
        self.assertTrue((yield store.claim("p1", "a", "A")))
        untrusting = RedisStore(server.url, reactor, timeout=self.request_timeout)
        self.addCleanup(untrusting.close)
        yield self.assertStoreError(untrusting.connect())

    @inlineCallbacks
    def test_refused(self) -> Gen:
        """Nothing listening: connect() fails with StoreError, nothing logged."""
        self.server.kill()
        yield self.assertStoreError(self.store.connect())
        yield self.assertStoreError(self.store.lease("p1", 1))


class ParseURLTests(SynchronousTestCase):
    def test_forms(self) -> None:
        self.assertEqual(parse_url("redis://h"), BackboneAddress("h", 6379, 0, None, False))
        self.assertEqual(
            parse_url("rediss://:p%40ss@h.example:6380/2"),
            BackboneAddress("h.example", 6380, 2, "p@ss", True),
        )
        self.assertEqual(parse_url("redis://[::1]:7000/"), BackboneAddress("::1", 7000, 0))

    def test_refused(self) -> None:
        for url, why in [
            ("http://h", "scheme"),
            ("h:6379", "scheme"),
            ("redis://", "no host"),
            ("redis://h:port", "bad backbone URL"),
            ("redis://h:70000", "bad backbone URL"),
            ("redis://h:0", "port 0"),
            ("redis://h/x", "database"),
            ("redis://h/1/2", "database"),
            ("redis://h?db=1", "query"),
            ("redis://user:pw@h", "user name"),
        ]:
            with self.assertRaises(ValueError, msg=url) as caught:
                parse_url(url)
            self.assertIn(why, str(caught.exception), url)
            self.assertIn("redis://[:password@]host[:port][/db]", str(caught.exception))
