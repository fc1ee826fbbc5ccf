"""
Twisted's TLS protocol (L{twisted.protocols.tls}) with its send and receive paths
replaced, behind well-named hooks for L{netsuite.tls._listener.DeadlineTLSProtocol}.

Why no public API serves: L{TLSMemoryBIOProtocol} moves bytes between the transport and
OpenSSL's memory BIOs in private methods (C{_flushSendBIO}, C{_write},
C{_flushReceiveBIO}) that send each 16 KiB record by itself and deliver plaintext one
record at a time, and it closes the TCP transport from inside C{_shutdownTLS} and
C{_tlsShutdownFinished}. Nothing public lets a subclass choose where records go, gather
a read's plaintext, or act before that close; nor does anything public say whether the
handshake is done (C{_handshakeDone}). C{makeConnection} is redone here too, because
Twisted's declares the transport's interfaces one C{directlyProvides} at a time (some
40 us per connection), and it needs the private C{_creatorCallable},
C{_appSendBuffer}, C{_connectWrapped} and C{_checkHandshakeStatus}.

L{OneFlightTLSProtocol} keeps every one of those names here; its subclass implements
L{OneFlightTLSProtocol.send_records}, L{OneFlightTLSProtocol.closing} and
L{OneFlightTLSProtocol.read_ends_connection}.
"""

from __future__ import annotations

from typing import Any

from OpenSSL import SSL
from OpenSSL.SSL import WantReadError, ZeroReturnError
from twisted.internet.protocol import Protocol
from twisted.protocols.policies import ProtocolWrapper
from twisted.protocols.tls import BufferingTLSTransport, TLSMemoryBIOProtocol
from twisted.python.failure import Failure
from zope.interface import directlyProvides, implementedBy, providedBy
from zope.interface.declarations import Provides

__all__ = ["DECLARATIONS", "PRIVATE_NAMES", "TLS_CHUNK", "OneFlightTLSProtocol", "provide_like"]

_TLS = "twisted.protocols.tls.TLSMemoryBIOProtocol"

#: The private names this module relies on, as (object, attribute) pairs the pin test checks.
PRIVATE_NAMES = (
    (_TLS, "_flushSendBIO"),
    (_TLS, "_write"),
    (_TLS, "_flushReceiveBIO"),
    (_TLS, "_shutdownTLS"),
    (_TLS, "_tlsShutdownFinished"),
    (_TLS, "_bufferedWrite"),
    (_TLS, "_checkHandshakeStatus"),
    (_TLS, "_tlsConnection"),
    (_TLS, "_lostTLSConnection"),
    (_TLS, "_aborted"),
    (_TLS, "_handshakeDone"),
    (_TLS, "_appSendBuffer"),
    (_TLS, "_connectWrapped"),
    ("twisted.protocols.tls.TLSMemoryBIOFactory", "_creatorCallable"),
)

#: Plaintext bytes encrypted per SSL_write, and ciphertext bytes taken from the memory
#: BIO per read: a 64 KiB write becomes four records sent in one piece, not four sends.
TLS_CHUNK = 1 << 18

#: (protocol class, transport class) -> the declaration a wrapper of that transport gets.
DECLARATIONS: dict[tuple[type, type], Any] = {}


def provide_like(wrapper: object, transport: object) -> None:
    """
    Make C{wrapper} directly provide what C{transport} provides, as ProtocolWrapper does
    with C{directlyProvides(wrapper, providedBy(transport))}, from a cache: the
    declaration depends only on the two classes when the transport declares nothing of
    its own (a TCP connection). Anything else is declared afresh, not cached.
    """
    spec = providedBy(transport)
    if spec is not implementedBy(type(transport)):
        directlyProvides(wrapper, spec)
        return
    key = (type(wrapper), type(transport))
    declaration = DECLARATIONS.get(key)
    if declaration is None:
        declaration = DECLARATIONS[key] = Provides(type(wrapper), spec)
    # zope.interface reads __provides__; no stub declares it on an instance.
    wrapper.__provides__ = declaration  # type: ignore[attr-defined]


