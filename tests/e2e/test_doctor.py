"""
End to end: a real C{netsuite doctor} process against this machine's twistd plugins,
a port this test really holds with a listening socket, and a real certificate.

The command runs as C{python -m netsuite.client} with this checkout first on the path,
so the checkout's doctor is tested even when the installed copy is older.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netsuite.tls._pki import create_ca, issue

CHECKOUT = Path(__file__).resolve().parents[2]


class DoctorProcessTests(SynchronousTestCase):
    def setUp(self) -> None:
        scratch = tempfile.TemporaryDirectory(prefix="netsuite-doctor-e2e-")
        self.addCleanup(scratch.cleanup)
        self.root = Path(scratch.name)
        path = os.pathsep.join(p for p in (str(CHECKOUT), os.environ.get("PYTHONPATH")) if p)
        self.env = {
            **os.environ,
            "PYTHONPATH": path,
            "NETSUITE_STATE_DIR": str(self.root / "state"),
        }

    def doctor(self, *args: str) -> tuple[int, list[str], str]:
        # In an empty directory: no ./twistd.pid from anyone else.
        result = subprocess.run(
            [sys.executable, "-m", "netsuite.client", "doctor", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=self.root,
            env=self.env,
        )
        return result.returncode, result.stdout.splitlines(), result.stderr

    def listening(self) -> socket.socket:
        s = socket.socket()
        self.addCleanup(s.close)
        s.bind(("127.0.0.1", 0))
        s.listen()
        return s

    def test_port_held(self) -> None:
        """A port this test listens on: exit 1, and the line names this process."""
        held = self.listening().getsockname()[1]
        code, lines, err = self.doctor("--port", f"127.0.0.1:{held}")
        self.assertEqual(code, 1, (lines, err))
        (line,) = [x for x in lines if x.startswith(f"problem port 127.0.0.1:{held}/tcp")]
        self.assertIn(f"in use by pid {os.getpid()} (", line)
        self.assertIn("on 127.0.0.1", line)
        self.assertIn("1 problem(s)", err)

    def test_healthy(self) -> None:
        """Plugins listed, no pid file, a good certificate, a free port: exit 0."""
        ca = create_ca()
        cert, key, ca_path = self.root / "leaf.pem", self.root / "leaf.key", self.root / "ca.pem"
        issue(ca, ["localhost"]).write(cert, key)
        ca_path.write_bytes(ca.cert_pem)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
        probe.close()  # not listening any more: free for the doctor's bind
        code, lines, err = self.doctor(
            "--cert", str(cert), "--key", str(key), "--ca", str(ca_path),
            "--port", f"127.0.0.1:{free}", "--port", f"127.0.0.1:{free}/udp",
        )  # fmt: skip
        self.assertEqual(code, 0, (lines, err))
        self.assertEqual([x for x in lines if x.startswith("problem")], [])
        for name in ("netsuite", "netsuite-echo", "netsuite-chat", "netsuite-web"):
            self.assertIn(f"ok plugins: {name} is listed by twistd", lines)
        self.assertIn(f"ok port 127.0.0.1:{free}/tcp: free", lines)
        self.assertIn(f"ok cert {cert}: names: localhost", lines)
        self.assertIn(f"ok cert {cert}: chains to the --ca certificates", lines)
        self.assertIn("ok pidfile: no twistd.pid: no twistd runs from here", lines)
        self.assertTrue(any(x.startswith("ok dev ca:") for x in lines), lines)
        self.assertEqual(err, "")
