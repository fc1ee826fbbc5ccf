"""
End to end: the soak driver itself (C{python -m bench.soak}), for a few seconds.

The soak proper runs for minutes, by hand (docs/reliability.md, "Soak"); this only
proves the driver still starts the whole suite from this checkout, puts every load on
it, checks what comes back and reports it. The C bursts are left out (they compile
three generators) and the RSS target is not asserted: a few seconds are all warm-up.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

CHECKOUT = Path(__file__).resolve().parents[2]
LOADS = (
    "echo (Python, every byte)",
    "udp probes",
    "http gets",
    "tls handshakes (Python)",
    "slow clients",
    "abrupt disconnects",
)


class SoakSmokeTests(SynchronousTestCase):
    def test_a_short_soak_runs_every_load_cleanly(self) -> None:
        report_path = Path(self.mktemp()).resolve()
        command = [sys.executable, "-m", "bench.soak", "--seconds", "4", "--warmup", "1"]
        command += ["--no-bursts", "--json", str(report_path)]
        done = subprocess.run(
            command, cwd=CHECKOUT, capture_output=True, text=True, timeout=120, check=False
        )
        self.assertIn(done.returncode, (0, 1), done.stdout + done.stderr)
        self.assertIn("soak: ", done.stdout)
        report = json.loads(report_path.read_text())
        self.assertEqual(sorted(report["loads"]), sorted(LOADS))
        for name, load in report["loads"].items():
            self.assertEqual(load["errors"], {}, name)
            self.assertTrue(load["counts"], name)
        self.assertGreater(
            report["loads"]["echo (Python, every byte)"]["counts"]["bytes verified"], 0
        )
        self.assertEqual(report["bad_log_count"], 0, report["bad_log_lines"])
        self.assertEqual(report["exit_status"], 0)
        self.assertIsNotNone(report["rss_warm_mib"])
