"""
A door and a client connected in memory, plain or over real TLS, on one L{Clock}.

Twisted's L{twisted.test.iosim} moves bytes between two protocols without sockets;
this module wires a server factory (one of our doors, or yours) and a client protocol
through it the way a listener would, including the C{nstls:} listener's own TLS
protocol (L{netsuite.tls._listener.DeadlineTLSFactory}) with its handshake deadline,
so a test sees what a real connection would, one L{IOPump.flush} at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import (
    IOpenSSLClientConnectionCreator,
    IProtocol,
    IProtocolFactory,
)
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.test.iosim import FakeTransport, IOPump, connect

from netsuite.testing._process import TLSFiles
from netsuite.tls._contexts import TLSServerSettings, client_tls_options
from netsuite.tls._listener import DeadlineTLSFactory, ReloadableServerTLS

__all__ = ["DoorPair", "connect_door"]

#: Where the in-memory server listens and where its client comes from.
SERVER_ADDRESS = IPv4Address("TCP", "127.0.0.1", 8000)
CLIENT_ADDRESS = IPv4Address("TCP", "127.0.0.1", 40000)


_C = TypeVar("_C", bound=Protocol)


@dataclass
class DoorPair(Generic[_C]):
    """
    One in-memory connection made by L{connect_door}.

    @ivar server: the door's protocol (inside TLS, when there is TLS).
    @ivar client: the client protocol you passed in.
    @ivar pump: moves bytes both ways; C{pump.flush()} until both sides are idle.
    @ivar clock: the clock both sides' timers (and the TLS handshake deadline) run on.
    @ivar server_wire, client_wire: the outermost protocols, the TLS ones when there is
        TLS (the same as C{server} and C{client} otherwise).
    @ivar server_io, client_io: iosim's transports under C{server_wire}, C{client_wire}.
    """

    #: Whatever the factory built: IProtocolFactory does not say, so tests may reach
    #: their door's own attributes.
    server: Any
    client: _C
    pump: IOPump
    clock: Clock
    server_wire: IProtocol
    client_wire: IProtocol
    server_io: FakeTransport
    client_io: FakeTransport


def connect_door(
    server_factory: IProtocolFactory,
    client_protocol: _C,
    clock: Clock | None = None,
    tls: TLSFiles | None = None,
    *,
    server_tls: ReloadableServerTLS | None = None,
    client_tls: IOpenSSLClientConnectionCreator | None = None,
    client_cert: tuple[str, str] | None = None,
    server_name: str = "localhost",
    handshake_timeout: float = 10.0,
    server_transport: type[FakeTransport] = FakeTransport,
    flush: bool = True,
) -> DoorPair[_C]:
    """
    Connect C{client_protocol} to a protocol of C{server_factory}, in memory.

    Plain by default. With C{tls} (a L{TLSFiles}), the server side is what C{nstls:}
    serves (C{tls}'s server leaf, hardened settings, the handshake deadline) and the
    client verifies it against C{tls}'s CA under C{server_name}. With C{client_cert}
    (C{(cert_path, key_path)}, from L{TLSFiles.leaf}) the client presents it and the
    server requires a client certificate from that CA (mutual TLS).
    C{server_tls} (a L{ReloadableServerTLS}, or any server connection creator such as
    a C{CertificateOptions}) and C{client_tls} (client connection creator) replace
    either side's defaults; giving either makes the pair TLS.

    Example::

        pair = connect_door(EchoFactory("echo", gate=ConnectionGate(), idle_timeout=0,
                                        clock=clock), Collector(), clock)
        pair.client.transport.write(b"hi")
        pair.pump.flush()

    @param clock: the clock for both sides (a new L{Clock} by default); the pump
        advances it by zero on every flush, so calls due now run.
    @param server_transport: iosim's L{FakeTransport} or a subclass (to record writes).
    @param flush: pump until idle before returning (the TLS handshake is then done);
        C{False} to write something first, as early data.
    """
    clock = clock if clock is not None else Clock()
    secure = tls is not None or server_tls is not None or client_tls is not None
    server: IProtocol | None
    server_wire: IProtocol | None
    client_wire: IProtocol
    if secure:
        if server_tls is None:
            if tls is None:
                raise ValueError("connect_door: server_tls= or tls=TLSFiles(...) is needed")
            settings = TLSServerSettings(cert=tls.cert_path, key=tls.key_path)
            if client_cert is not None:
                settings = replace(settings, client_ca=tls.ca_path, verify_client="required")
            server_tls = ReloadableServerTLS(settings, label="test")
        if client_tls is None:
            if tls is None:
                raise ValueError("connect_door: client_tls= or tls=TLSFiles(...) is needed")
            cert, key = client_cert if client_cert is not None else (None, None)
            client_tls = client_tls_options(server_name, tls.ca_path, cert, key)
        wrapper = DeadlineTLSFactory(server_tls, server_factory, clock, handshake_timeout, "test")
        server_wire = wrapper.buildProtocol(CLIENT_ADDRESS)
        client_factory = TLSMemoryBIOFactory(
            client_tls, True, Factory.forProtocol(lambda: client_protocol), clock
        )
        client_wire = client_factory.buildProtocol(SERVER_ADDRESS)
        server = server_wire.wrappedProtocol if server_wire is not None else None
    else:
        server_wire = server = server_factory.buildProtocol(CLIENT_ADDRESS)
        client_wire = client_protocol
    if server is None or server_wire is None:  # both or neither: the server is inside
        raise ValueError("connect_door: the server factory refused the connection")
    server_io = server_transport(
        server_wire, isServer=True, hostAddress=SERVER_ADDRESS, peerAddress=CLIENT_ADDRESS
    )
    client_io = FakeTransport(
        client_wire, isServer=False, hostAddress=CLIENT_ADDRESS, peerAddress=SERVER_ADDRESS
    )
    pump = connect(server_wire, server_io, client_wire, client_io, greet=False, clock=clock)
    if flush:
        pump.flush()
    return DoorPair(
        server, client_protocol, pump, clock, server_wire, client_wire, server_io, client_io
    )
