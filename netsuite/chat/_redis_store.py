"""
The backbone's L{Store} on a real Redis, through txredisapi: L{RedisStore}.

Two connections, both made by L{RedisStore.connect} and replaced by the next call (the
backbone reconnects with its own backoff; txredisapi never does, C{reconnect=False}):
one for commands, one for the blocking C{XREAD}, so a read that waits never holds up a
command. One blocked read at a time (a second would queue behind the first). Every
request has a deadline (the read's is its C{block} plus L{RedisStore.timeout}); on a
timeout the connection is dropped, since its replies can no longer be matched. Every
failure (refused, lost, timed out, an error reply) reaches the caller as L{StoreError}.

The compound steps are Lua scripts (one round trip each, atomic), sent by C{EVALSHA}
and loaded with C{SCRIPT LOAD} when the server answers C{NOSCRIPT} (after a restart).
The scripts fold room names themselves (RFC 1459, as L{netsuite.chat._names.fold}) and
reach keys they compute (a holder's lease, a room's members), so one suite's keys must
live on one Redis node, not spread over a Cluster.

What the store writes itself (everything else is the backbone's):

  - the presence stream (C{{prefix}presence}, capped at L{PRESENCE_MAXLEN}): a claim
    that changes a nick's holder or spelling adds L{claim_fields}, a release or a reap
    that drops a claim adds L{release_fields};
  - C{created} in a room's meta: the server's clock (C{TIME}) when its first member came,
    as seconds with a fraction.

txredisapi connects and times its own work on the global reactor; the deadlines here
use the reactor given to L{RedisStore}.

The module is above 400 lines because the Lua scripts sit beside the one call that
passes each its KEYS and ARGV: apart, the two would drift without a test noticing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from twisted.internet.defer import Deferred, fail, inlineCallbacks, maybeDeferred
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from netsuite.chat._names import fold
from netsuite.chat._store import Entry, RoomListing, RoomSnapshot, Snapshot, StoreError

__all__ = [
    "PRESENCE_MAXLEN",
    "BackboneAddress",
    "RedisStore",
    "claim_fields",
    "parse_url",
    "release_fields",
]

#: Entries the presence stream keeps (C{MAXLEN ~}): a mirror further behind than this
#: rebuilds from L{Store.snapshot} instead.
PRESENCE_MAXLEN = 1000


def claim_fields(proc: str, folded: str, nick: str) -> dict[str, str]:
    """The presence entry of a claim: C{folded} is now C{proc}'s, written C{nick}."""
    return {"op": "claim", "proc": proc, "folded": folded, "nick": nick}


def release_fields(proc: str, folded: str) -> dict[str, str]:
    """The presence entry of a release: C{proc} no longer holds C{folded}."""
    return {"op": "release", "proc": proc, "folded": folded}


@dataclass(frozen=True)
class BackboneAddress:
    """Where a backbone URL points: C{redis://[:password@]host[:port][/db]}."""

    host: str
    port: int = 6379
    db: int = 0
    password: str | None = None
    tls: bool = False


def parse_url(url: str) -> BackboneAddress:
    """
    C{redis://[:password@]host[:port][/db]} or C{rediss://...} (TLS) as a
    L{BackboneAddress} (port 6379 and db 0 by default); L{ValueError} names what is
    wrong with anything else.
    """
    expected = "expected redis://[:password@]host[:port][/db] or rediss://..."
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise ValueError(f"bad backbone URL {url!r}: {e}; {expected}") from None
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"bad backbone URL {url!r}: scheme must be redis or rediss; {expected}")
    if not parts.hostname:
        raise ValueError(f"bad backbone URL {url!r}: no host; {expected}")
    if parts.query or parts.fragment:
        raise ValueError(f"bad backbone URL {url!r}: no query or fragment allowed; {expected}")
    if parts.username:
        raise ValueError(
            f"bad backbone URL {url!r}: a user name is not supported, only :password@; {expected}"
        )
    if port == 0:
        raise ValueError(f"bad backbone URL {url!r}: port 0; {expected}")
    path = parts.path.lstrip("/")
    if path and not (path.isascii() and path.isdigit()):
        raise ValueError(f"bad backbone URL {url!r}: the database must be a number; {expected}")
    password = unquote(parts.password) if parts.password is not None else None
    return BackboneAddress(
        host=parts.hostname,
        port=6379 if port is None else port,
        db=int(path) if path else 0,
        password=password or None,
        tls=parts.scheme == "rediss",
    )