class OneFlightTLSProtocol(BufferingTLSTransport):
    """
    Twisted's TLS protocol whose records go to L{send_records} in pieces of up to
    L{TLS_CHUNK} bytes, whose reads deliver all their plaintext in one call, and which
    calls L{closing} before Twisted may close the TCP transport.
    """

    def send_records(self, records: bytes) -> None:
        """Hook: the ciphertext OpenSSL made, to be sent in order (default: write it)."""
        assert self.transport is not None  # records come only while connected
        self.transport.write(records)

    def closing(self) -> None:
        """Hook: Twisted is about to close the TCP transport (after close_notify, or on
        an error): what this protocol holds back must leave now."""

    def read_ends_connection(self) -> None:
        """Hook: the read just delivered ends the TLS connection (the peer's
        close_notify, or an error); what the wrapped protocol holds must be written
        before the close."""

    @property
    def handshake_complete(self) -> bool:
        """Whether the TLS handshake has completed."""
        return bool(self._handshakeDone)

    def write_unaggregated(self, data: bytes) -> None:
        """Encrypt C{data} now, not after a reactor turn in Twisted's aggregator."""
        TLSMemoryBIOProtocol.write(self, data)

    def _shutdownTLS(self) -> None:
        # Twisted closes the TCP transport in here once close_notify is out.
        self.closing()
        super()._shutdownTLS()

    def _tlsShutdownFinished(self, reason: Failure | None) -> None:
        self.closing()  # likewise (an alert, and what came before it)
        super()._tlsShutdownFinished(reason)

    def _flushSendBIO(self) -> None:
        """Hand the records OpenSSL made to L{send_records}, up to TLS_CHUNK at a time."""
        read = self._tlsConnection.bio_read
        while True:
            try:
                records = read(TLS_CHUNK)
            except WantReadError:
                return  # the BIO is empty
            self.send_records(records)
            if len(records) < TLS_CHUNK:
                return

    def _write(self, data: bytes) -> None:
        """
        Encrypt C{data} and send the records. Twisted's own C{_write} encrypts 16 KiB
        at a time and sends each record by itself; OpenSSL splits records itself, so
        this hands it up to L{TLS_CHUNK} bytes a call (no copy: a memoryview).
        """
        if self._lostTLSConnection:
            return
        view = memoryview(data)
        done = unsent = 0
        send = self._tlsConnection.send
        while done < len(view):
            try:
                # One record a call (pyOpenSSL turns on partial writes); the records
                # gather in the memory BIO and leave together below.
                sent = send(view[done : done + TLS_CHUNK])
            except WantReadError:  # renegotiation-like states: Twisted buffers, so do we
                self._bufferedWrite(bytes(view[done:]))
                break
            except SSL.Error:
                self._flushSendBIO()
                self._tlsShutdownFinished(Failure())
                return
            done += sent
            unsent += sent
            if unsent >= TLS_CHUNK:  # bound what waits in the BIO
                self._flushSendBIO()
                unsent = 0
        self._flushSendBIO()

    def _flushReceiveBIO(self) -> None:
        """
        Decrypt every record the last read completed, and hand the plaintext to the
        protocol in one call (Twisted's own hands over one 16 KiB record at a time, so a
        64 KiB read cost the door four deliveries, four writes and four sends). A close
        or an error found after some records is acted on after those are delivered.
        """
        recv = self._tlsConnection.recv
        chunks: list[bytes] = []
        ending: Failure | None = None
        clean_close = False
        while not self._lostTLSConnection:
            try:
                chunks.append(recv(TLS_CHUNK))
            except WantReadError:
                break
            except ZeroReturnError:
                clean_close = True
                break
            except SSL.Error:
                ending = Failure()
                break
        if chunks and not self._aborted:
            ProtocolWrapper.dataReceived(self, chunks[0] if len(chunks) == 1 else b"".join(chunks))
        if clean_close or ending is not None:
            self.read_ends_connection()
        if clean_close:
            # The peer's close_notify: answer it; the protocol's connectionLost gets the
            # transport's reason (as in Twisted).
            self._shutdownTLS()
            self._tlsShutdownFinished(None)
        elif ending is not None:
            self._tlsShutdownFinished(ending)
        self._flushSendBIO()

    def makeConnection(self, transport: Any) -> None:
        # What TLSMemoryBIOProtocol.makeConnection and ProtocolWrapper.makeConnection do,
        # but declaring the transport's interfaces with one cached declaration: theirs
        # call directlyProvides once per interface of the transport and then once with
        # all of them, some 40 us of zope.interface work on every connection.
        factory = self.factory
        self._tlsConnection = factory._creatorCallable(self)
        self._appSendBuffer = []
        provide_like(self, transport)
        Protocol.makeConnection(self, transport)
        factory.registerProtocol(self)
        if self._connectWrapped:
            self.wrappedProtocol.makeConnection(self)
        self._checkHandshakeStatus()
