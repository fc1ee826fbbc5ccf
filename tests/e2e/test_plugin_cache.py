"""
twistd with netsuite installed in a read-only site-packages (a read-only bind mount in
a private mount namespace, so even root cannot write there).
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import twisted.plugins
from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TwistdProcess, require_tool

PLUGINS = Path(twisted.plugins.__file__).parent
SITE = PLUGINS.parent.parent


def refresh() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netsuite.twistd.plugincache"], capture_output=True, text=True
    )


class ReadOnlySitePackagesTests(SynchronousTestCase):
    def setUp(self) -> None:
        if os.geteuid() != 0:
            raise self.skipException("needs root for a private read-only mount")
        unshare = require_tool("unshare")
        self.launcher = [
            unshare, "-m", "sh", "-c",
            f'mount --bind "{SITE}" "{SITE}" && mount -o remount,bind,ro "{SITE}" && exec "$@"',
            "sh",
        ]  # fmt: skip
        self.addCleanup(refresh)

    def run_echo(self) -> TwistdProcess:
        server = TwistdProcess(
            "netsuite-echo", ["--listen", "tcp:0:interface=127.0.0.1"], launcher=self.launcher
        )
        with server, socket.create_connection(server.address("echo/tcp"), timeout=10) as s:
            s.sendall(b"read-only")
            self.assertEqual(s.recv(100), b"read-only")
        return server

    def test_fresh_cache_no_warning(self) -> None:
        """After `python -m netsuite.twistd.plugincache`, nothing is written and nothing warns."""
        out = refresh()
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("netsuite-echo", out.stdout)
        server = self.run_echo()
        self.assertNotIn("plugin cache", server.log())

    def test_stale_cache_still_works(self) -> None:
        """
        With the cache stale and unwritable, twistd still finds and runs the plugin
        (Twisted logs that it cannot write the cache), and the refresher says so.
        """
        module = PLUGINS / "netsuite_plugins.py"
        cache = PLUGINS / "dropin.cache"
        if cache.exists():
            later = cache.stat().st_mtime + 10
            os.utime(module, (later, later))
        self.run_echo()
        readonly = subprocess.run(
            [*self.launcher, sys.executable, "-m", "netsuite.twistd.plugincache"],
            capture_output=True,
            text=True,
        )
        self.assertEqual(readonly.returncode, 1)
        self.assertIn("could not write", readonly.stderr)