_T = TypeVar("_T")

#: Shared by the scripts: RFC 1459 folding (Redis's Lua lowercases ASCII only, as
#: L{fold} does), the holder of a C{proc SP ...} value, and an empty room's removal.
_PRELUDE = r"""
local function fold(s)
  return (string.gsub(string.lower(s), '[%[%]\\~]', {['[']='{', [']']='}', ['\\']='|', ['~']='^'}))
end
local function owner(value) return string.match(value, '^[^ ]*') end
local function drop_if_empty(members, meta, rooms, folded)
  if redis.call('EXISTS', members) == 0 then
    redis.call('DEL', meta)
    for _, r in ipairs(redis.call('SMEMBERS', rooms)) do
      if fold(r) == folded then redis.call('SREM', rooms, r) end
    end
  end
end
"""

#: KEYS nicks, presence; ARGV prefix, proc, folded, nick, maxlen, presence fields...
_CLAIM = r"""
local held = redis.call('HGET', KEYS[1], ARGV[3])
local value = ARGV[2] .. ' ' .. ARGV[4]
if held then
  local holder = owner(held)
  if holder ~= ARGV[2] and redis.call('EXISTS', ARGV[1] .. 'proc:' .. holder) == 1 then
    return 0
  end
  if held == value then return 1 end
end
redis.call('HSET', KEYS[1], ARGV[3], value)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', unpack(ARGV, 6))
return 1
"""

#: KEYS nicks, presence; ARGV proc, folded, maxlen, presence fields...
_RELEASE = r"""
local held = redis.call('HGET', KEYS[1], ARGV[2])
if held and owner(held) == ARGV[1] then
  redis.call('HDEL', KEYS[1], ARGV[2])
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 4))
end
return 0
"""

#: KEYS nicks, rooms; ARGV prefix. Returns {live nicks as a flat hash, dead, rooms}.
_SNAPSHOT = r"""
local alive = {}
local function live(p)
  if alive[p] == nil then alive[p] = redis.call('EXISTS', ARGV[1] .. 'proc:' .. p) == 1 end
  return alive[p]
end
local nicks = {}
local flat = redis.call('HGETALL', KEYS[1])
for i = 1, #flat, 2 do
  if live(owner(flat[i + 1])) then
    nicks[#nicks + 1] = flat[i]
    nicks[#nicks + 1] = flat[i + 1]
  end
end
local rooms = redis.call('SMEMBERS', KEYS[2])
local listing = {}
for _, r in ipairs(rooms) do
  local n = 0
  for _, v in ipairs(redis.call('HVALS', ARGV[1] .. 'members:' .. fold(r))) do
    if live(owner(v)) then n = n + 1 end
  end
  local meta = redis.call('HMGET', ARGV[1] .. 'meta:' .. fold(r), 'topic', 'created')
  listing[#listing + 1] = {tostring(n), meta[1] or '', meta[2] or '0'}
end
local dead = {}
for p, ok in pairs(alive) do if not ok then dead[#dead + 1] = p end end
return {nicks, dead, rooms, listing}
"""

#: KEYS meta, members, rooms; ARGV folded room. Returns {name or '', meta, members}.
_ROOM = r"""
local name = ''
for _, r in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if fold(r) == ARGV[1] then name = r end
end
return {name, redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}
"""

#: KEYS members, meta, rooms; ARGV folded nick, member value, room as written.
_ADD_MEMBER = r"""
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('HEXISTS', KEYS[2], 'created') == 0 then
  local t = redis.call('TIME')
  redis.call('HSET', KEYS[2], 'created', t[1] .. '.' .. string.format('%06d', tonumber(t[2])))
  redis.call('SADD', KEYS[3], ARGV[3])
end
return 0
"""

#: KEYS members, meta, rooms; ARGV folded nick, folded room.
_REMOVE_MEMBER = r"""
redis.call('HDEL', KEYS[1], ARGV[1])
drop_if_empty(KEYS[1], KEYS[2], KEYS[3], ARGV[2])
return 0
"""

