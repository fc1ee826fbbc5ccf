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

C{systemd:} stream descriptions are parsed here too (L{parse_systemd_stream}), not by
Twisted: its parser keeps no socket when C{LISTEN_FDNAMES} is missing (systemd before
227, C{systemd-socket-activate} without C{--fdname}), where netsuite adopts them by index
(L{InheritedSockets}), and says exactly what was inherited when a socket is not there.
C{dtls:} (DTLS 1.2 over UDP, L{netsuite.tls._dtls_endpoint}) is a datagram description
too. Every parser is a plugin (C{twisted/plugins/netsuite_endpoints.py}), as is
C{nstls:}, so they work in any twistd plugin that reads descriptions.

The module is above 400 lines because it holds every description parser netsuite adds
(C{nstls:}, C{udp:}, C{dtls:}, C{systemd:}), each small, and the inherited-socket lookup
they share.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twisted.internet import defer, fdesc
from twisted.internet.endpoints import AdoptedStreamServerEndpoint, serverFromString
from twisted.internet.interfaces import IListeningPort, IReactorTCP, IStreamServerEndpoint
from twisted.internet.protocol import DatagramProtocol
from twisted.plugin import getPlugins
from zope.interface import implementer

from netsuite._twisted.endpoints import split_description
from netsuite.base.interfaces import IDatagramServerEndpoint, IDatagramServerEndpointStringParser
from netsuite.tls._contexts import TLSConfigError, TLSServerSettings, summarize_certificate
from netsuite.tls._devca import DevCA
from netsuite.tls._dtls_endpoint import DTLSServerEndpoint
from netsuite.tls._dtls_server import DEFAULT_HANDSHAKE_TIMEOUT
from netsuite.tls._dtls_session import DEFAULT_MTU
from netsuite.tls._listener import TLSServerEndpoint, interfaces_are_loopback

__all__ = [
    "BACKLOG_PREFIXES",
    "LISTEN_BACKLOG",
    "MAX_UDP_PAYLOAD",
    "AdoptedDatagramEndpoint",
    "DescriptionError",
    "InheritedSockets",
    "TLSServerEndpoint",
    "UDPServerEndpoint",
    "datagram_from_string",
    "is_datagram",
    "is_tls",
    "parse_dtls",
    "parse_nstls",
    "parse_systemd_datagram",
    "parse_systemd_stream",
    "parse_udp",
    "split_descriptions",
    "startup_environment",
    "stream_from_string",
    "with_backlog",
]

#: The largest UDP payload over IPv4 (65,535 - 20 IP - 8 UDP). Twisted's default
#: C{maxPacketSize} of 8192 truncates anything larger without a word.
MAX_UDP_PAYLOAD = 65507
_RECEIVE_SIZE = 65535


#: The TCP listen backlog netsuite asks for (nginx's default). Twisted's 50 leaves most
#: of a burst of connects half-open (SYNs dropped, clients retrying after 1 s, 3 s ...):
#: 10,000 chat clients took minutes to connect. The kernel caps it at
#: C{net.core.somaxconn} (4096 on Linux 5.4+).
LISTEN_BACKLOG = 511

#: The stream prefixes that take C{backlog=} (Twisted's C{tcp:}, C{tcp6:}; our C{nstls:}).
BACKLOG_PREFIXES = frozenset({"tcp", "tcp6", "nstls"})


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


def with_backlog(description: str, backlog: int = LISTEN_BACKLOG) -> str:
    """
    C{description} with C{:backlog=BACKLOG} added when it is a TCP listener
    (L{BACKLOG_PREFIXES}) that does not choose its own; any other description unchanged.
    """
    try:
        prefix, _, kwargs = _split(description)
    except (DescriptionError, ValueError):
        return description  # stream_from_string reports it, quoting the original
    if prefix not in BACKLOG_PREFIXES or "backlog" in kwargs:
        return description
    return f"{description}:backlog={backlog}"


