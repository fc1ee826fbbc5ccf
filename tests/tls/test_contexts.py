"""Hardened TLS contexts, handshaken in memory (iosim) with real OpenSSL on both sides."""

from pathlib import Path

from OpenSSL import SSL
from twisted.internet import ssl
from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TLSFiles, connect_door
from netsuite.tls._contexts import (
    TLSConfigError,
    TLSServerSettings,
    client_tls_options,
    load_chain,
    server_context_factory,
)


class Recorder(Protocol):
    def __init__(self) -> None:
        self.data = b""
        self.lost = None

    def dataReceived(self, data: bytes) -> None:
        self.data += data

    def connectionLost(self, reason) -> None:  # type: ignore[no-untyped-def]
        self.lost = reason


def handshake(server_options, client_options, payload: bytes = b"ping"):  # type: ignore[no-untyped-def]
    """Connect a TLS client and server in memory, send a payload each way, pump."""
    server, client = Recorder(), Recorder()
    pair = connect_door(
        Factory.forProtocol(lambda: server),
        client,
        server_tls=server_options,
        client_tls=client_options,
    )
    c, s, pump = pair.client_wire, pair.server_wire, pair.pump
    c.write(payload)
    pump.flush()
    if server.data:
        s.write(b"pong")
        pump.flush()
    return s, c, server, client


class TLSTestCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.files = TLSFiles(Path(self.mktemp()))

    def settings(self, **kw) -> TLSServerSettings:  # type: ignore[no-untyped-def]
        return TLSServerSettings(cert=self.files.cert_path, key=self.files.key_path, **kw)


class ServerContextTests(TLSTestCase):
    def test_verified_handshake(self) -> None:
        """A client that trusts the CA and checks the name talks; TLS 1.2 or newer."""
        options, summaries = server_context_factory(self.settings())
        _s, c, server, client = handshake(
            options, client_tls_options("localhost", self.files.ca_path)
        )
        self.assertEqual((server.data, client.data), (b"ping", b"pong"))
        self.assertIn(c.getHandle().get_protocol_version_name(), ("TLSv1.2", "TLSv1.3"))
        self.assertEqual(summaries[0].subject, "CN=localhost")
        self.assertEqual(len(summaries[0].sha256.split(":")), 32)
        self.assertGreater(summaries[0].days_left(), 390)

    def test_ip_address_verified(self) -> None:
        options, _ = server_context_factory(self.settings())
        _, _, server, _ = handshake(options, client_tls_options("127.0.0.1", self.files.ca_path))
        self.assertEqual(server.data, b"ping")

    def test_name_mismatch_fails(self) -> None:
        options, _ = server_context_factory(self.settings())
        _, _, server, client = handshake(
            options, client_tls_options("example.org", self.files.ca_path)
        )
        self.assertEqual(server.data, b"")
        self.assertIsNotNone(client.lost)

    def test_untrusted_fails(self) -> None:
        other = TLSFiles(Path(self.mktemp()))
        options, _ = server_context_factory(self.settings())
        _, _, server, client = handshake(options, client_tls_options("localhost", other.ca_path))
        self.assertEqual(server.data, b"")
        self.assertTrue(client.lost.check(SSL.Error))

    def old_client(self, version: ssl.TLSVersion):  # type: ignore[no-untyped-def]
        return ssl.CertificateOptions(
            insecurelyLowerMinimumTo=ssl.TLSVersion.TLSv1_0,
            lowerMaximumSecurityTo=version,
        )

    def test_tls11_refused(self) -> None:
        """The default floor is TLS 1.2: a client capped at 1.1 gets no session."""
        options, _ = server_context_factory(self.settings())
        _, _, server, client = handshake(options, self.old_client(ssl.TLSVersion.TLSv1_1))
        self.assertEqual(server.data, b"")
        self.assertIsNotNone(client.lost)

    def test_min_version_13(self) -> None:
        options, _ = server_context_factory(self.settings(min_version="1.3"))
        _, _, server, _ = handshake(options, self.old_client(ssl.TLSVersion.TLSv1_2))
        self.assertEqual(server.data, b"")

    def test_no_compression_no_weak_ciphers(self) -> None:
        options, _ = server_context_factory(self.settings())
        ctx = options.getContext()
        self.assertTrue(ctx.set_options(0) & SSL.OP_NO_COMPRESSION)
        conn = SSL.Connection(ctx, None)
        ciphers = conn.get_cipher_list()
        self.assertTrue(ciphers)
        for weak in ("RC4", "3DES", "DES-CBC", "NULL", "EXPORT", "MD5", "-SHA:"):
            self.assertFalse([c for c in ciphers if weak in c + ":"], weak)
        tls12 = [c for c in ciphers if not c.startswith("TLS_")]
        self.assertTrue(all(c.startswith(("ECDHE-", "DHE-")) for c in tls12), tls12)

    def test_alpn(self) -> None:
        options, _ = server_context_factory(self.settings(alpn=("h2", "http/1.1")))
        client = client_tls_options("localhost", self.files.ca_path, alpn=["http/1.1"])
        _s, c, _server, _ = handshake(options, client)
        self.assertEqual(c.negotiatedProtocol, b"http/1.1")


