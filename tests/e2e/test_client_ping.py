"""
End to end: the installed C{netsuite ping} against a real C{twistd -n netsuite-echo} on
127.0.0.1 (UDP and DTLS). Ports are the kernel's (port 0), read from the server's log;
nothing sleeps: every wait is on output, with a deadline.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TLSFiles, TwistdProcess
from tests.e2e.test_client_chat import ClientProcess, netsuite

UDP = "udp:0:interface=127.0.0.1"


def ping(*args: str, timeout: float = 120) -> tuple[int, str, str]:
    """Run C{netsuite ping ARGS} to its end; its status, stdout and stderr."""
    result = subprocess.run(
        [*netsuite(), "ping", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    return result.returncode, result.stdout, result.stderr


class PingUDPTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.server = TwistdProcess("netsuite-echo", ["--listen", UDP]).start()
        self.addCleanup(self.server.stop)
        self.port = str(self.server.address("echo/udp")[1])

    def test_a_thousand_probes_json(self) -> None:
        """The acceptance run: 1000 probes a millisecond apart, none lost, a sane RTT."""
        code, out, err = ping(
            "127.0.0.1", self.port, "--count", "1000", "--interval", "0.001", "--json"
        )
        self.assertEqual((code, err), (0, ""), out)
        self.assertEqual(len(out.splitlines()), 1, out)  # one JSON object, nothing else
        summary = json.loads(out)
        self.assertEqual(
            {k: summary[k] for k in ("sent", "received", "lost", "loss_percent", "duplicates")},
            {"sent": 1000, "received": 1000, "lost": 0, "loss_percent": 0.0, "duplicates": 0},
        )
        rtt = summary["rtt_ms"]
        self.assertTrue(0 < rtt["min"] <= rtt["avg"] <= rtt["p99"] <= rtt["max"], rtt)
        self.assertLess(rtt["avg"], 50.0)  # loopback: far below, even on a busy machine
        self.assertGreaterEqual(summary["jitter_ms"], 0.0)
        self.assertEqual(
            (summary["transport"], summary["address"], summary["size"]),
            ("udp", f"127.0.0.1:{self.port}", 64),
        )
        # Paced, not flooded: 1000 probes 1 ms apart take about a second.
        self.assertGreater(summary["elapsed_s"], 0.9)
        self.assertEqual(self.server.stop(), 0, self.server.log())

    def test_lines_and_summary(self) -> None:
        code, out, err = ping(
            "127.0.0.1", self.port, "--count", "5", "--interval", "0.02", "--size", "100"
        )
        self.assertEqual((code, err), (0, ""), out)
        lines = out.splitlines()
        self.assertEqual(
            lines[0], f"PING 127.0.0.1:{self.port} (udp): 100-byte probes every 0.02 s"
        )
        for seq, line in enumerate(lines[1:6]):
            self.assertRegex(
                line, rf"^100 bytes from 127\.0\.0\.1:{self.port}: seq={seq} time=\d+\.\d{{3}} ms$"
            )
        self.assertEqual(lines[6], "")
        self.assertEqual(lines[7], f"--- 127.0.0.1:{self.port} ping statistics (udp) ---")
        self.assertRegex(
            lines[8], r"^5 sent, 5 received, 0% lost, 0 duplicates, 0 reordered, time \d+ ms$"
        )
        self.assertRegex(
            lines[9],
            r"^rtt min/avg/max/mdev = [\d.]+/[\d.]+/[\d.]+/[\d.]+ ms, p99 [\d.]+ ms, "
            r"jitter [\d.]+ ms$",
        )

    def test_ctrl_c_prints_the_summary_so_far(self) -> None:
        client = ClientProcess(["ping", "127.0.0.1", self.port, "--interval", "0.05"])
        self.addCleanup(client.kill)
        client.expect("seq=3 ")
        client.process.send_signal(signal.SIGINT)
        self.assertEqual(client.wait(), 0)
        out = "\n".join(client.stdout)
        self.assertIn(f"--- 127.0.0.1:{self.port} ping statistics (udp) ---", out)
        sent = int(re.search(r"^(\d+) sent, ", out, re.M)[1])  # type: ignore[index]
        self.assertGreaterEqual(sent, 4)
        self.assertEqual(client.stderr, [])

    def test_ipv6(self) -> None:
        server = TwistdProcess("netsuite-echo", ["--listen", "udp:0:interface=\\:\\:1"]).start()
        self.addCleanup(server.stop)
        port = str(server.address("echo/udp")[1])
        code, out, err = ping("::1", port, "--count", "3", "--interval", "0.01", "--json")
        self.assertEqual((code, err), (0, ""), out)
        summary = json.loads(out)
        self.assertEqual((summary["received"], summary["address"]), (3, f"[::1]:{port}"))


class PingFailureTests(SynchronousTestCase):
    def test_refused(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = str(s.getsockname()[1])
        code, out, err = ping("127.0.0.1", port, "--count", "3", "--interval", "0.01")
        self.assertEqual(code, 1)
        self.assertEqual(
            err, f"netsuite ping: cannot connect to 127.0.0.1:{port}: connection refused\n"
        )
        code, out, err = ping("127.0.0.1", port, "--count", "3", "--json")
        self.assertEqual(code, 1)
        summary = json.loads(out)
        self.assertEqual(
            (summary["received"], summary["error"]), (0, err.split(": ", 1)[1].strip())
        )

    def test_all_lost(self) -> None:
        """A socket that reads and never answers (no ICMP either): everything is lost."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
            silent.bind(("127.0.0.1", 0))
            port = str(silent.getsockname()[1])
            code, out, err = ping(
                "127.0.0.1", port, "--count", "3", "--interval", "0.01", "--timeout", "0.3"
            )
        self.assertEqual((code, err), (1, ""), out)
        self.assertIn("3 sent, 0 received, 100% lost", out)
        self.assertIn("rtt n/a: nothing came back", out)


