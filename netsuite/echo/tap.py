"""
C{twistd netsuite-echo}: the echo service's options and service.

Defaults: TCP and UDP on 127.0.0.1:7007. Add C{nstls:7443:cert=...} for TLS.
"""

from __future__ import annotations

from twisted.python import usage

from netsuite.base._metrics import Counters
from netsuite.echo._protocol import EchoFactory
from netsuite.echo._udp import DEFAULT_DENIED_PORTS, DatagramGuard, UDPEcho
from netsuite.limits import _defaults as limits
from netsuite.limits._policy import ConnectionGate
from netsuite.twistd._endpoints import is_tls
from netsuite.twistd._options import (
    DRAIN_TIMEOUT,
    GlobalReactor,
    Parameter,
    ServiceOptions,
    check,
    rows,
)
from netsuite.twistd._service import Drainable, ListenerService, ServiceRoot
from netsuite.twistd._workers_service import supervised

__all__ = ["EchoService", "Options", "makeService"]

#: The UDP guard's bounds, in the order they are checked.
UDP_LIMITS = (
    Parameter(
        "udp-rate", limits.UDP_RATE, "UDP bytes a second echoed to one source IP.", float,
        least=0, strict=True,
    ),
    Parameter(
        "udp-burst", limits.UDP_BURST, "UDP bytes one source IP may get at once.", float,
        least=0, strict=True,
    ),
    Parameter(
        "udp-max-sources", limits.MAX_SOURCES,
        "Source IPs, and source address:port pairs, whose rate state is kept (LRU).", int,
        least=0, strict=True,
    ),
    Parameter(
        "udp-source-packets", limits.UDP_SOURCE_PACKETS,
        "UDP datagrams a second echoed to one source address:port (as many at once).", float,
        least=0, strict=True,
    ),
    Parameter(
        "udp-source-bytes", limits.UDP_SOURCE_BYTES,
        "UDP bytes a second echoed to one source address:port (as many at once).", float,
        least=0, strict=True,
    ),
    Parameter(
        "udp-global-packets", limits.UDP_GLOBAL_PACKETS,
        "UDP datagrams a second echoed to all sources together.", float,
        least=0, strict=True,
    ),
    Parameter(
        "udp-global-bytes", limits.UDP_GLOBAL_BYTES,
        "UDP bytes a second echoed to all sources together.", float,
        least=0, strict=True,
    ),
    Parameter(
        "udp-loop-rate", limits.UDP_LOOP_RATE,
        "Repeats (a datagram equal to a recent echo to it) a second answered to one "
        "source address:port; one more mutes it until it is quiet.", float,
        least=0, strict=True,
    ),
    Parameter(
        "udp-loop-quiet", limits.UDP_LOOP_QUIET,
        "Seconds a muted (looping) UDP source must stay silent to be answered again.", float,
        least=0, strict=True,
    ),
)  # fmt: skip


class Options(ServiceOptions):
    """Options of C{twistd netsuite-echo}."""

    synopsis = "[options]"
    config_section = "echo"
    default_listen = ("tcp:7007:interface=127.0.0.1", "udp:7007:interface=127.0.0.1")
    longdesc = (
        "Echo (RFC 862) every byte back over TCP/TLS and every datagram back over UDP.\n"
        "Default: tcp and udp on 127.0.0.1:7007."
    )
    optParameters = [
        *rows(
            DRAIN_TIMEOUT.but(help="Seconds echoes owed to TCP peers get on shutdown."),
            *UDP_LIMITS,
        ),
        [
            "udp-deny-ports",
            None,
            ",".join(str(p) for p in sorted(DEFAULT_DENIED_PORTS)),
            "Source ports never answered over UDP (comma-separated; '' for none).",
        ],
    ]
    optFlags = [
        ["udp-deny-privileged", None, "Also never answer UDP source ports below 1024."],
    ]

    def postOptions(self) -> None:
        super().postOptions()
        try:
            ports = {int(p) for p in self["udp-deny-ports"].split(",") if p.strip()}
        except ValueError:
            raise usage.UsageError(
                f"--udp-deny-ports {self['udp-deny-ports']!r}: expected port numbers "
                "separated by commas"
            ) from None
        self["udp-deny-ports"] = ports
        check(self, DRAIN_TIMEOUT, *UDP_LIMITS)


class EchoService(ServiceRoot):
    """
    The echo root; the suite reports its stream factory's and UDP guard's counters. On
    shutdown, once its ports are closed, each TCP peer gets the echoes it is owed for up
    to C{drain_timeout} seconds (UDP owes nothing: its port closing is the end).
    """

    factory: EchoFactory
    guard: DatagramGuard

    def drain_targets(self) -> list[Drainable]:
        return [self.factory]


@supervised("netsuite-echo")
def makeService(options: Options) -> EchoService:
    """One listener service per description: stream ones echo TCP/TLS, datagram ones UDP."""
    reactor = GlobalReactor.of(options.reactor)
    top = EchoService("netsuite-echo", reactor)
    counters = Counters("echo")
    factory = EchoFactory(
        "echo",
        gate=ConnectionGate(options["max-connections"], options["max-per-ip"]),
        idle_timeout=options["idle-timeout"],
        clock=reactor,
        counters=counters,
    )
    guard = DatagramGuard(
        denied_ports=options["udp-deny-ports"],
        deny_privileged=options["udp-deny-privileged"],
        rate=options["udp-rate"],
        burst=options["udp-burst"],
        max_sources=options["udp-max-sources"],
        source_packets=options["udp-source-packets"],
        source_bytes=options["udp-source-bytes"],
        global_packets=options["udp-global-packets"],
        global_bytes=options["udp-global-bytes"],
        loop_rate=options["udp-loop-rate"],
        loop_quiet=options["udp-loop-quiet"],
    )
    top.factory = factory
    top.guard = guard
    top.drain_timeout = options["drain-timeout"]
    for description, endpoint, datagram in options["endpoints"]:
        if datagram:
            # dtls: listeners carry certificates; the echo runs unchanged under DTLS.
            label = "echo/dtls" if is_tls(description, endpoint) else "echo/udp"
            target: UDPEcho | EchoFactory = UDPEcho(guard, reactor, name=label)
        else:
            label = "echo/tls" if is_tls(description, endpoint) else "echo/tcp"
            target = factory
        ListenerService(label, description, endpoint, target).setServiceParent(top)
    return top
