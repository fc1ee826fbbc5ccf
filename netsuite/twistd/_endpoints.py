"""
Listen descriptions, one grammar for every netsuite service.

Stream descriptions are Twisted's own (C{tcp:}, C{tcp6:}, C{unix:}, C{ssl:},
C{systemd:} ...) plus netsuite's hardened TLS, C{nstls:} (L{netsuite.tls._contexts}). Datagram
descriptions are netsuite's:

    udp:PORT[:interface=ADDR][:maxPacketSize=65535]
    systemd:domain=INET|INET6:(index=N|name=NAME):type=dgram

The first binds a UDP socket (IPv6 when C{ADDR} is an IPv6 address, written with
escaped colons: C{interface=\\:\\:1}); the second adopts a datagram socket handed over
by systemd socket activation, which Twisted's C{systemd:} (stream only) cannot express.
C{dtls:} (DTLS 1.2 over UDP, L{netsuite.tls._dtls_endpoint}) is a datagram description
too. Every parser is a plugin (C{twisted/plugins/netsuite_endpoints.py}), as is
C{nstls:}, so they work in any twistd plugin that reads descriptions.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from twisted.internet import defer
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IListeningPort, IStreamServerEndpoint
from twisted.internet.protocol import DatagramProtocol
from twisted.plugin import getPlugins
from twisted.python.systemd import ListenFDs
from zope.interface import implementer

from netsuite._twisted.endpoints import inherited_systemd_sockets, split_description
from netsuite.base.interfaces import IDatagramServerEndpoint, IDatagramServerEndpointStringParser
from netsuite.tls._contexts import TLSConfigError, TLSServerSettings, summarize_certificate
from netsuite.tls._devca import DevCA
from netsuite.tls._dtls_endpoint import DTLSServerEndpoint
from netsuite.tls._dtls_server import DEFAULT_HANDSHAKE_TIMEOUT
from netsuite.tls._dtls_session import DEFAULT_MTU
from netsuite.tls._listener import TLSServerEndpoint, interfaces_are_loopback

__all__ = [
    "MAX_UDP_PAYLOAD",
    "AdoptedDatagramEndpoint",
    "DescriptionError",
    "TLSServerEndpoint",
    "UDPServerEndpoint",
    "datagram_from_string",
    "is_datagram",
    "is_tls",
    "parse_dtls",
    "parse_nstls",
    "parse_systemd_datagram",
    "parse_udp",
    "split_descriptions",
    "stream_from_string",
]

#: The largest UDP payload over IPv4 (65,535 - 20 IP - 8 UDP). Twisted's default
#: C{maxPacketSize} of 8192 truncates anything larger without a word.
MAX_UDP_PAYLOAD = 65507
_RECEIVE_SIZE = 65535


class DescriptionError(ValueError):
    """A listen description is malformed; the message quotes it and says what was expected."""


def _split(description: str) -> tuple[str, list[str], dict[str, str]]:
    """Prefix, positional and keyword arguments of a description (Twisted's own escaping)."""
    args, kwargs = split_description(description)
    if not args:
        raise DescriptionError(f"{description!r}: empty description")
    return args[0], list(args[1:]), dict(kwargs)


def is_datagram(description: str) -> bool:
    """
    Whether C{description} names a datagram listener (C{udp:}, C{systemd:...:type=dgram}, or
    a prefix some plugin registers for datagrams).
    """
    try:
        prefix, _, kwargs = _split(description)
    except (DescriptionError, ValueError):
        return False
    if prefix == "systemd":
        return kwargs.get("type") == "dgram"
    return prefix in _datagram_parsers()


def _datagram_parsers() -> dict[str, IDatagramServerEndpointStringParser]:
    return {p.prefix: p for p in getPlugins(IDatagramServerEndpointStringParser)}


def datagram_from_string(reactor: object, description: str) -> IDatagramServerEndpoint:
    """The datagram twin of L{serverFromString}: parse C{description} into an endpoint."""
    prefix, args, kwargs = _split(description)
    parser = _datagram_parsers().get(prefix)
    if parser is None:
        raise DescriptionError(
            f"{description!r}: unknown datagram prefix {prefix!r}; expected "
            f"{', '.join(sorted(_datagram_parsers()))}"
        )
    try:
        return parser.parseDatagramServer(reactor, *args, **kwargs)
    except TypeError as e:
        raise DescriptionError(f"{description!r}: {e}") from None


def stream_from_string(reactor: object, description: str) -> IStreamServerEndpoint:
    """
    L{serverFromString}, with every way it can fail turned into one L{DescriptionError}
    that quotes the description, so an operator sees which C{--listen} is wrong.
    """
    try:
        return serverFromString(reactor, description)
    except (ValueError, TypeError, KeyError, TLSConfigError) as e:
        if isinstance(e, DescriptionError):
            raise
        raise DescriptionError(f"{description!r}: {e}") from None


@implementer(IDatagramServerEndpoint)
@dataclass
class UDPServerEndpoint:
    """Bind a UDP port; C{max_packet_size} defaults to a whole IP datagram."""

    reactor: object
    port: int
    interface: str = ""
    max_packet_size: int = _RECEIVE_SIZE

    def listen(self, protocol: DatagramProtocol) -> defer.Deferred[IListeningPort]:
        return defer.execute(
            self.reactor.listenUDP,  # type: ignore[attr-defined]
            self.port,
            protocol,
            interface=self.interface,
            maxPacketSize=self.max_packet_size,
        )


@implementer(IDatagramServerEndpoint)
@dataclass
class AdoptedDatagramEndpoint:
    """Use a datagram socket inherited from systemd (socket activation)."""

    reactor: object
    fileno: int
    family: socket.AddressFamily
    max_packet_size: int = _RECEIVE_SIZE

    def listen(self, protocol: DatagramProtocol) -> defer.Deferred[IListeningPort]:
        return defer.execute(
            self.reactor.adoptDatagramPort,  # type: ignore[attr-defined]
            self.fileno,
            self.family,
            protocol,
            maxPacketSize=self.max_packet_size,
        )


def _port_number(value: str, description: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise DescriptionError(f"{description}: port {value!r} is not a number from 0 to 65535")
    return port


def parse_udp(
    reactor: object, port: str, interface: str = "", maxPacketSize: str = str(_RECEIVE_SIZE)
) -> UDPServerEndpoint:
    """C{udp:PORT[:interface=ADDR][:maxPacketSize=N]}."""
    size = _port_number(maxPacketSize, "udp: maxPacketSize")
    return UDPServerEndpoint(reactor, _port_number(port, "udp:"), interface, size or _RECEIVE_SIZE)


def parse_systemd_datagram(
    reactor: object,
    domain: str = "INET",
    index: str | None = None,
    name: str | None = None,
    type: str = "dgram",
    environ: dict[str, str] | None = None,
) -> AdoptedDatagramEndpoint:
    """C{systemd:domain=INET|INET6:(index=N|name=NAME):type=dgram}."""
    if type != "dgram":
        raise DescriptionError(f"systemd: type={type!r}; a datagram listener needs type=dgram")
    families = {"INET": socket.AF_INET, "INET6": socket.AF_INET6}
    if domain not in families:
        raise DescriptionError(f"systemd: domain={domain!r}; expected INET or INET6 for datagrams")
    # Twisted reads (and then deletes) LISTEN_FDS once, when twisted.internet.endpoints
    # is imported; share what it read, so stream and datagram sockets can be mixed.
    fds = inherited_systemd_sockets() if environ is None else ListenFDs.fromEnvironment(environ)
    if name is not None:
        named = fds.inheritedNamedDescriptors()
        if name not in named:
            raise DescriptionError(
                f"systemd: no inherited socket is named {name!r} (have: {sorted(named)})"
            )
        fileno = named[name]
    else:
        inherited = fds.inheritedDescriptors()
        i = int(index or 0)
        if not 0 <= i < len(inherited):
            raise DescriptionError(
                f"systemd: index={i}, but {len(inherited)} socket(s) were inherited"
            )
        fileno = inherited[i]
    return AdoptedDatagramEndpoint(reactor, fileno, families[domain])


def parse_nstls(
    reactor: object,
    port: str,
    interface: str = "",
    backlog: str = "50",
    handshakeTimeout: str = "10",
    reloadInterval: str = "5",
    **kwargs: str,
) -> TLSServerEndpoint:
    """
    C{nstls:PORT:...}; see L{netsuite.tls._contexts} for the certificate settings.

    C{handshakeTimeout} (seconds, 0: none) drops peers that do not finish the handshake;
    C{reloadInterval} (seconds, 0: never) is how often the files are checked for changes.
    With no C{cert} and no C{sni}, a listener on a loopback interface gets a throw-away
    certificate from the local development CA; anywhere else that is an error.
    """
    note = None
    if "cert" not in kwargs and "sni" not in kwargs:
        kwargs, note = _throwaway_certificate("nstls", interface, kwargs)
    settings = TLSServerSettings.from_description(kwargs)
    try:
        timeout, interval = float(handshakeTimeout), float(reloadInterval)
    except ValueError:
        raise DescriptionError(
            "nstls: handshakeTimeout and reloadInterval are seconds (numbers)"
        ) from None
    endpoint = TLSServerEndpoint(
        reactor, _port_number(port, "nstls:"), settings, interface, int(backlog), timeout, interval
    )
    if note:
        endpoint.notes.append(note)
    return endpoint


def _throwaway_certificate(
    prefix: str, interface: str, kwargs: dict[str, str]
) -> tuple[dict[str, str], str]:
    """
    For a listener given no certificate: on a loopback interface, a leaf from the local
    development CA (L{DevCA}) and a note for the start-up log saying so; anywhere else a
    L{TLSConfigError}, since a certificate nobody trusts is no use off this host.
    """
    if not interface or not interfaces_are_loopback([interface]):
        raise TLSConfigError(
            f"{prefix}: needs cert=FILE; a throw-away certificate is only made for a "
            "loopback interface (interface=127.0.0.1 or ::1)"
        )
    ca = DevCA()
    cert, key = ca.throwaway()
    note = (
        f"throw-away certificate from the netsuite development CA {ca.cert_path} "
        f"(CA sha256={summarize_certificate(ca.load_x509()).sha256}); "
        f"clients trust it with --ca {ca.cert_path}"
    )
    return {**kwargs, "cert": str(cert), "key": str(key)}, note


_LIMITS = {
    "mtu": (int, 256, 65507),
    "maxSessions": (int, 1, 10_000_000),
    "idleTimeout": (float, 0.1, 86400.0 * 7),
    "handshakeTimeout": (float, 0.1, 3600.0),
    "reloadInterval": (float, 0.0, 86400.0),
}
_CERTIFICATE_KEYS = (
    "cert", "key", "minVersion", "ciphers", "alpn", "clientCA", "verifyClient", "sni",
)  # fmt: skip


def _limit(name: str, value: str) -> Any:
    kind, low, high = _LIMITS[name]
    try:
        number = kind(value)
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise TLSConfigError(f"dtls: {name}={value!r}; expected a number from {low} to {high}")
    return number


def parse_dtls(reactor: Any, port: str, interface: str = "", **kwargs: str) -> DTLSServerEndpoint:
    """C{dtls:PORT[:interface=ADDR]:cert=...}; see L{netsuite.tls._dtls_endpoint} for every
    setting. Without C{cert} and C{sni}, as C{nstls:}: a throw-away certificate on a
    loopback interface, an error anywhere else."""
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise TLSConfigError(f"dtls: port {port!r} is not a number from 0 to 65535")
    unknown = set(kwargs) - set(_LIMITS) - set(_CERTIFICATE_KEYS)
    if unknown:
        known = sorted({*_LIMITS, *_CERTIFICATE_KEYS, "interface"})
        raise TLSConfigError(
            f"dtls: unknown setting {sorted(unknown)[0]!r}; expected one of {', '.join(known)}"
        )
    limits = {k: _limit(k, kwargs.pop(k)) for k in list(kwargs) if k in _LIMITS}
    note = None
    if "cert" not in kwargs and "sni" not in kwargs:
        kwargs, note = _throwaway_certificate("dtls", interface, kwargs)
    try:
        settings = TLSServerSettings.from_description(kwargs)
    except TLSConfigError as e:
        text = str(e)
        raise TLSConfigError(text.replace("nstls:", "dtls:", 1)) from None
    endpoint = DTLSServerEndpoint(
        reactor,
        number,
        settings,
        interface,
        mtu=limits.get("mtu", DEFAULT_MTU),
        max_sessions=limits.get("maxSessions", 1024),
        idle_timeout=limits.get("idleTimeout", 300.0),
        handshake_timeout=limits.get("handshakeTimeout", DEFAULT_HANDSHAKE_TIMEOUT),
        reload_interval=limits.get("reloadInterval", 5.0),
    )
    if note:
        endpoint.notes.append(note)
    return endpoint


def is_tls(description: str, endpoint: object) -> bool:
    """Whether a stream listener speaks TLS (C{nstls:}, or Twisted's C{ssl:}/C{tls:})."""
    return bool(getattr(endpoint, "certificates", None)) or description.startswith(
        ("ssl:", "tls:")
    )


def split_descriptions(descriptions: Iterable[str]) -> tuple[list[str], list[str]]:
    """Stream and datagram descriptions, each list in the order given."""
    stream: list[str] = []
    datagram: list[str] = []
    for d in descriptions:
        (datagram if is_datagram(d) else stream).append(d)
    return stream, datagram