#: KEYS proc, nicks, rooms, presence; ARGV prefix, proc, maxlen.
#: Returns the removed memberships, flat: room, nick, room, nick...
_REAP = r"""
if redis.call('EXISTS', KEYS[1]) == 1 then return {} end
local flat = redis.call('HGETALL', KEYS[2])
for i = 1, #flat, 2 do
  if owner(flat[i + 1]) == ARGV[2] then
    redis.call('HDEL', KEYS[2], flat[i])
    redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[3], '*',
      'op', 'release', 'proc', ARGV[2], 'folded', flat[i])
  end
end
local removed = {}
for _, r in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local key = ARGV[1] .. 'members:' .. fold(r)
  local members = redis.call('HGETALL', key)
  local mine = false
  for i = 1, #members, 2 do
    local p, nick = string.match(members[i + 1], '^([^ ]*) [^ ]* (.*)$')
    if p == ARGV[2] then
      redis.call('HDEL', key, members[i])
      removed[#removed + 1] = r
      removed[#removed + 1] = nick
      mine = true
    end
  end
  if mine then drop_if_empty(key, ARGV[1] .. 'meta:' .. fold(r), KEYS[3], fold(r)) end
end
return removed
"""


@dataclass(frozen=True)
class _Script:
    text: str

    @property
    def sha(self) -> str:
        return hashlib.sha1(self.text.encode()).hexdigest()


def _script(body: str) -> _Script:
    return _Script(_PRELUDE + body)


CLAIM, RELEASE, SNAPSHOT, ROOM, ADD_MEMBER, REMOVE_MEMBER, REAP = map(
    _script, (_CLAIM, _RELEASE, _SNAPSHOT, _ROOM, _ADD_MEMBER, _REMOVE_MEMBER, _REAP)
)


