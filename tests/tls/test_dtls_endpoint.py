"""
The C{dtls:} description: parsing and validation, the plugin, the context it builds
(SNI, ALPN, ciphers), and C{twistd netsuite-echo --listen dtls:...} with no reactor running.
"""

from __future__ import annotations

import os
from pathlib import Path

from OpenSSL import SSL
from twisted.logger import capturedLogs
from twisted.python import usage

from netsuite.echo import tap
from netsuite.echo._udp import UDPEcho
from netsuite.tls._contexts import TLSConfigError, TLSServerSettings
from netsuite.tls._dtls_context import client_options, server_context
from netsuite.tls._dtls_endpoint import DTLSServerEndpoint
from netsuite.tls._dtls_server import DTLSServerProtocol
from netsuite.tls._dtls_session import CookieJar
from netsuite.tls._listener import reload_all, served_certificates
from netsuite.twistd._endpoints import datagram_from_string, is_datagram, parse_dtls
from tests.echo.test_tap import Reactor, parse
from tests.tls.test_dtls import CLIENT, SERVER, DTLSTestCase, Recorder


class DescriptionTests(DTLSTestCase):
    def description(self, **extra: str) -> str:
        parts = [
            "dtls:0",
            "interface=127.0.0.1",
            f"cert={self.files.cert_path}",
            f"key={self.files.key_path}",
        ]
        return ":".join(parts + [f"{k}={v}" for k, v in extra.items()])

    def test_plugin_parses(self) -> None:
        """The C{dtls} prefix is a datagram description found through the plugin."""
        description = self.description(mtu="1400", maxSessions="10", idleTimeout="60")
        self.assertTrue(is_datagram(description))
        endpoint = datagram_from_string(Reactor(), description)
        self.assertIsInstance(endpoint, DTLSServerEndpoint)
        self.assertEqual(
            (endpoint.port, endpoint.interface, endpoint.mtu, endpoint.max_sessions),
            (0, "127.0.0.1", 1400, 10),
        )
        self.assertEqual((endpoint.idle_timeout, endpoint.handshake_timeout), (60.0, 10.0))
        (summary,) = endpoint.certificates
        self.assertEqual(summary.subject, "CN=localhost")

    def test_listen_binds_udp_under_dtls(self) -> None:
        reactor = Reactor()
        endpoint = parse_dtls(
            reactor, "7443", interface="::1", cert=self.files.cert_path, key=self.files.key_path
        )
        inner = Recorder()
        port = self.successResultOf(endpoint.listen(inner))
        ((number, server, interface, size),) = reactor.udpPorts_
        self.assertEqual((number, interface, size, port.port), (7443, "::1", 65535, 7443))
        self.assertIsInstance(server, DTLSServerProtocol)
        self.assertIs(server.wrapped, inner)

    def test_reload_hands_every_protocol_the_new_context(self) -> None:
        """
        SIGHUP's reload_all reaches DTLS listeners: their protocols get the new context
        (new handshakes use it), a broken file keeps the old one, and what they serve is
        listed for /api/stats and /metrics (expiry).
        """
        reactor = Reactor()
        endpoint = parse_dtls(
            reactor, "7443", interface="::1", cert=self.files.cert_path, key=self.files.key_path
        )
        self.successResultOf(endpoint.listen(Recorder()))
        ((_, server, _, _),) = reactor.udpPorts_
        before = server.context
        self.assertIn(endpoint.tls.label, [label for label, _ in served_certificates()])
        self.assertGreaterEqual(reload_all(), 1)
        self.assertIsNot(server.context, before)
        self.assertIs(server.context, endpoint.context)
        current = server.context
        Path(self.files.key_path).write_text("garbage")
        with capturedLogs() as events:
            endpoint.tls.reload()
        self.assertIs(server.context, current)
        self.assertIn("keeping the old certificate", events[-1]["log_format"])

    def test_loopback_without_cert_gets_a_throwaway(self) -> None:
        """As nstls: does: loopback only, from the development CA, said in the log."""
        state = Path(self.mktemp())
        self.patch(os, "environ", {**os.environ, "NETSUITE_STATE_DIR": str(state)})
        endpoint = parse_dtls(Reactor(), "0", interface="::1")
        self.assertEqual(endpoint.certificates[0].subject, "CN=localhost")
        (note,) = endpoint.notes
        self.assertIn(f"clients trust it with --ca {state / 'ca.pem'}", note)
        for interface in ("", "0.0.0.0", "192.0.2.1", "eth0"):
            with self.assertRaises(TLSConfigError) as e:
                parse_dtls(Reactor(), "0", interface=interface)
            self.assertIn("only made for a loopback interface", str(e.exception))

    def test_refusals_name_the_setting(self) -> None:
        missing = str(Path(self.mktemp()) / "nope.pem")
        for kwargs, message in (
            ({"colour": "blue"}, "dtls: unknown setting 'colour'; expected one of alpn, cert"),
            ({"minVersion": "1.3"}, "dtls: minVersion='1.3'; DTLS 1.2 is the only version"),
            ({"minVersion": "1.1"}, "dtls: minVersion='1.1'; expected 1.2 or 1.3"),
            ({"verifyClient": "required"}, "dtls: verifyClient=required needs clientCA"),
            ({"verifyClient": "maybe"}, "dtls: verifyClient='maybe'"),
            ({"ciphers": "NOPE-CIPHER"}, "dtls: ciphers='NOPE-CIPHER': no usable cipher"),
            ({"mtu": "100"}, "dtls: mtu='100'; expected a number from 256 to 65507"),
            ({"maxSessions": "0"}, "dtls: maxSessions='0'"),
            ({"idleTimeout": "soon"}, "dtls: idleTimeout='soon'"),
            ({"clientCA": missing, "verifyClient": "optional"}, "clientCA: cannot read"),
            ({"sni": missing}, "dtls: sni="),
        ):
            kw = {"cert": self.files.cert_path, "key": self.files.key_path, **kwargs}
            with self.assertRaises(TLSConfigError) as e:
                parse_dtls(Reactor(), "0", **kw)
            self.assertIn(message, str(e.exception))
        with self.assertRaises(TLSConfigError) as e:
            parse_dtls(Reactor(), "0")
        self.assertIn("dtls: needs cert=FILE", str(e.exception))
        with self.assertRaises(TLSConfigError) as e:
            parse_dtls(Reactor(), "70000", cert=self.files.cert_path)
        self.assertIn("dtls: port '70000'", str(e.exception))
        with self.assertRaises(TLSConfigError) as e:
            parse_dtls(Reactor(), "0", cert=missing)
        self.assertIn("cert: cannot read", str(e.exception))