def stream_from_string(
    reactor: object, description: str, backlog: int | None = None
) -> IStreamServerEndpoint:
    """
    L{serverFromString}, with every way it can fail turned into one L{DescriptionError}
    that quotes the description, so an operator sees which C{--listen} is wrong.

    C{backlog}, when given, is the listen backlog of a TCP description that names none
    (L{with_backlog}); errors still quote the description as written.
    """
    try:
        prefix, args, kwargs = _split(description)
        if prefix == "systemd":
            positional: list[Any] = args
            named: dict[str, Any] = kwargs
            return parse_systemd_stream(reactor, *positional, **named)
        full = description if backlog is None else with_backlog(description, backlog)
        return serverFromString(reactor, full)
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
    """
    Use a datagram socket inherited from systemd (socket activation).

    systemd and C{systemd-socket-activate} hand over blocking sockets, and Twisted's
    C{adoptDatagramPort} wants a non-blocking one: adopted as it comes, the port's read
    loop blocks in C{recvfrom} once the queue is empty, so the reactor never runs again
    and SIGTERM is logged but never acted on. Like Twisted's
    L{AdoptedStreamServerEndpoint}, this sets C{O_NONBLOCK} first, and closes the
    inherited descriptor once the port holds its own copy, so stopping the port really
    closes the socket.
    """

    reactor: object
    fileno: int
    family: socket.AddressFamily
    max_packet_size: int = _RECEIVE_SIZE

    def listen(self, protocol: DatagramProtocol) -> defer.Deferred[IListeningPort]:
        return defer.execute(self._adopt, protocol)

    def _adopt(self, protocol: DatagramProtocol) -> IListeningPort:
        fdesc.setNonBlocking(self.fileno)
        port: IListeningPort = self.reactor.adoptDatagramPort(  # type: ignore[attr-defined]
            self.fileno, self.family, protocol, maxPacketSize=self.max_packet_size
        )
        os.close(self.fileno)
        return port


#: The first descriptor systemd hands over (C{SD_LISTEN_FDS_START}, sd_listen_fds(3)).
LISTEN_FDS_START = 3
_LISTEN_KEYS = ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES")
_DOMAINS: dict[str, socket.AddressFamily] = {
    "INET": socket.AF_INET, "INET6": socket.AF_INET6, "UNIX": socket.AF_UNIX,
}  # fmt: skip
_TYPES: dict[str, int] = {"stream": socket.SOCK_STREAM, "dgram": socket.SOCK_DGRAM}
_TYPE_NAMES: dict[int, str] = {number: name for name, number in _TYPES.items()}
_DOMAIN_NAMES: dict[int, str] = {number: name for name, number in _DOMAINS.items()}

#: What a descriptor is: (address family, socket type), or None when it is no open socket.
SocketKind = tuple[int, int] | None


def socket_kind(fileno: int) -> SocketKind:
    """The family and type of the socket C{fileno} (the kernel's word), without owning it."""
    try:
        sock = socket.socket(fileno=fileno)
    except OSError:
        return None
    try:
        return (sock.family, sock.type)
    finally:
        sock.detach()


def _kind_text(kind: SocketKind) -> str:
    if kind is None:
        return "not an open socket"
    family, kind_type = kind
    domain = _DOMAIN_NAMES.get(family, str(family))
    return f"a {_TYPE_NAMES.get(kind_type, str(kind_type))} socket of domain={domain}"