class PingDTLSTests(SynchronousTestCase):
    def setUp(self) -> None:
        scratch = tempfile.TemporaryDirectory(prefix="netsuite-ping-test-")
        self.addCleanup(scratch.cleanup)
        self.tls = TLSFiles(Path(scratch.name), names=("127.0.0.1", "localhost"))
        other_cert, other_key = self.tls.leaf("other", ["other.invalid"])
        base = "dtls:0:interface=127.0.0.1"
        self.server = TwistdProcess(
            "netsuite-echo",
            [
                "--listen",
                f"{base}:cert={self.tls.cert_path}:key={self.tls.key_path}",
                "--listen",
                f"{base}:cert={other_cert}:key={other_key}",
            ],
            expect=2,
        ).start()
        self.addCleanup(self.server.stop)
        self.good = str(self.server.address("echo/dtls", 0)[1])
        self.other = str(self.server.address("echo/dtls", 1)[1])

    def test_verified(self) -> None:
        code, out, err = ping(
            "127.0.0.1", self.good, "--dtls", "--ca", self.tls.ca_path,
            "--count", "200", "--interval", "0.002", "--json",
        )  # fmt: skip
        self.assertEqual((code, err), (0, ""), out)
        summary = json.loads(out)
        self.assertEqual(
            (summary["transport"], summary["sent"], summary["received"], summary["lost"]),
            ("dtls", 200, 200, 0),
        )
        self.server.wait_for_line(r"echo/dtls session 127\.0\.0\.1:\d+ ended .*close_notify")

    def test_untrusted_wrong_name_and_insecure(self) -> None:
        code, out, err = ping("127.0.0.1", self.good, "--dtls", "--count", "1")
        self.assertEqual((code, out), (1, ""))
        self.assertEqual(
            err,
            "netsuite ping: DTLS verification failed for 127.0.0.1: the certificate does not "
            "chain to a system-trusted CA (--ca FILE trusts another)\n",
        )
        code, out, err = ping(
            "127.0.0.1", self.other, "--dtls", "--ca", self.tls.ca_path, "--count", "1"
        )
        self.assertEqual((code, out), (1, ""))
        self.assertEqual(
            err,
            "netsuite ping: DTLS verification failed for 127.0.0.1: certificate does not "
            "match 127.0.0.1 (it names: other.invalid)\n",
        )
        code, out, err = ping(
            "127.0.0.1", self.other, "--dtls", "--insecure", "--count", "3", "--interval", "0.01"
        )
        self.assertEqual(code, 0, out + err)
        self.assertEqual(
            err, "netsuite ping: WARNING: --insecure: the server's certificate is not checked\n"
        )
        self.assertIn("3 sent, 3 received, 0% lost", out)
