"""
The shared base of every netsuite stream door: limits, idle timeout, logging, and the
one write path (L{netsuite.stream._write}) that sends at once when it can.

L{StreamDoor.write} gathers while a cork is in place (a fan-out in progress) and
otherwise calls L{send_now}; see L{netsuite.stream._write} for why.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, cast

from twisted.internet import tcp
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IAddress,
    IConsumer,
    IDelayedCall,
    IHandshakeListener,
    IPushProducer,
    IReactorTime,
    ITCPTransport,
)
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.logger import Logger, LogLevel
from twisted.python.failure import Failure
from zope.interface import implementer

from netsuite.base._addresses import describe_address, peer_key
from netsuite.base._logbatch import LogBatch
from netsuite.base._logfields import close_reason, door_fields, next_conn_id, tls_fields
from netsuite.base._metrics import Counters
from netsuite.limits._defaults import IDLE_TIMEOUT
from netsuite.limits._policy import ConnectionGate
from netsuite.stream._idle import IdleTimers
from netsuite.stream._write import (
    CORK_LIMIT,
    _cork,
    cork,
    direct_transport,
    pop_cork,
    release_held,
    send_now,
)

__all__ = [
    "SHUTDOWN_REASON",
    "DoorFactory",
    "IDoorTransport",
    "StreamDoor",
]

#: What members, logs and closing connections are told when the server drains.
SHUTDOWN_REASON = "server shutting down"


class IDoorTransport(ITCPTransport, IConsumer, IPushProducer):
    """
    What a stream door uses of its transport: a TCP transport (C{abortConnection},
    C{setTcpNoDelay}) that is a consumer and its own push producer. Twisted's TCP
    connections and its TLS layer are all of these; nothing declares this interface, it
    only tells the type checker what a door may call.
    """


@implementer(IHandshakeListener)
class StreamDoor(Protocol):
    """
    A connection of a netsuite stream service.

    Subclasses implement L{data_received} and call L{write}. This base keeps the
    connection's accounting (gate, counters, open set), drops it after
    C{factory.idle_timeout} seconds without input (one timer for all of the factory's
    connections: L{netsuite.stream._idle}), sets C{TCP_NODELAY} (Nagle's algorithm
    costs interactive doors and TLS handshakes tens of milliseconds), and logs one line
    when the connection starts and one when it ends, with the peer and the reason (in
    batches: L{netsuite.base._logbatch}). Each line carries L{log_fields} (service, door,
    conn, peer; the TLS details once the handshake is done: L{netsuite.base._logfields}).
    """

    factory: DoorFactory
    #: Set by Twisted before L{connectionMade}; a door never runs without one.
    transport: IDoorTransport
    peer: str = ""
    #: The key the gate counts this connection under (set by L{DoorFactory.buildProtocol}).
    gate_key: str
    bytes_in: int = 0
    bytes_out: int = 0
    _direct: tcp.Connection | None = None
    _corked: list[bytes] | None = None
    _corked_size: int = 0
    #: Why the server ended the connection, when it did (logged instead of Twisted's text).
    close_reason: str | None = None
    #: This connection's id in logs (L{netsuite.base._logfields.next_conn_id}).
    conn: int = 0
    #: Fields added to L{log_fields} after the start (the TLS ones), if any.
    _log_extra: dict[str, Any] | None = None
    #: Set when a TLS handshake completed (a later TLS error is not a handshake failure).
    handshake_done = False

    def connectionMade(self) -> None:
        factory = self.factory
        factory.idle.touch(self)
        transport = self.transport
        if factory.nodelay and hasattr(transport, "setTcpNoDelay"):
            with contextlib.suppress(OSError):  # not a TCP socket (UNIX): nothing to tune
                transport.setTcpNoDelay(True)
        if factory.direct_write:
            self._direct = direct_transport(transport)
        factory.opened(self)

    @property
    def log_fields(self) -> dict[str, Any]:
        """
        The structured fields of this connection's log events (service, door, conn, peer,
        and the TLS ones once the handshake is done: L{add_log_fields}).

        A new dict each time, from what the door holds anyway: a connection logs a few
        lines in its life, and a dict kept per connection (with its strings) was 3 MiB
        for 10,000 idle chat members. A door built by hand (a test) has them too.
        """
        if not self.conn:
            self.conn = next_conn_id()
        factory = self.factory
        fields = door_fields(factory.name, factory.default_door, self.conn, self.peer)
        if self._log_extra:
            fields.update(self._log_extra)
        return fields

    def add_log_fields(self, fields: Mapping[str, Any]) -> None:
        """From now on, every log event of this connection carries C{fields} too."""
        extra = self._log_extra
        if extra is None:
            extra = self._log_extra = {}
        extra.update(fields)

    def handshakeCompleted(self) -> None:
        """TLS is up: its version, cipher, ALPN and client identity join the log fields."""
        from netsuite.tls._contexts import peer_identity  # only TLS doors pay for OpenSSL

        self.handshake_done = True
        self.add_log_fields(tls_fields(self.transport, peer_identity))

    def dataReceived(self, data: bytes) -> None:
        """Count, rearm the idle timer, and hand the bytes to L{data_received}."""
        self.bytes_in += len(data)
        self.factory.idle.touch(self)
        self.data_received(data)

    def data_received(self, data: bytes) -> None:
        """What the door does with input: override."""
        raise NotImplementedError

    def write(self, data: bytes) -> None:
        """
        Send C{data}: straight to the socket when nothing is queued, else through Twisted.
        Inside L{corked}, gather it instead, to be sent in one piece when the cork pops.

        Only the part the kernel did not take is queued, so the transport's buffer (and
        so its producer's pause/resume) sees exactly what is really pending.
        """
        self.bytes_out += len(data)
        if _cork.depth:
            if _cork.held is not None:  # a fan-out held back comes first
                release_held()
            pending = self._corked
            if pending is None:
                pending = self._corked = []
                _cork.doors.append(self)
            pending.append(data)
            self._corked_size += len(data)
            if self._corked_size >= CORK_LIMIT:
                self.uncork()
            return
        self._send(data)

    def uncork(self) -> None:
        """Send what was gathered while corked, as one write."""
        pending = self._corked
        if pending:
            self._corked = None
            self._corked_size = 0
            self._send(pending[0] if len(pending) == 1 else b"".join(pending))

    def _send(self, data: bytes) -> None:
        send_now(self._direct, self.transport, data)

    def finish(self) -> None:
        """
        Flush what is pending, then close. Any producer is unregistered first: Twisted's
        TLS layer sends close_notify and closes only once none is registered, so without
        this a TLS connection whose door registered one would never close. Bytes gathered
        by a cork go first: nothing may be written after the close begins.
        """
        self.uncork()
        self.before_finish()
        with contextlib.suppress(RuntimeError):  # none registered (test transports say so)
            self.transport.unregisterProducer()
        self.transport.loseConnection()

    def before_finish(self) -> None:
        """Hook: push out anything the door holds back before it closes."""

    def going_away(self, reason: str) -> None:
        """
        The server is shutting down (L{DoorFactory.drain}): say goodbye if the door's
        protocol has a way to, then L{finish}. The base has nothing to say.
        """
        self.close_reason = reason
        self.finish()

    def timeoutConnection(self) -> None:
        """No input for C{idle_timeout} seconds: drop the peer (abort, it may not read)."""
        self.factory.counters["closed.idle_timeout"] += 1
        self.close_reason = f"idle for {self.factory.idle_timeout}s"  # the closed line says
        self.transport.abortConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.factory.idle.forget(self)
        self.factory.closed(self, reason)


class DoorFactory(Factory[StreamDoor]):
    """
    The factory of a netsuite stream door: it owns the door's limits and counters.

    @ivar name: the service's name in logs and stats (C{"echo"}).
    @ivar gate: the connection caps (total, per peer IP).
    @ivar idle_timeout: seconds without input before a connection is dropped (0: never).
    @ivar clock: the reactor (or a test's L{task.Clock}) that times the idle timeout.
    @ivar idle: the connections' idle timers, one timer for all (L{IdleTimers}).
    @ivar open: the connections open now.
    @ivar connection_log: the batch the opened/closed lines leave in (info).
    @ivar refusal_log: the batch the refused lines leave in (warn): a connection flood
        against the caps costs one log event per batch, not one per connection.
    """

    protocol: type[StreamDoor]
    log = Logger()
    #: The C{door} log field when the name has no C{/door} part (C{"echo"}).
    default_door = "tcp"
    noisy = False  # we log each listener ourselves (netsuite.twistd._service)
    nodelay = True
    direct_write = True
    #: Over TLS, encrypt each write at once rather than gather small ones for a reactor
    #: turn (netsuite.tls._listener): a door writes once per input chunk, corked.
    tls_write_now = True
    #: The TLS layer gathers these doors' writes around each read (one flight per read).
    tls_read_hooks = (cork, pop_cork)

    def __init__(
        self,
        name: str,
        *,
        gate: ConnectionGate | None = None,
        idle_timeout: float = IDLE_TIMEOUT,
        clock: IReactorTime | None = None,
        counters: Counters | None = None,
    ) -> None:
        if clock is None:
            from twisted.internet import reactor

            clock = cast(IReactorTime, reactor)  # the global reactor provides it
        self.name = name
        self.gate = gate if gate is not None else ConnectionGate()
        self.idle_timeout = idle_timeout
        self.clock = clock
        self.counters = counters if counters is not None else Counters(name)
        self.open: set[StreamDoor] = set()
        self.idle: IdleTimers[StreamDoor] = IdleTimers(
            clock, lambda: self.idle_timeout, lambda door: door.timeoutConnection()
        )
        #: The drain's waiters (None: no drain began; empty: it is over).
        self._drained: list[Deferred[None]] | None = None
        self._abort_call: IDelayedCall | None = None
        #: Set as the drain begins: the server is shutting down.
        self.draining = False
        self.connection_log = LogBatch(self.log, clock, "connections")
        self.refusal_log = LogBatch(self.log, clock, "refusals", LogLevel.warn)

    def buildProtocol(self, addr: IAddress | None) -> StreamDoor | None:
        """
        Admit the connection through the gate, or refuse it (closed at once, logged).

        Returning L{None} makes Twisted close the socket without reading from it.
        """
        peer = peer_key(addr)
        reason = self.gate.admit(peer)
        if reason is not None:
            self.counters["refused"] += 1
            described = describe_address(addr)
            fields = door_fields(self.name, self.default_door, next_conn_id(), described)
            fields.update(self.gate.refusal_fields(), reason=reason)
            self.refusal_log.add(f"{self.name} refused {described}: {reason}", fields)
            return None
        proto = self.protocol()
        proto.factory = self
        proto.peer = describe_address(addr)
        proto.gate_key = peer
        proto.conn = next_conn_id()
        return proto

    def opened(self, door: StreamDoor) -> None:
        """A door's connection started: count and log it."""
        self.open.add(door)
        self.counters["accepted"] += 1
        self.connection_log.add(f"{self.name} {door.peer}: connected", door.log_fields)

    def drain(self, timeout: float, reason: str = SHUTDOWN_REASON) -> Deferred[None]:
        """
        Shutting down: tell every open door it is going away (L{StreamDoor.going_away}:
        a goodbye, then queued output flushes and the connection closes), and abort what
        is still open C{timeout} seconds later. Fires once every connection is closed.

        Called again (a suite's roots share factories), it starts nothing new and fires
        with the first drain.
        """
        done: Deferred[None] = Deferred()
        if self._drained is not None:
            if self._drained:
                self._drained.append(done)  # still draining: fire with it
            else:
                done.callback(None)  # drained already
            return done
        self._drained = [done]
        self.draining = True
        # The drain's closes leave in batches, flushed when it ends (L{_drain_done}), even
        # after the ports stopped: one event each made 10,000 members' shutdown 10,000
        # log events, half of its time.
        self.connection_log.open()
        for door in list(self.open):
            if door in self.open:  # one door's goodbye may close another (a hub kick)
                door.going_away(reason)
        if self.open:
            self._abort_call = self.clock.callLater(timeout, self.abort)
        else:
            self._drain_done()
        return done

    def abort(self) -> None:
        """Drop every open connection now: the drain timed out, or the operator said stop."""
        if self._abort_call is not None and self._abort_call.active():
            self._abort_call.cancel()
        self._abort_call = None
        for door in list(self.open):
            self.counters["closed.drain_abort"] += 1
            door.close_reason = door.close_reason or "aborted at shutdown"
            door.transport.abortConnection()

    def _drain_done(self) -> None:
        if self._abort_call is not None and self._abort_call.active():
            self._abort_call.cancel()
        self._abort_call = None
        self.flush_logs()
        if not self.numPorts:  # the ports are stopped: later lines leave at once again
            self.connection_log.close()
        waiting, self._drained = self._drained or [], []
        for d in waiting:
            d.callback(None)

    def closed(self, door: StreamDoor, reason: Failure) -> None:
        """A door's connection ended: release its gate slot, count and log it."""
        if door not in self.open:
            return
        self.open.discard(door)
        self.gate.release(door.gate_key)
        self.counters["bytes_in"] += door.bytes_in
        self.counters["bytes_out"] += door.bytes_out
        why, fields = close_reason(reason, door.handshake_done)
        why = door.close_reason or why
        fields.update(door.log_fields, reason=why, bytes_in=door.bytes_in,
                      bytes_out=door.bytes_out)  # fmt: skip
        self.connection_log.add(
            f"{self.name} {door.peer}: closed ({why}); "
            f"{door.bytes_in} bytes in, {door.bytes_out} out",
            fields,
        )
        if not self.open and self._drained:
            self._drain_done()

    def flush_logs(self) -> None:
        """Emit the batched connection lines now (at shutdown: none may be lost)."""
        self.refusal_log.flush()
        self.connection_log.flush()

    def startFactory(self) -> None:
        self.refusal_log.open()
        self.connection_log.open()
        super().startFactory()

    def stopFactory(self) -> None:
        """The last port stopped: flush, and log what still closes after it at once."""
        self.refusal_log.close()
        self.connection_log.close()
        super().stopFactory()