def startup_environment() -> Mapping[str, str]:
    """
    C{LISTEN_PID}, C{LISTEN_FDS} and C{LISTEN_FDNAMES} as this process was started with.

    Twisted's C{systemd:} parser reads C{LISTEN_FDS} and C{LISTEN_PID} when
    L{twisted.internet.endpoints} is imported, and deletes them from C{os.environ}; and
    when C{LISTEN_FDNAMES} is missing (systemd before 227, C{systemd-socket-activate}
    without C{--fdname}) it keeps no socket at all. So when C{os.environ} no longer has
    C{LISTEN_FDS}, they are read from C{/proc/self/environ}: the environment the kernel
    gave this process at C{exec}, which C{unsetenv} does not change (Linux, the only
    system systemd runs on).
    """
    if "LISTEN_FDS" in os.environ:
        return {k: os.environ[k] for k in _LISTEN_KEYS if k in os.environ}
    try:
        raw = Path("/proc/self/environ").read_bytes()
    except OSError:
        return {}
    found = {}
    for entry in raw.split(b"\0"):
        key, sep, value = entry.decode("utf-8", "replace").partition("=")
        if sep and key in _LISTEN_KEYS:
            found[key] = value
    return found


@dataclass(frozen=True)
class InheritedSockets:
    """
    The sockets systemd (or C{systemd-socket-activate}) handed this process, as
    sd_listen_fds(3) defines them; sans-IO but for C{inspect}, which says what a
    descriptor is.

    Unlike Twisted's C{ListenFDs}, sockets without names (no C{LISTEN_FDNAMES}) are kept:
    C{index=N} reaches them; only C{name=NAME} needs names. One C{.socket} unit gives every
    socket it lists the same name (its C{FileDescriptorName=}), so a name may stand for a
    stream and a datagram socket at once: the description's C{type} and C{domain} pick one.

    @ivar fds: the descriptors, consecutive from 3.
    @ivar names: one per descriptor; empty when C{LISTEN_FDNAMES} is missing or does not
        name every descriptor.
    @ivar why_none: why C{fds} is empty, for error messages.
    @ivar names_note: why C{names} is empty, for error messages.
    """

    fds: tuple[int, ...] = ()
    names: tuple[str, ...] = ()
    why_none: str = "LISTEN_FDS is not set"
    names_note: str = "LISTEN_FDNAMES is not set"
    inspect: Callable[[int], SocketKind] = field(default=socket_kind, compare=False)

    @classmethod
    def from_environ(
        cls,
        environ: Mapping[str, str],
        pid: int,
        inspect: Callable[[int], SocketKind] = socket_kind,
    ) -> InheritedSockets:
        """Read C{LISTEN_*} from C{environ}, for the process C{pid}."""
        count_text = environ.get("LISTEN_FDS")
        if count_text is None:
            return cls(inspect=inspect)
        owner = environ.get("LISTEN_PID")
        if owner != str(pid):
            return cls(
                why_none=f"LISTEN_FDS={count_text} is for LISTEN_PID={owner}, not this "
                f"process ({pid})",
                inspect=inspect,
            )
        count = int(count_text) if count_text.isdigit() else -1
        if count <= 0:
            return cls(why_none=f"LISTEN_FDS={count_text!r}", inspect=inspect)
        raw = environ.get("LISTEN_FDNAMES")
        names = tuple(raw.split(":")) if raw else ()
        note = "" if raw else "LISTEN_FDNAMES is not set"
        if raw and len(names) != count:
            note = f"LISTEN_FDNAMES={raw!r} names {len(names)}, not {count}: names ignored"
            names = ()
        fds = tuple(range(LISTEN_FDS_START, LISTEN_FDS_START + count))
        return cls(fds, names, why_none="", names_note=note, inspect=inspect)

    def describe(self) -> str:
        """What was inherited, for an error message: count, descriptors and names."""
        if not self.fds:
            return f"0 sockets were inherited ({self.why_none})"
        if self.names:
            pairs = zip(self.fds, self.names, strict=True)
            each = ", ".join(f"fd {fd} named {n!r}" for fd, n in pairs)
        else:
            each = ", ".join(f"fd {fd}" for fd in self.fds) + f", unnamed ({self.names_note})"
        return f"{len(self.fds)} socket(s) were inherited: {each}"

    def select(self, domain: str, kind: str, index: str | None, name: str | None) -> int:
        """
        The descriptor C{systemd:domain=DOMAIN:(index=N|name=NAME):type=KIND} asks for,
        checked to be a socket of that family and type; else a L{DescriptionError} that
        says what was asked and what was inherited.
        """
        asked = f"systemd:domain={domain}:" + (
            f"index={index}" if name is None else f"name={name}"
        )
        asked += f":type={kind}"
        if domain not in _DOMAINS:
            raise DescriptionError(f"{asked}: domain={domain!r}; expected {', '.join(_DOMAINS)}")
        if kind not in _TYPES:
            raise DescriptionError(f"{asked}: type={kind!r}; expected stream or dgram")
        want = (_DOMAINS[domain], _TYPES[kind])
        if (index is None) == (name is None):
            raise DescriptionError(
                f"systemd:domain={domain}:type={kind}: give exactly one of index=N or "
                f"name=NAME; {self.describe()}"
            )
        if name is None:
            assert index is not None
            i = int(index) if index.isdigit() else -1
            if not 0 <= i < len(self.fds):
                raise DescriptionError(f"{asked} asked for, but {self.describe()}")
            fd = self.fds[i]
            found = self.inspect(fd)
            if found != want:
                raise DescriptionError(
                    f"{asked} asks for {_kind_text(want)}, but fd {fd} is {_kind_text(found)}"
                    + _hint(want, found)
                )
            return fd
        # names is empty or one per descriptor (from_environ): no name, no candidate.
        candidates = [fd for fd, n in zip(self.fds, self.names, strict=False) if n == name]
        if not candidates:
            hint = (
                ""
                if self.names
                else "; name sockets with FileDescriptorName= (systemd) or --fdname= "
                "(systemd-socket-activate), or use index=N"
            )
            raise DescriptionError(f"{asked} asked for, but {self.describe()}{hint}")
        kinds = {fd: self.inspect(fd) for fd in candidates}
        matching = [fd for fd in candidates if kinds[fd] == want]
        if len(matching) == 1:
            return matching[0]
        each = "; ".join(f"fd {fd} is {_kind_text(kinds[fd])}" for fd in candidates)
        if not matching:
            raise DescriptionError(f"{asked} asks for {_kind_text(want)}, but {each}")
        raise DescriptionError(
            f"{asked}: {len(matching)} sockets named {name!r} are {_kind_text(want)} "
            f"({each}); pick one with index=N (0 is fd {LISTEN_FDS_START}) or name them apart"
        )