def _pairs(flat: list[Any]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _entries(reply: list[Any] | None) -> list[Entry]:
    return [(entry_id, _pairs(fields or [])) for entry_id, fields in reply or []]


def _split2(value: str) -> tuple[str, str]:
    """C{proc SP nick}."""
    proc, _, nick = value.partition(" ")
    return proc, nick


def _split3(value: str) -> tuple[str, str, str]:
    """C{proc SP door SP nick}."""
    proc, door, nick = value.split(" ", 2)
    return proc, door, nick


def _run_id(info: Any) -> str:
    text = info.decode() if isinstance(info, bytes) else str(info)
    for line in text.splitlines():
        if line.startswith("run_id:"):
            return line.partition(":")[2].strip()
    raise StoreError("INFO server has no run_id")


class RedisStore:
    """
    The L{netsuite.chat._store.Store} on Redis at C{url} (see L{parse_url}).

    @param tls: an C{IOpenSSLClientConnectionCreator} (such as
        L{twisted.internet.ssl.optionsForClientTLS}) for the connections; a
        C{rediss://} URL without one verifies the server against the system's CAs.
    @param password: overrides the URL's.
    @param timeout: seconds a connection attempt or a request may take.
    """

    def __init__(
        self,
        url: str,
        reactor: IReactorTime,
        *,
        prefix: str = "ns:",
        tls: Any = None,
        password: str | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.address = parse_url(url)
        self.reactor = reactor
        self.prefix = prefix
        self.timeout = timeout
        self.password = password if password is not None else self.address.password
        if tls is None and self.address.tls:
            from twisted.internet.ssl import optionsForClientTLS

            tls = optionsForClientTLS(self.address.host)
        self.tls = tls
        self._commands: Any = None
        self._reader: Any = None

    @classmethod
    def from_url(
        cls, url: str, reactor: IReactorTime, tls_creator: Any = None, **kw: Any
    ) -> RedisStore:
        """A store for C{url}; C{tls_creator} is the TLS of C{rediss://} (see L{__init__})."""
        return cls(url, reactor, tls=tls_creator, **kw)

    # -- connections and deadlines -------------------------------------------------

    def _guard(
        self,
        d: Deferred[_T],
        seconds: float,
        what: str,
        on_timeout: Callable[[], None] = lambda: None,
        on_late: Callable[[Any], object] = lambda result: None,
    ) -> Deferred[_T]:
        """C{d}'s result by C{seconds}, any failure as L{StoreError}."""
        out: Deferred[_T] = Deferred()

        def expire() -> None:
            on_timeout()
            out.errback(StoreError(f"{what}: no answer from Redis in {seconds:g} s"))

        timer = self.reactor.callLater(seconds, expire)

        def done(result: Any) -> None:
            if timer.active():
                timer.cancel()
            if out.called:
                if not isinstance(result, Failure):
                    on_late(result)
            elif isinstance(result, Failure):
                error = StoreError(f"{what}: {result.getErrorMessage()}")
                error.__cause__ = result.value
                out.errback(error)
            else:
                out.callback(result)

        d.addBoth(done)
        return out

    def _open(self) -> Deferred[Any]:
        import txredisapi  # type: ignore[import-untyped]  # here: it imports the reactor

        a = self.address
        return self._guard(
            maybeDeferred(
                txredisapi.Connection,
                a.host,
                a.port,
                dbid=a.db or None,
                reconnect=False,
                password=self.password,
                ssl_context_factory=self.tls or False,
                connectTimeout=self.timeout,
                convertNumbers=False,
            ),
            self.timeout,
            f"connect to {a.host}:{a.port}",
            on_late=_disconnect,
        )

    @inlineCallbacks
    def connect(self) -> Any:
        """Fresh connections (the old ones closed), then C{INFO server}'s run id."""
        self._drop()
        commands = yield self._open()
        try:
            reader = yield self._open()
        except StoreError:
            _disconnect(commands)
            raise
        self._commands, self._reader = commands, reader
        info = yield self._command("INFO", "server")
        return _run_id(info)

    def _drop(self) -> list[Deferred[Any]]:
        handlers = [h for h in (self._commands, self._reader) if h is not None]
        self._commands = self._reader = None
        return [_disconnect(h) for h in handlers]

    def close(self) -> Deferred[None]:
        """Close both connections (never fails; gives up waiting after the timeout)."""
        from twisted.internet.defer import DeferredList

        done = DeferredList(self._drop(), consumeErrors=True)
        return self._guard(done, self.timeout, "close").addBoth(lambda _: None)

    def _request(self, reader: bool, seconds: float, *args: Any) -> Deferred[Any]:
        handler = self._reader if reader else self._commands
        if handler is None:
            return fail(StoreError(f"{args[0]}: not connected"))

        def lost() -> None:
            if reader and self._reader is handler:
                self._reader = None
            elif self._commands is handler:
                self._commands = None
            _disconnect(handler)

        return self._guard(
            maybeDeferred(handler.execute_command, *args), seconds, str(args[0]), lost
        )

    def _command(self, *args: Any) -> Deferred[Any]:
        return self._request(False, self.timeout, *args)

    def _eval(self, script: _Script, keys: list[str], args: list[Any]) -> Deferred[Any]:
        def evalsha() -> Deferred[Any]:
            return self._command("EVALSHA", script.sha, len(keys), *keys, *args)

        def load(failure: Failure) -> Any:
            if failure.check(StoreError) and "NOSCRIPT" in str(failure.value):
                return self._command("SCRIPT", "LOAD", script.text).addCallback(
                    lambda _: evalsha()
                )
            return failure

        return evalsha().addErrback(load)

    # -- the Store --------------------------------------------------------------

    def append(self, stream: str, fields: Mapping[str, str], maxlen: int) -> Deferred[str]:
        flat = [x for pair in fields.items() for x in pair]
        return self._command("XADD", stream, "MAXLEN", "~", maxlen, "*", *flat)

    def tail(self, stream: str, count: int) -> Deferred[list[Entry]]:
        d = self._command("XREVRANGE", stream, "+", "-", "COUNT", max(count, 0))
        return d.addCallback(lambda reply: _entries(reply)[::-1] if count > 0 else [])

    def read(
        self, positions: Mapping[str, str], block: float, count: int
    ) -> Deferred[list[tuple[str, Entry]]]:
        blocking = ["BLOCK", max(1, round(block * 1000))] if block > 0 else []
        d = self._request(
            block > 0,
            max(block, 0) + self.timeout,
            "XREAD",
            "COUNT",
            count,
            *blocking,
            "STREAMS",
            *positions,
            *positions.values(),
        )
        return d.addCallback(
            lambda reply: [(name, e) for name, entries in reply or [] for e in _entries(entries)]
        )

    def lease(self, proc: str, seconds: float) -> Deferred[None]:
        ms = max(1, round(seconds * 1000))
        d = self._command("SET", f"{self.prefix}proc:{proc}", 1, "PX", ms)
        return d.addCallback(lambda _: None)

    def _key(self, name: str) -> str:
        return self.prefix + name

    def claim(self, proc: str, folded: str, nick: str) -> Deferred[bool]:
        fields = [x for pair in claim_fields(proc, folded, nick).items() for x in pair]
        d = self._eval(
            CLAIM,
            [self._key("nicks"), self._key("presence")],
            [self.prefix, proc, folded, nick, PRESENCE_MAXLEN, *fields],
        )
        return d.addCallback(bool)

    def release(self, proc: str, folded: str) -> Deferred[None]:
        fields = [x for pair in release_fields(proc, folded).items() for x in pair]
        d = self._eval(
            RELEASE,
            [self._key("nicks"), self._key("presence")],
            [proc, folded, PRESENCE_MAXLEN, *fields],
        )
        return d.addCallback(lambda _: None)

    def snapshot(self) -> Deferred[Snapshot]:
        def parse(reply: list[Any]) -> Snapshot:
            nicks, dead, rooms, listing = reply
            held = {f: _split2(v) for f, v in _pairs(nicks).items()}
            listed = {
                room: RoomListing(int(n), topic, float(created or 0))
                for room, (n, topic, created) in zip(rooms, listing, strict=True)
            }
            return Snapshot(
                nicks=held, dead=frozenset(dead), rooms=tuple(sorted(rooms)), listing=listed
            )

        d = self._eval(SNAPSHOT, [self._key("nicks"), self._key("rooms")], [self.prefix])
        return d.addCallback(parse)

    def _room_keys(self, room: str) -> list[str]:
        folded = fold(room)
        return [self._key("members:" + folded), self._key("meta:" + folded), self._key("rooms")]

    def room(self, name: str) -> Deferred[RoomSnapshot]:
        def parse(reply: list[Any]) -> RoomSnapshot:
            written, meta, members = reply
            info = _pairs(meta)
            return RoomSnapshot(
                name=written or name,
                topic=info.get("topic", ""),
                topic_by=info.get("topic_by", ""),
                created=float(info.get("created", 0)),
                modes=info.get("modes", ""),
                members={f: _split3(v) for f, v in _pairs(members).items()},
            )

        members, meta, rooms = self._room_keys(name)
        return self._eval(ROOM, [meta, members, rooms], [fold(name)]).addCallback(parse)

    def add_member(self, room: str, proc: str, door: str, nick: str) -> Deferred[None]:
        d = self._eval(
            ADD_MEMBER, self._room_keys(room), [fold(nick), f"{proc} {door} {nick}", room]
        )
        return d.addCallback(lambda _: None)

    def remove_member(self, room: str, folded: str) -> Deferred[None]:
        d = self._eval(REMOVE_MEMBER, self._room_keys(room), [folded, fold(room)])
        return d.addCallback(lambda _: None)

    def set_topic(self, room: str, topic: str, by: str) -> Deferred[None]:
        key = self._key("meta:" + fold(room))
        d = self._command("HSET", key, "topic", topic, "topic_by", by)
        return d.addCallback(lambda _: None)

    def set_modes(self, room: str, modes: str) -> Deferred[None]:
        key = self._key("meta:" + fold(room))
        return self._command("HSET", key, "modes", modes).addCallback(lambda _: None)

    def reap(self, proc: str) -> Deferred[list[tuple[str, str]]]:
        keys = [
            self._key(f"proc:{proc}"),
            self._key("nicks"),
            self._key("rooms"),
            self._key("presence"),
        ]
        d = self._eval(REAP, keys, [self.prefix, proc, PRESENCE_MAXLEN])
        return d.addCallback(lambda flat: list(zip(flat[::2], flat[1::2], strict=True)))


def _disconnect(handler: Any) -> Deferred[Any]:
    """Close a txredisapi connection, whatever becomes of it (nothing left to log)."""
    d = maybeDeferred(handler.disconnect)
    d.addErrback(lambda _: None)
    return d
