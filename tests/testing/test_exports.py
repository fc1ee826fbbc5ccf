"""What netsuite.testing exports: exactly these names, each one importable."""

from twisted.trial.unittest import SynchronousTestCase

import netsuite.testing
import netsuite.testing.strategies

EXPECTED = [
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
]

STRATEGIES = [
    "chat_events",
    "chat_texts",
    "irc_lines",
    "nicks",
    "probe_datagrams",
    "probes",
    "raw_lines",
    "rooms",
]


class ExportTests(SynchronousTestCase):
    def test_all(self) -> None:
        self.assertEqual(netsuite.testing.__all__, EXPECTED)
        for name in EXPECTED:
            self.assertIsNotNone(getattr(netsuite.testing, name), name)

    def test_strategies(self) -> None:
        self.assertEqual(netsuite.testing.strategies.__all__, STRATEGIES)
        for name in STRATEGIES:
            self.assertTrue(callable(getattr(netsuite.testing.strategies, name)), name)

    def test_kit_without_hypothesis(self) -> None:
        """The kit itself does not import hypothesis (only its strategies module does)."""
        import subprocess
        import sys

        code = (
            "import sys; sys.modules['hypothesis'] = None; import netsuite.testing; "
            "print(sorted(m for m in sys.modules if m.startswith('hypothesis.')))"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        self.assertEqual((out.returncode, out.stdout.strip()), (0, "[]"), out.stderr)