def _hint(want: tuple[int, int], found: SocketKind) -> str:
    if found is None:
        return ""
    if found[1] != want[1] and found[1] in _TYPE_NAMES:
        return f"; say type={_TYPE_NAMES[found[1]]}"
    if found[0] != want[0] and found[0] in _DOMAIN_NAMES:
        return f"; say domain={_DOMAIN_NAMES[found[0]]}"
    return ""


def inherited_sockets() -> InheritedSockets:
    """The sockets systemd handed this process (L{startup_environment})."""
    return InheritedSockets.from_environ(startup_environment(), os.getpid())


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
    sockets: InheritedSockets | None = None,
) -> AdoptedDatagramEndpoint:
    """C{systemd:domain=INET|INET6:(index=N|name=NAME):type=dgram}."""
    if type != "dgram":
        raise DescriptionError(f"systemd: type={type!r}; a datagram listener needs type=dgram")
    if domain not in ("INET", "INET6"):
        raise DescriptionError(f"systemd: domain={domain!r}; expected INET or INET6 for datagrams")
    fds = inherited_sockets() if sockets is None else sockets
    fileno = fds.select(domain, type, index, name)
    return AdoptedDatagramEndpoint(reactor, fileno, _DOMAINS[domain])


def parse_systemd_stream(
    reactor: object,
    domain: str = "INET",
    index: str | None = None,
    name: str | None = None,
    type: str = "stream",
    sockets: InheritedSockets | None = None,
) -> AdoptedStreamServerEndpoint:
    """
    C{systemd:domain=INET|INET6|UNIX:(index=N|name=NAME)[:type=stream]}, in place of
    Twisted's own parser, which finds no socket when C{LISTEN_FDNAMES} is missing and
    fails with a bare C{IndexError} or C{KeyError} when the socket is not there.
    """
    if type != "stream":
        raise DescriptionError(f"systemd: type={type!r}; a stream listener needs type=stream")
    fds = inherited_sockets() if sockets is None else sockets
    fileno = fds.select(domain, type, index, name)
    return AdoptedStreamServerEndpoint(reactor, fileno, _DOMAINS[domain])


