"""The listen grammar: netsuite's description parsers, through Twisted's plugin lookup."""

from pathlib import Path

from twisted.internet.endpoints import serverFromString
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TLSFiles
from netsuite.tls._contexts import TLSConfigError
from netsuite.tls._listener import DeadlineTLSFactory
from netsuite.twistd._endpoints import (
    MAX_UDP_PAYLOAD,
    DescriptionError,
    TLSServerEndpoint,
    UDPServerEndpoint,
    datagram_from_string,
    is_datagram,
    split_descriptions,
    stream_from_string,
)


class DatagramDescriptionTests(SynchronousTestCase):
    def test_classification(self) -> None:
        self.assertTrue(is_datagram("udp:7007:interface=127.0.0.1"))
        self.assertTrue(is_datagram("systemd:domain=INET:index=0:type=dgram"))
        self.assertFalse(is_datagram("systemd:domain=INET:index=0"))
        self.assertFalse(is_datagram("tcp:7007:interface=127.0.0.1"))
        self.assertFalse(is_datagram("nstls:7443:cert=x"))
        self.assertEqual(
            split_descriptions(
                [
                    "tcp:1:interface=127.0.0.1",
                    "udp:2:interface=127.0.0.1",
                    "unix:/x",
                    "udp:3:interface=127.0.0.1",
                ]
            ),
            (
                ["tcp:1:interface=127.0.0.1", "unix:/x"],
                ["udp:2:interface=127.0.0.1", "udp:3:interface=127.0.0.1"],
            ),
        )

    def test_udp(self) -> None:
        reactor = MemoryReactorClock()
        endpoint = datagram_from_string(reactor, "udp:7007:interface=127.0.0.1")
        self.assertEqual(endpoint, UDPServerEndpoint(reactor, 7007, "127.0.0.1", 65535))
        ipv6 = datagram_from_string(reactor, r"udp:0:interface=\:\:1")
        self.assertEqual(ipv6.interface, "::1")

    def test_udp_listens_whole_datagrams(self) -> None:
        """The receive size is a whole datagram, not Twisted's default 8192."""
        calls = []

        class Reactor:
            def listenUDP(self, *args, **kwargs):  # type: ignore[no-untyped-def]
                calls.append((args, kwargs))
                return "port"

        port = self.successResultOf(
            datagram_from_string(Reactor(), "udp:7007:interface=127.0.0.1").listen("p")
        )
        self.assertEqual(port, "port")
        self.assertEqual(
            calls, [((7007, "p"), {"interface": "127.0.0.1", "maxPacketSize": 65535})]
        )
        self.assertGreater(65535, MAX_UDP_PAYLOAD)

    def test_udp_errors(self) -> None:
        for description, message in (
            ("udp:http", "port 'http'"),
            ("udp:70000", "port '70000'"),
            ("udp:1:colour=red", "colour"),
            ("quic:1", "unknown datagram prefix 'quic'"),
        ):
            with self.assertRaises(DescriptionError) as e:
                datagram_from_string(MemoryReactorClock(), description)
            self.assertIn(message, str(e.exception))


class StreamDescriptionTests(SynchronousTestCase):
    def test_nstls_through_twisted(self) -> None:
        """nstls: is a Twisted endpoint plugin: serverFromString itself understands it."""
        files = TLSFiles(Path(self.mktemp()))
        endpoint = serverFromString(MemoryReactorClock(), files.nstls(7443, alpn="h2,http/1.1"))
        self.assertIsInstance(endpoint, TLSServerEndpoint)
        self.assertEqual(endpoint.settings.alpn, ("h2", "http/1.1"))
        self.assertEqual(endpoint.certificates[0].subject, "CN=localhost")

    def test_nstls_listens_on_interface(self) -> None:
        files = TLSFiles(Path(self.mktemp()))
        reactor = MemoryReactorClock()
        stream_from_string(reactor, files.nstls(7443, interface="::1")).listen(object())
        port, factory, _backlog, interface = reactor.tcpServers[0]
        self.assertEqual((port, interface), (7443, "::1"))
        self.assertIsInstance(factory, DeadlineTLSFactory)
        self.assertEqual(factory.handshake_timeout, 10.0)

    def test_errors_quote_the_description(self) -> None:
        for description, error in (
            ("nstls:7443", "needs cert="),
            ("nstls:7443:cert=/nonexistent.pem", "cannot read"),
            ("tcp:notaport", "'tcp:notaport'"),
            ("bogus:1", "'bogus:1'"),
        ):
            with self.assertRaises((DescriptionError, TLSConfigError)) as e:
                stream_from_string(MemoryReactorClock(), description)
            self.assertIn(error, str(e.exception))
