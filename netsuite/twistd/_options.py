"""
Command-line options every netsuite service shares: C{--listen} and the stream limits.

Descriptions are parsed in C{postOptions}, so a wrong one stops twistd with a usage
error that quotes it, before anything listens.
"""

from __future__ import annotations

from typing import Any, ClassVar

from twisted.python import usage

from netsuite.base._reactor import GlobalReactor
from netsuite.tls._contexts import TLSConfigError
from netsuite.twistd._endpoints import (
    DescriptionError,
    datagram_from_string,
    is_datagram,
    stream_from_string,
)

__all__ = ["LISTEN_HELP", "GlobalReactor", "ServiceOptions"]

LISTEN_HELP = """\
Listen descriptions (--listen, repeatable; the defaults bind 127.0.0.1 only):
  tcp:PORT[:interface=ADDR]          plain TCP (tcp6:, unix:PATH, systemd: work too)
  nstls:PORT:cert=CHAIN.pem[:key=KEY.pem][:interface=ADDR][:minVersion=1.2|1.3]
        [:ciphers=A,B,C][:alpn=h2,http/1.1][:clientCA=CA.pem]
        [:verifyClient=none|optional|required][:sni=DIR]
        [:handshakeTimeout=10][:reloadInterval=5]
                                     hardened TLS: TLS 1.2+, Mozilla intermediate
                                     ciphers, no compression or renegotiation;
                                     no cert on a loopback interface: a throw-away
                                     certificate from the development CA
  udp:PORT[:interface=ADDR]          UDP (IPv6: interface=\\:\\:1)
  dtls:PORT:cert=CHAIN.pem[:key=KEY.pem][:interface=ADDR][:clientCA=...]
        [:verifyClient=...][:mtu=1200][:maxSessions=1024][:idleTimeout=300]
        [:handshakeTimeout=10][:reloadInterval=5]
                                     DTLS 1.2 over UDP, stateless cookie exchange
  systemd:domain=INET:index=N:type=dgram
                                     a UDP socket from systemd socket activation
Twisted's ssl: and tls: prefixes still work, with Twisted's defaults.
"""


class ServiceOptions(usage.Options):
    """
    Options of a netsuite service: C{--listen} plus the connection limits.

    Subclasses set C{default_listen} and may add their own parameters; after parsing,
    C{self["endpoints"]} holds C{(description, endpoint, is_datagram)} for each listener.
    A service with several doors names the others in C{extra_listens} (option name ->
    defaults, each with an C{opt_} method appending to C{self[name]}); their endpoints
    are in C{self["endpoints:" + name]}. The single description C{none} turns a door off.
    """

    default_listen: ClassVar[tuple[str, ...]] = ()
    extra_listens: ClassVar[dict[str, tuple[str, ...]]] = {}
    datagram_allowed: ClassVar[bool] = True

    optParameters = [
        ["max-connections", None, 1024, "Most connections open at once (0: no cap).", int],
        ["max-per-ip", None, 64, "Most connections open at once from one IP (0: no cap).", int],
        ["idle-timeout", None, 300.0, "Seconds without input before a peer is dropped.", float],
    ]

    def __init__(self) -> None:
        super().__init__()
        self["listen"] = []
        for name in self.extra_listens:
            self[name] = []
        self.reactor: Any = GlobalReactor()

    def getUsage(self, width: int | None = None) -> str:
        """Twisted's usage text, then the listen grammar as written (not re-wrapped)."""
        return super().getUsage(width) + "\n" + LISTEN_HELP

    def opt_listen(self, description: str) -> None:
        """Listen here (repeatable); see the grammar below."""
        self["listen"].append(description)

    def postOptions(self) -> None:
        for name in ("max-connections", "max-per-ip"):
            if self[name] < 0:
                raise usage.UsageError(f"--{name} must be 0 or more, not {self[name]}")
        if self["idle-timeout"] < 0:
            raise usage.UsageError("--idle-timeout must be 0 (never) or more seconds")
        self["endpoints"] = self._endpoints("listen", self.default_listen)
        for name, defaults in self.extra_listens.items():
            self["endpoints:" + name] = self._endpoints(name, defaults)

    def _endpoints(self, name: str, defaults: tuple[str, ...]) -> list[tuple[str, Any, bool]]:
        if not self[name]:
            self[name] = list(defaults)
        if self[name] == ["none"]:
            return []
        endpoints = []
        for description in self[name]:
            datagram = is_datagram(description)
            if datagram and not self.datagram_allowed:
                raise usage.UsageError(f"--{name} {description!r}: this door is stream-only")
            try:
                parse = datagram_from_string if datagram else stream_from_string
                endpoint = parse(self.reactor, description)
            except (DescriptionError, TLSConfigError) as e:
                raise usage.UsageError(f"--{name} {e}") from None
            endpoints.append((description, endpoint, datagram))
        return endpoints