def parse_nstls(
    reactor: IReactorTCP,
    port: str,
    interface: str = "",
    backlog: str = str(LISTEN_BACKLOG),
    handshakeTimeout: str = "10",
    reloadInterval: str = "5",
    **kwargs: str,
) -> TLSServerEndpoint:
    """
    C{nstls:PORT:...}; see L{netsuite.tls._contexts} for the certificate settings.

    C{handshakeTimeout} (seconds, 0: none) drops peers that do not finish the handshake;
    C{reloadInterval} (seconds, 0: never) is how often the files are checked for changes;
    C{backlog} is the TCP listen backlog (default L{LISTEN_BACKLOG}, not Twisted's 50).
    With no C{cert} and no C{sni}, a listener on a loopback interface gets a throw-away
    certificate from the local development CA; anywhere else that is an error.
    """
    throwaway = None
    if "cert" not in kwargs and "sni" not in kwargs:
        kwargs, throwaway = _throwaway_certificate("nstls", interface, kwargs)
    settings = TLSServerSettings.from_description(kwargs)
    try:
        timeout, interval = float(handshakeTimeout), float(reloadInterval)
    except ValueError:
        raise DescriptionError(
            "nstls: handshakeTimeout and reloadInterval are seconds (numbers)"
        ) from None
    try:
        backlog_n = int(backlog)
    except ValueError:
        raise DescriptionError(f"nstls: backlog is a number, not {backlog!r}") from None
    if backlog_n < 1:
        raise DescriptionError(f"nstls: backlog must be 1 or more, not {backlog!r}")
    endpoint = TLSServerEndpoint(
        reactor, _port_number(port, "nstls:"), settings, interface, backlog_n, timeout, interval
    )
    _mark_throwaway(endpoint, throwaway)
    return endpoint


def _mark_throwaway(endpoint: Any, throwaway: tuple[str, str] | None) -> None:
    """On an endpoint serving a throw-away certificate: the start-up note, the CA to trust."""
    if throwaway is not None:
        note, endpoint.trust_ca = throwaway
        endpoint.notes.append(note)


def _throwaway_certificate(
    prefix: str, interface: str, kwargs: dict[str, str]
) -> tuple[dict[str, str], tuple[str, str]]:
    """
    For a listener given no certificate: on a loopback interface, a leaf from the local
    development CA (L{DevCA}), with a note for the start-up log and the CA file to trust;
    anywhere else a L{TLSConfigError}, since a certificate nobody trusts is no use off
    this host.
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
    return {**kwargs, "cert": str(cert), "key": str(key)}, (note, str(ca.cert_path))


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
    throwaway = None
    if "cert" not in kwargs and "sni" not in kwargs:
        kwargs, throwaway = _throwaway_certificate("dtls", interface, kwargs)
    try:
        settings = TLSServerSettings.from_description(kwargs)
    except TLSConfigError as e:
        text = str(e)
        raise TLSConfigError(text.replace("nstls:", "dtls:", 1)) from None
    endpoint = DTLSServerEndpoint(
        reactor,
        number,
        settings,
        interface=interface,
        mtu=limits.get("mtu", DEFAULT_MTU),
        max_sessions=limits.get("maxSessions", 1024),
        idle_timeout=limits.get("idleTimeout", 300.0),
        handshake_timeout=limits.get("handshakeTimeout", DEFAULT_HANDSHAKE_TIMEOUT),
        reload_interval=limits.get("reloadInterval", 5.0),
    )
    _mark_throwaway(endpoint, throwaway)
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
