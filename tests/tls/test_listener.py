"""Hot reload, the handshake deadline and the throw-away certificate of nstls: listeners."""

import os
import shutil
from pathlib import Path

from twisted.internet.address import IPv4Address
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import capturedLogs
from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TLSFiles
from netsuite.tls._contexts import TLSServerSettings
from netsuite.tls._devca import DevCA
from netsuite.tls._listener import (
    DeadlineTLSFactory,
    ReloadableServerTLS,
    reload_all,
    served_certificates,
)
from netsuite.tls._pki import issue
from netsuite.twistd._endpoints import DescriptionError, stream_from_string


class ReloadTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.files = TLSFiles(Path(self.mktemp()))
        settings = TLSServerSettings(cert=self.files.cert_path, key=self.files.key_path)
        self.tls = ReloadableServerTLS(settings, "test")
        self.first = self.tls.certificates[0].sha256

    def swap(self) -> None:
        """Write a new leaf over the served files (new key, new fingerprint)."""
        cert, key = self.files.leaf("next", ["localhost"])
        shutil.copy(cert, self.files.cert_path)
        shutil.copy(key, self.files.key_path)
        os.utime(self.files.cert_path, ns=(1, 1))  # a distinct stamp, whatever the clock

    def test_reload_swaps_context(self) -> None:
        self.assertFalse(self.tls.poll())
        self.swap()
        self.assertTrue(self.tls.changed())
        self.assertTrue(self.tls.poll())
        self.assertNotEqual(self.tls.certificates[0].sha256, self.first)
        self.assertFalse(self.tls.changed())

    def test_broken_file_keeps_old(self) -> None:
        Path(self.files.key_path).write_text("not a key")
        with capturedLogs() as events:
            self.assertFalse(self.tls.reload())
        self.assertEqual(self.tls.certificates[0].sha256, self.first)
        self.assertIn("keeping the old certificate", events[-1]["log_format"])
        self.assertFalse(self.tls.poll())  # the same broken files are not retried

    def test_registry(self) -> None:
        self.assertIn(("test", self.tls.certificates[0]), served_certificates())
        self.swap()
        self.assertGreaterEqual(reload_all(), 1)

    def test_expiry_warning(self) -> None:
        soon = issue(self.files.ca, ["localhost"], days=3)
        soon.write(self.files.cert_path, self.files.key_path)
        self.tls.reload()
        with capturedLogs() as events:
            self.assertEqual(len(self.tls.warn_if_expiring()), 1)
        self.assertLess(events[0]["days"], 3.01)


class DeadlineTests(SynchronousTestCase):
    def test_silent_peer_aborted(self) -> None:
        files = TLSFiles(Path(self.mktemp()))
        tls = ReloadableServerTLS(TLSServerSettings(cert=files.cert_path, key=files.key_path))
        clock = Clock()
        factory = DeadlineTLSFactory(tls, Factory.forProtocol(Protocol), clock, 10, "t")
        proto = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
        transport = StringTransport()
        proto.makeConnection(transport)
        clock.advance(9.9)
        self.assertFalse(transport.disconnecting)
        clock.advance(0.1)
        self.assertEqual(factory.handshake_timeouts, 1)

    def test_description_options(self) -> None:
        files = TLSFiles(Path(self.mktemp()))
        endpoint = stream_from_string(
            MemoryReactorClock(), files.nstls(0, handshakeTimeout="2.5", reloadInterval="0")
        )
        self.assertEqual((endpoint.handshake_timeout, endpoint.reload_interval), (2.5, 0.0))
        with self.assertRaises(DescriptionError):
            stream_from_string(MemoryReactorClock(), files.nstls(0, handshakeTimeout="soon"))


class ThrowawayTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.state = Path(self.mktemp())
        self.patch(os, "environ", {**os.environ, "NETSUITE_STATE_DIR": str(self.state)})

    def test_loopback_gets_a_certificate_from_the_dev_ca(self) -> None:
        endpoint = stream_from_string(MemoryReactorClock(), "nstls:0:interface=127.0.0.1")
        ca = DevCA()
        self.assertTrue(ca.exists())
        self.assertEqual(oct(ca.key_path.stat().st_mode & 0o777), "0o600")
        self.assertEqual(endpoint.certificates[0].subject, "CN=localhost")
        again = stream_from_string(MemoryReactorClock(), r"nstls:0:interface=\:\:1")
        self.assertEqual(again.certificates[0].sha256, endpoint.certificates[0].sha256)

    def test_elsewhere_is_an_error(self) -> None:
        for description in ("nstls:0", "nstls:0:interface=0.0.0.0", "nstls:0:interface=10.1.2.3"):
            with self.assertRaises(DescriptionError) as e:
                stream_from_string(MemoryReactorClock(), description)
            self.assertIn("only made for a loopback interface", str(e.exception))
        self.assertFalse(DevCA().exists())

    def test_renewed_when_close_to_expiry(self) -> None:
        ca = DevCA()
        cert, key = ca.throwaway()
        old = cert.read_bytes()
        issue(ca.load(), ["localhost"], days=10).write(cert, key)
        cert2, _ = ca.throwaway()
        self.assertNotEqual(cert2.read_bytes(), old)