class ContextTests(DTLSTestCase):
    def test_no_weak_ciphers_offered(self) -> None:
        """Only the hardened list: AEAD with forward secrecy, as for nstls:."""
        context, _ = server_context(self.settings(), CookieJar())
        names = SSL.Connection(context, None).get_cipher_list()
        self.assertTrue(names)
        for name in names:
            self.assertTrue(name.startswith(("ECDHE-", "DHE-", "TLS_")), name)
            self.assertTrue("GCM" in name or "CHACHA20" in name or name.startswith("TLS_"), name)

    def test_alpn(self) -> None:
        self.server(settings=self.settings(alpn=("coap", "x-probe")))
        node = self.client(alpn=["x-probe"])
        node.start()
        self.network.pump()
        (done,) = [e for e in node.events if hasattr(e, "alpn")]
        self.assertEqual(done.alpn, "x-probe")

    def test_sni_chooses_the_certificate(self) -> None:
        directory = Path(self.mktemp())
        directory.mkdir()
        for stem, names in (("a", ["a.example"]), ("b", ["b.example", "*.b.example"])):
            cert, key = self.files.leaf(stem, names)
            (directory / f"{stem}.pem").write_bytes(
                Path(key).read_bytes() + Path(cert).read_bytes()
            )
        self.server(settings=TLSServerSettings(sni=str(directory)))
        for hostname, port in (("b.example", 50001), ("x.b.example", 50002), ("a.example", 50003)):
            node = self.client(("127.0.0.1", port), hostname=hostname)
            node.start()
            self.network.pump()
            self.assertTrue(node.session.established, hostname)

    def test_client_without_ca_uses_platform_trust(self) -> None:
        """Without C{ca} the throw-away test CA is not trusted: the handshake fails."""
        self.server()
        options = client_options("localhost")
        node = self.client()
        node.session = options.session()
        node.start()
        self.network.pump()
        self.assertFalse(node.session.established)
        self.assertIn("certificate verify failed", node.events[-1].reason)


class EchoTapTests(DTLSTestCase):
    def test_dtls_label_and_certificate_logged(self) -> None:
        reactor = Reactor()
        description = (
            f"dtls:0:interface=127.0.0.1:cert={self.files.cert_path}:key={self.files.key_path}"
        )
        options = parse(
            "--listen", description, "--listen", "udp:0:interface=127.0.0.1", reactor=reactor
        )
        service = tap.makeService(options)
        with capturedLogs() as events:
            service.privilegedStartService()
        (dtls_port, dtls, _, _), (_, plain, _, _) = reactor.udpPorts_
        self.assertIsInstance(dtls, DTLSServerProtocol)
        self.assertIsInstance(dtls.wrapped, UDPEcho)
        self.assertEqual((dtls.wrapped.name, dtls.label), ("echo/dtls", "echo/dtls"))
        self.assertIsInstance(plain, UDPEcho)
        self.assertEqual(plain.name, "echo/udp")
        text = [e.get("address") or e.get("summary") for e in events if e.get("label")]
        self.assertEqual(text[0], "udp 127.0.0.1:0")
        self.assertTrue(text[1].startswith("subject=CN=localhost sha256="))
        self.assertEqual(text[2], "udp 127.0.0.1:0")
        service.stopService()

    def test_bad_dtls_description_is_a_usage_error(self) -> None:
        with self.assertRaises(usage.UsageError) as e:
            parse("--listen", "dtls:0:cert=/nonexistent.pem")
        self.assertIn("cert: cannot read '/nonexistent.pem'", str(e.exception))

    def test_echo_through_the_tap_protocol(self) -> None:
        """The UDPEcho the tap builds, with its guard, answers over DTLS."""
        reactor = Reactor()
        description = f"dtls:0:cert={self.files.cert_path}:key={self.files.key_path}"
        options = parse("--listen", description, reactor=reactor)
        service = tap.makeService(options)
        service.privilegedStartService()
        ((_, server, _, _),) = reactor.udpPorts_
        self.network.attach(server, SERVER)
        client = self.connect()
        client.send(b"via the tap")
        self.network.pump()
        self.assertEqual(client.received(), [b"via the tap"])
        self.assertEqual(service.guard.counters["echoed"], 1)
        self.assertEqual(server.sessions.get(CLIENT).session.state, "established")
