"""
DTLS 1.2 without I/O: record framing, stateless cookies, and one association.

Twisted has no DTLS; pyOpenSSL has the pieces (C{DTLS_METHOD}, cookie callbacks,
C{DTLSv1_listen}, retransmission timers) and a C{Connection} built without a socket works
on memory BIOs. That makes an association a sans-IO object: datagrams in, events and
datagrams out, time handled by the caller. This module holds that object and what is
needed around it; L{netsuite.tls._dtls_server} and L{netsuite.tls._dtls_client} are
the Twisted adapters.

Three facts about memory BIOs shape it:

  - A memory BIO is a byte stream: what OpenSSL writes as separate datagrams comes out
    concatenated. DTLS records carry their own length, so L{split_records} recovers them
    and L{pack_datagrams} packs them into datagrams no larger than the MTU (several
    records in one datagram is allowed by RFC 6347, a record is never split).
  - Incoming datagrams are fed one at a time and processed at once, so OpenSSL reads each
    as one packet, as it would from a socket.
  - OpenSSL cannot ask a memory BIO for the path MTU (C{OP_NO_QUERY_MTU} is set and the
    MTU given with C{set_ciphertext_mtu}).

Nothing here keeps state for an address that has not returned a cookie: L{stateless_hello}
runs C{DTLSv1_listen} on a throw-away connection for each first datagram, and only a
ClientHello whose cookie verifies yields a connection to keep.

The module is above 400 lines because it is one state machine, a DTLS session over
memory BIOs, with the stateless cookie exchange that precedes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass

from OpenSSL import SSL

__all__ = [
    "DEFAULT_MTU",
    "MAX_COOKIE_REPLY",
    "CookieJar",
    "DTLSError",
    "DTLSSession",
    "DatagramReceived",
    "Event",
    "HandshakeComplete",
    "HelloOutcome",
    "SessionClosed",
    "client_random",
    "is_client_hello",
    "is_hello_verify_request",
    "pack_datagrams",
    "split_records",
    "ssl_error_text",
    "stateless_hello",
]

#: A UDP payload that crosses any IPv6 path unfragmented (1280 - 40 IPv6 - 8 UDP, less
#: headroom for tunnels). Handshake flights are cut into records of at most this size.
DEFAULT_MTU = 1200

#: DTLS record header: type (1), version (2), epoch (2), sequence number (6), length (2).
RECORD_HEADER = 13
_HANDSHAKE_HEADER = 12
CONTENT_ALERT = 21
CONTENT_HANDSHAKE = 22
_CLIENT_HELLO = 1
_HELLO_VERIFY_REQUEST = 3

#: The largest reply an address that has not proved it receives can ever get: one record
#: holding a HelloVerifyRequest (version, cookie length, cookie of at most 255 bytes).
MAX_COOKIE_REPLY = RECORD_HEADER + _HANDSHAKE_HEADER + 3 + 255

_COOKIE_BYTES = 16


class DTLSError(Exception):
    """A DTLS session was used in a state that does not allow it (sending before the
    handshake, after the close)."""


def split_records(blob: bytes) -> list[bytes]:
    """
    The DTLS records in C{blob}, each whole; a truncated tail is dropped.

    OpenSSL writes records one after another into a memory BIO; their length fields are
    what restores the boundaries a datagram socket would have kept.
    """
    records = []
    at = 0
    while len(blob) - at >= RECORD_HEADER:
        (length,) = struct.unpack_from("!H", blob, at + 11)
        end = at + RECORD_HEADER + length
        if end > len(blob):
            break
        records.append(blob[at:end])
        at = end
    return records


def pack_datagrams(records: list[bytes], mtu: int) -> list[bytes]:
    """
    Records packed in order into as few datagrams as fit in C{mtu} bytes each.

    A record larger than C{mtu} (application data is not fragmented by DTLS) travels
    alone; records are never split, as RFC 6347 requires.
    """
    datagrams: list[bytes] = []
    current = b""
    for record in records:
        if current and len(current) + len(record) > mtu:
            datagrams.append(current)
            current = b""
        current += record
    if current:
        datagrams.append(current)
    return datagrams


def _first_handshake_type(datagram: bytes) -> int | None:
    """The handshake message type of the first record, if it is an epoch-0 handshake."""
    if len(datagram) < RECORD_HEADER + 1 or datagram[0] != CONTENT_HANDSHAKE:
        return None
    if datagram[1] != 0xFE or datagram[3:5] != b"\0\0":  # DTLS major version, epoch 0
        return None
    return datagram[RECORD_HEADER]


def is_client_hello(datagram: bytes) -> bool:
    """
    Whether C{datagram} starts with a cleartext (epoch 0) ClientHello: the only thing
    worth a throw-away connection from an unknown address, checked before building one.
    """
    return _first_handshake_type(datagram) == _CLIENT_HELLO


def client_random(datagram: bytes) -> bytes | None:
    """
    The 32-byte random of the ClientHello C{datagram} starts with, if it holds one.

    A client keeps its random across the cookie exchange and every retransmission of one
    handshake and picks a new one for a new handshake: a ClientHello that arrives on an
    established session is a late duplicate when the random matches the session's.
    """
    start = RECORD_HEADER + _HANDSHAKE_HEADER + 2  # after the record, handshake, version
    if not is_client_hello(datagram) or len(datagram) < start + 32:
        return None
    return datagram[start : start + 32]


def is_hello_verify_request(datagram: bytes) -> bool:
    """
    Whether C{datagram} is exactly one record holding a HelloVerifyRequest and no more
    than L{MAX_COOKIE_REPLY} bytes: the only reply allowed to an unverified address.
    """
    return (
        len(datagram) <= MAX_COOKIE_REPLY
        and _first_handshake_type(datagram) == _HELLO_VERIFY_REQUEST
        and split_records(datagram) == [datagram]
    )


class CookieJar:
    """
    Stateless DTLS cookies: an HMAC of the peer's address under a secret that rotates.

    A cookie proves that whoever sends it received what the server sent to that address,
    so it is bound to the address and to nothing the server remembers. The secret is
    replaced every C{lifetime} seconds and the previous one still accepted, so a cookie
    is good for one to two lifetimes and a leaked secret stops mattering. Time is passed
    in (L{rotate_if_due}), so any clock drives it.

    The jar is wired into a context with L{install}: OpenSSL then calls it from
    C{DTLSv1_listen} and again when the handshake reads the ClientHello, with the
    connection whose app data is the peer key (L{stateless_hello} sets it).
    """

    def __init__(
        self,
        lifetime: float = 30.0,
        now: float = 0.0,
        random: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.lifetime = lifetime
        self._random = random
        self._secret = random(32)
        self._previous = self._secret
        self._rotated_at = now

    def rotate_if_due(self, now: float) -> bool:
        """Start a new secret if the current one is C{lifetime} old; say whether it did."""
        if now - self._rotated_at < self.lifetime:
            return False
        # Past two lifetimes, the old secret must not survive as "previous" either.
        stale = now - self._rotated_at >= 2 * self.lifetime
        self._previous = self._random(32) if stale else self._secret
        self._secret = self._random(32)
        self._rotated_at = now
        return True

    @staticmethod
    def _mac(secret: bytes, peer: str) -> bytes:
        return hmac.new(secret, peer.encode(), hashlib.sha256).digest()[:_COOKIE_BYTES]

    def cookie(self, peer: str) -> bytes:
        """
        The cookie the address C{peer} (its L{netsuite.base._addresses.peer_key_of})
        must return.
        """
        return self._mac(self._secret, peer)

    def verify(self, peer: str, cookie: bytes) -> bool:
        """Whether C{cookie} was issued to C{peer} under the current or previous secret."""
        return any(
            hmac.compare_digest(cookie, self._mac(secret, peer))
            for secret in (self._secret, self._previous)
        )

    def install(self, context: SSL.Context) -> None:
        """Make C{context} (not yet used) issue and check cookies from this jar."""
        context.set_cookie_generate_callback(lambda conn: self.cookie(conn.get_app_data()))
        context.set_cookie_verify_callback(
            lambda conn, cookie: self.verify(conn.get_app_data(), cookie)
        )


@dataclass(frozen=True)
class HelloOutcome:
    """
    What the stateless check made of a first datagram from an address.

    @ivar verdict: C{"cookie_sent"} (C{reply} is the HelloVerifyRequest),
        C{"verified"} (C{connection} holds the ClientHello; keep it as the session),
        C{"ignored"} (not a ClientHello, or one OpenSSL refused; nothing is sent).
    """

    verdict: str
    reply: bytes = b""
    connection: SSL.Connection | None = None


def stateless_hello(context: SSL.Context, datagram: bytes, peer: str) -> HelloOutcome:
    """
    Run the DTLS cookie exchange on C{datagram} from C{peer}, keeping nothing.

    A throw-away connection reads the datagram with C{DTLSv1_listen}. Without a valid
    cookie, OpenSSL answers with a HelloVerifyRequest, which is returned only if it is
    exactly that (one record, at most L{MAX_COOKIE_REPLY} bytes, smaller than any
    ClientHello), so an address that has not proved it receives gets nothing else, and
    the connection is dropped. With a valid cookie the connection, which keeps the
    ClientHello, is returned to become the session.
    """
    if not is_client_hello(datagram):
        return HelloOutcome("ignored")
    conn = SSL.Connection(context, None)
    conn.set_app_data(peer)
    conn.bio_write(datagram)
    try:
        conn.DTLSv1_listen()
    except SSL.WantReadError:
        reply = _drain(conn)
        if is_hello_verify_request(reply) and len(reply) <= len(datagram):
            return HelloOutcome("cookie_sent", reply=reply)
        return HelloOutcome("ignored")
    except SSL.Error:
        return HelloOutcome("ignored")
    return HelloOutcome("verified", connection=conn)


def _drain(conn: SSL.Connection) -> bytes:
    out = []
    while True:
        try:
            out.append(conn.bio_read(65536))
        except SSL.WantReadError:
            return b"".join(out)


# Events a session reports, h11-style: small frozen records.


@dataclass(frozen=True)
class HandshakeComplete:
    """The handshake finished (and, on a client, the server's name was verified)."""

    version: str
    cipher: str
    alpn: str | None = None


@dataclass(frozen=True)
class DatagramReceived:
    """One decrypted application datagram."""

    data: bytes


@dataclass(frozen=True)
class SessionClosed:
    """
    The session ended; C{clean} when the peer sent close_notify (or we closed it).

    The reason is for the log: C{"close_notify"}, C{"handshake failed: ..."},
    C{"handshake timed out"}, C{"certificate does not match ..."}.
    """

    reason: str
    clean: bool = False


Event = HandshakeComplete | DatagramReceived | SessionClosed


def ssl_error_text(error: BaseException) -> str:
    """The reasons in pyOpenSSL's error list (C{"certificate verify failed"}), joined."""
    reasons = []
    for entry in error.args[0] if error.args and isinstance(error.args[0], list) else ():
        if isinstance(entry, tuple) and entry:
            reasons.append(str(entry[-1]))
    return "; ".join(r for r in reasons if r) or str(error) or type(error).__name__


class DTLSSession:
    """
    One DTLS association over memory BIOs, client or server; sans-IO.

    Feed each datagram from the peer to L{receive_datagram}, send with L{send}, and after
    every call put L{datagrams_to_send} on the wire. Retransmission is OpenSSL's: ask
    L{timeout} how long until it is due and call L{handle_timeout} then (early is
    harmless; OpenSSL keeps its own clock and does nothing before the time).

    C{verify} runs once the handshake completes (a client checks the server's name
    there); raising from it closes the session with the message as the reason.

    @ivar state: C{"handshaking"}, C{"established"} or C{"closed"}.
    """

    def __init__(
        self,
        connection: SSL.Connection,
        *,
        mtu: int = DEFAULT_MTU,
        verify: Callable[[SSL.Connection], None] | None = None,
    ) -> None:
        self.connection = connection
        self.mtu = mtu
        self.verify = verify
        self.state = "handshaking"
        connection.set_ciphertext_mtu(mtu)
        self._out: list[bytes] = []

    @property
    def established(self) -> bool:
        return self.state == "established"

    def start(self) -> list[Event]:
        """
        Drive the handshake once: a client's ClientHello, or a server's first flight for
        the ClientHello that L{stateless_hello} kept.
        """
        return self._progress()

    def receive_datagram(self, datagram: bytes) -> list[Event]:
        """Process one datagram from the peer; return what happened, in order."""
        if self.state == "closed":
            return []
        self.connection.bio_write(datagram)
        return self._progress()

    def _progress(self) -> list[Event]:
        events: list[Event] = []
        if self.state == "handshaking":
            try:
                self.connection.do_handshake()
            except SSL.WantReadError:
                self._collect()
                return events
            except SSL.Error as e:
                return self._fail(f"handshake failed: {ssl_error_text(e)}")
            if self.verify is not None:
                try:
                    self.verify(self.connection)
                except Exception as e:
                    self._shutdown()
                    return self._fail(str(e))
            self.state = "established"
            alpn = self.connection.get_alpn_proto_negotiated()
            events.append(
                HandshakeComplete(
                    self.connection.get_protocol_version_name(),
                    self.connection.get_cipher_name() or "",
                    alpn.decode("ascii", "replace") if alpn else None,
                )
            )
        while self.state == "established":
            try:
                data = self.connection.recv(65536)
            except SSL.WantReadError:
                break
            except SSL.ZeroReturnError:
                self._shutdown()
                events.append(self._closed("close_notify", clean=True))
                break
            except SSL.Error as e:
                events.extend(self._fail(ssl_error_text(e)))
                break
            events.append(DatagramReceived(data))
        self._collect()
        return events

    def send(self, data: bytes) -> None:
        """Encrypt C{data} as one record (one datagram) to the peer."""
        if self.state != "established":
            raise DTLSError(f"cannot send: the session is {self.state}")
        try:
            self.connection.send(data)
        except SSL.Error as e:
            raise DTLSError(f"cannot send {len(data)} bytes: {ssl_error_text(e)}") from None
        self._collect()

    def timeout(self) -> float | None:
        """Seconds until OpenSSL wants L{handle_timeout} (a retransmission), if ever."""
        if self.state == "closed":
            return None
        return self.connection.DTLSv1_get_timeout()

    def handle_timeout(self) -> list[Event]:
        """Retransmit what is due; the session fails after OpenSSL's last retry."""
        if self.state == "closed":
            return []
        try:
            self.connection.DTLSv1_handle_timeout()
        except SSL.Error:
            return self._fail("handshake timeout (retransmissions exhausted)")
        self._collect()
        return []

    def close(self, reason: str = "closed") -> list[Event]:
        """Send close_notify (if the handshake completed) and end the session."""
        if self.state == "closed":
            return []
        if self.state == "established":
            self._shutdown()
        return [self._closed(reason, clean=True)]

    def abort(self, reason: str) -> list[Event]:
        """End the session and send nothing."""
        if self.state == "closed":
            return []
        self._out.clear()
        return [self._closed(reason)]

    def datagrams_to_send(self) -> list[bytes]:
        """The datagrams produced since the last call, each at most C{mtu} bytes of records."""
        self._collect()
        out, self._out = self._out, []
        return out

    def _shutdown(self) -> None:
        with contextlib.suppress(SSL.Error):
            self.connection.shutdown()
        self._collect()

    def _fail(self, reason: str) -> list[Event]:
        self._collect()  # OpenSSL's fatal alert, if it wrote one
        return [self._closed(reason)]

    def _closed(self, reason: str, clean: bool = False) -> SessionClosed:
        self.state = "closed"
        return SessionClosed(reason, clean)

    def _collect(self) -> None:
        blob = _drain(self.connection)
        if blob:
            self._out.extend(pack_datagrams(split_records(blob), self.mtu))
