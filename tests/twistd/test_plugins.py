"""The twistd plugins as Twisted finds them, and what importing them costs."""

import subprocess
import sys

from twisted.application.service import IServiceMaker
from twisted.internet.interfaces import IStreamServerEndpointStringParser
from twisted.plugin import getPlugins
from twisted.trial.unittest import SynchronousTestCase

from netsuite.base.interfaces import IDatagramServerEndpointStringParser


class PluginTests(SynchronousTestCase):
    def test_service_makers(self) -> None:
        makers = {m.tapname: m for m in getPlugins(IServiceMaker)}
        self.assertIn("netsuite-echo", makers)
        self.assertTrue(hasattr(makers["netsuite-echo"].options(), "opt_listen"))

    def test_endpoint_parsers(self) -> None:
        stream = {p.prefix for p in getPlugins(IStreamServerEndpointStringParser)}
        datagram = {p.prefix for p in getPlugins(IDatagramServerEndpointStringParser)}
        self.assertIn("nstls", stream)
        self.assertEqual({"udp", "systemd"} - datagram, set())

    def test_plugin_modules_are_light(self) -> None:
        """
        Twisted imports every plugin module on every scan (twistd --help, each parse):
        ours must not pull in the services, OpenSSL or cryptography.
        """
        code = (
            "import sys\n"
            "import twisted.plugins.netsuite_plugins, twisted.plugins.netsuite_endpoints\n"
            "heavy = [m for m in sys.modules if m.startswith(('netsuite.echo', 'netsuite.tls',"
            " 'OpenSSL', 'cryptography', 'netsuite.twistd._endpoints'))]\n"
            "print(heavy)\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        self.assertEqual(out.stdout.strip(), "[]", out.stderr)