class ClientCertificateTests(TLSTestCase):
    def test_required_refuses_certless(self) -> None:
        options, _ = server_context_factory(
            self.settings(client_ca=self.files.ca_path, verify_client="required")
        )
        _, _, server, _client = handshake(
            options, client_tls_options("localhost", self.files.ca_path)
        )
        self.assertEqual(server.data, b"")
        self.assertIsNotNone(server.lost)

    def test_required_accepts_trusted(self) -> None:
        cert, key = self.files.leaf("alice", ["alice"])
        options, _ = server_context_factory(
            self.settings(client_ca=self.files.ca_path, verify_client="required")
        )
        creator = client_tls_options("localhost", self.files.ca_path, cert, key)
        s, _, server, _ = handshake(options, creator)
        self.assertEqual(server.data, b"ping")
        peer = s.getPeerCertificate()
        self.assertEqual(peer.get_subject().CN, "alice")

    def test_required_refuses_untrusted(self) -> None:
        stranger = TLSFiles(Path(self.mktemp()))
        cert, key = stranger.leaf("mallory", ["mallory"])
        options, _ = server_context_factory(
            self.settings(client_ca=self.files.ca_path, verify_client="required")
        )
        creator = client_tls_options("localhost", self.files.ca_path, cert, key)
        _, _, server, _ = handshake(options, creator)
        self.assertEqual(server.data, b"")

    def test_optional_admits_certless(self) -> None:
        options, _ = server_context_factory(
            self.settings(client_ca=self.files.ca_path, verify_client="optional")
        )
        _, _, server, _ = handshake(options, client_tls_options("localhost", self.files.ca_path))
        self.assertEqual(server.data, b"ping")


class SNITests(TLSTestCase):
    def test_chosen_by_name(self) -> None:
        """Each name gets its certificate; unknown and absent names get the default."""
        sni = Path(self.mktemp())
        sni.mkdir()
        for stem, names in (("a", ["a.example"]), ("b", ["*.b.example"])):
            cert, key = self.files.leaf(stem, names)
            (sni / f"{stem}.pem").write_bytes(Path(key).read_bytes() + Path(cert).read_bytes())
        options, summaries = server_context_factory(self.settings(sni=str(sni)))
        self.assertEqual(len(summaries), 3)
        for name, expected in (
            ("a.example", "a.example"),
            ("x.b.example", "*.b.example"),
            ("localhost", "localhost"),
        ):
            _s, c, server, _ = handshake(options, client_tls_options(name, self.files.ca_path))
            self.assertEqual(server.data, b"ping", name)
            self.assertEqual(c.getPeerCertificate().get_subject().CN, expected)


class SettingsTests(TLSTestCase):
    def test_description_keys(self) -> None:
        s = TLSServerSettings.from_description(
            {"cert": "c.pem", "alpn": "h2,http/1.1", "minVersion": "1.3"}
        )
        self.assertEqual((s.alpn, s.min_version), (("h2", "http/1.1"), "1.3"))

    def test_refusals_name_the_setting(self) -> None:
        cases = [
            ({"cert": "c", "minVersion": "1.1"}, "minVersion='1.1'"),
            ({"cert": "c", "verifyClient": "yes"}, "verifyClient='yes'"),
            ({"cert": "c", "verifyClient": "required"}, "needs clientCA"),
            ({"cert": "c", "keyfile": "k"}, "unknown setting 'keyfile'"),
            ({}, "needs cert="),
        ]
        for kwargs, message in cases:
            with self.assertRaises(TLSConfigError) as e:
                TLSServerSettings.from_description(kwargs)
            self.assertIn(message, str(e.exception))

    def test_file_problems(self) -> None:
        with self.assertRaises(TLSConfigError) as e:
            load_chain("/nonexistent.pem")
        self.assertIn("cannot read", str(e.exception))
        _other_cert, other_key = self.files.leaf("other", ["other"])
        with self.assertRaises(TLSConfigError) as e:
            load_chain(self.files.cert_path, other_key)
        self.assertIn("does not match", str(e.exception))
        with self.assertRaises(TLSConfigError) as e:
            load_chain(self.files.key_path)
        self.assertIn("no PEM certificate", str(e.exception))
        with self.assertRaises(TLSConfigError):
            server_context_factory(self.settings(ciphers="NOSUCHCIPHER"))
