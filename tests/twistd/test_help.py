"""
C{twistd PLUGIN --help} of every netsuite plugin prints prose: no escaped C{\\n} (an
escaped newline in a C{longdesc} once printed as a literal backslash-n).
"""

from __future__ import annotations

import contextlib
import io

from twisted.application.service import IServiceMaker
from twisted.plugin import getPlugins
from twisted.scripts.twistd import ServerOptions
from twisted.trial.unittest import SynchronousTestCase


def netsuite_plugins() -> list[str]:
    return sorted(
        p.tapname
        for p in getPlugins(IServiceMaker)
        if getattr(p, "module", "").startswith("netsuite.")
    )


def twistd_help(tapname: str) -> str:
    """What C{twistd TAPNAME --help} prints (twistd's own option parsing, in process)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        ServerOptions().parseOptions([tapname, "--help"])
    return out.getvalue()


class HelpTests(SynchronousTestCase):
    def test_every_plugin_help_is_prose(self) -> None:
        plugins = netsuite_plugins()
        expected = {"netsuite", "netsuite-echo", "netsuite-chat", "netsuite-web"}
        self.assertTrue(expected <= set(plugins), plugins)
        for tapname in plugins:
            text = twistd_help(tapname)
            self.assertIn("--help", text, tapname)
            self.assertNotIn("\\n", text, f"twistd {tapname} --help prints a literal \\n")
