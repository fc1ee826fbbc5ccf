"""
What users import from each package: its C{__all__}, spelled out here.

Why: a package's C{__init__} is its public surface (STYLE.md, 9). A name that appears or
disappears there is a change users see, so it must change this file too, and a
towncrier note. Every other module is private (C{_name.py}), except the few that are
public by name, listed in L{PUBLIC_MODULES} with the reason.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

ROOT = Path(__file__).resolve().parents[1] / "netsuite"

EXPORTS: dict[str, list[str]] = {
    "netsuite": ["__version__"],
    "netsuite._twisted": [],
    "netsuite.base": [],
    "netsuite.chat": ["ChatError", "Hub", "LineSession", "Member", "RoomInfo"],
    "netsuite.client": [],
    "netsuite.datagram": [
        "HEADER_SIZE",
        "PingStats",
        "Probe",
        "ProbeError",
        "Sequencer",
        "SequencerStats",
        "decode",
        "encode",
    ],
    "netsuite.echo": ["DEFAULT_DENIED_PORTS", "DatagramGuard", "Echo", "EchoFactory", "UDPEcho"],
    "netsuite.limits": [
        "BODY_TIMEOUT",
        "CACHE_BYTES",
        "CACHE_FILE_MAX",
        "CORK_LIMIT",
        "ConnectionGate",
        "DEFAULT_DENIED_PORTS",
        "DRAIN_TIMEOUT",
        "FLOOD_BURST",
        "FLOOD_KICK",
        "FLOOD_RATE",
        "HEADER_TIMEOUT",
        "HISTORY",
        "IDLE_TIMEOUT",
        "IRC_PING_INTERVAL",
        "IRC_PING_TIMEOUT",
        "LINE_IDLE_TIMEOUT",
        "MAX_BODY",
        "MAX_CONNECTIONS",
        "MAX_HEADERS",
        "MAX_HEADER_BYTES",
        "MAX_LINE",
        "MAX_PER_IP",
        "MAX_SESSIONS",
        "MAX_SOURCES",
        "SEND_QUEUE",
        "SessionTable",
        "SourceBuckets",
        "SourceEntry",
        "TokenBucket",
        "UDP_BURST",
        "UDP_GLOBAL_BYTES",
        "UDP_GLOBAL_PACKETS",
        "UDP_LOOP_QUIET",
        "UDP_LOOP_RATE",
        "UDP_RATE",
        "UDP_SOURCE_BYTES",
        "UDP_SOURCE_PACKETS",
        "WEB_ABORT_TIMEOUT",
        "WEB_IDLE_TIMEOUT",
        "WS_MAX_MESSAGE",
        "WS_PING_INTERVAL",
    ],
    "netsuite.stream": [
        "CORK_LIMIT",
        "DoorFactory",
        "Line",
        "LineSplitter",
        "Outbox",
        "Overlong",
        "StreamDoor",
        "cork",
        "corked",
        "pop_cork",
        "send_now",
    ],
    "netsuite.suite": [],
    "netsuite.testing": [
        "DoorPair",
        "Listener",
        "MemoryStore",
        "RecordingMember",
        "TLSFiles",
        "TwistdProcess",
        "connect_door",
        "converse",
        "hub_on_clock",
        "memory_site",
        "require_tool",
        "twistd_command",
        "web_client",
    ],
    "netsuite.tls": [
        "CertificateSummary",
        "DTLSClientProtocol",
        "DTLSHandshakeError",
        "DTLSServerEndpoint",
        "DTLSServerProtocol",
        "DevCA",
        "Issued",
        "ReloadableServerTLS",
        "TLSConfigError",
        "TLSServerEndpoint",
        "TLSServerSettings",
        "client_tls_options",
        "create_ca",
        "issue",
        "load_chain",
        "peer_identity",
        "reload_all",
        "server_context_factory",
    ],
    "netsuite.twistd": [],
    "netsuite.web": [
        "CorsPolicy",
        "ServiceStats",
        "StaticFiles",
        "StatsRegistry",
        "WebConfig",
        "WebLimits",
        "WebRoot",
        "WebSite",
        "build_site",
    ],
}

#: Modules public by name, not through a package's C{__all__}: twistd and Python find
#: them by their dotted name.
PUBLIC_MODULES = {
    "tap": "twistd plugins name netsuite.<service>.tap (twisted_plugins/)",
    "interfaces": "plugin authors implement netsuite.base.interfaces",
    "logs": "twistd --logger netsuite.base.logs.json_logger (or json_observer)",
    "plugincache": "python -m netsuite.twistd.plugincache",
    "hashpw": "python -m netsuite.chat.hashpw prints a password hash for the config",
    "main": "the netsuite console script, netsuite.client.main:main",
    "__main__": "python -m netsuite.client",
    "strategies": "netsuite.testing.strategies needs hypothesis, so it is not re-exported",
    "chatstore": "netsuite.testing.chatstore.MemoryClient: a second process's connection",
    "redisserver": "netsuite.testing.redisserver.RedisServer starts Debian's redis-server",
}


def check_exports(case: SynchronousTestCase, package: str) -> None:
    module = importlib.import_module(package)
    case.assertEqual(sorted(module.__all__), EXPORTS[package])
    for name in module.__all__:
        case.assertTrue(hasattr(module, name), f"{package}.{name} is exported but missing")


class ExportTests(SynchronousTestCase):
    def test_every_package_listed(self) -> None:
        found = {"netsuite"} | {"netsuite." + p.parent.name for p in ROOT.glob("*/__init__.py")}
        self.assertEqual(found, set(EXPORTS))

    def test_other_modules_are_private(self) -> None:
        public = [
            str(path.relative_to(ROOT))
            for path in ROOT.rglob("*.py")
            if path.parent != ROOT
            and not path.parent.name.startswith("_")  # a private package: all private
            and path.stem != "__init__"
            and not path.stem.startswith("_")
            and path.stem not in PUBLIC_MODULES
        ]
        self.assertEqual(public, [])


def _package_test(package: str) -> Callable[[SynchronousTestCase], None]:
    def test(self: SynchronousTestCase) -> None:
        check_exports(self, package)

    test.__doc__ = f"{package} exports exactly what EXPORTS lists."
    return test


for _package in EXPORTS:
    setattr(ExportTests, "test_" + _package.replace(".", "_"), _package_test(_package))
