"""
Under C{--workers}: each worker's stats file, and C{/api/stats} and C{/metrics} reporting
every worker and their total from any one of them.
"""

from __future__ import annotations

import json
from pathlib import Path

from prometheus_client.exposition import generate_latest
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from netsuite.base._metrics import Counters
from netsuite.twistd._workers import COUNT_ENV, STATS_ENV, WORKER_ENV
from netsuite.web._prometheus import metrics_registry
from netsuite.web._stats import StatsRegistry
from netsuite.web._worker_stats import INTERVAL, WorkerStats, worker_stats


def registry(clock: Clock, accepted: int) -> tuple[StatsRegistry, Counters]:
    stats = StatsRegistry(clock.seconds)
    counters = Counters("web")
    counters["accepted"] = accepted
    stats.register(counters, gauges={"open": lambda: 1})
    return stats, counters


def accepted(path: Path) -> int:
    """The web service's accepted connections in a worker's stats file."""
    return int(json.loads(path.read_text())["services"]["web"]["counters"]["accepted"])


class WorkerStatsTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.dir = Path(self.mktemp())
        self.dir.mkdir()
        self.clock = Clock()
        self.stats0, self.c0 = registry(self.clock, 3)
        self.stats1, self.c1 = registry(self.clock, 5)
        self.w0 = WorkerStats(self.stats0, str(self.dir), 0, 2, self.clock)
        self.w1 = WorkerStats(self.stats1, str(self.dir), 1, 2, self.clock)
        self.stats0.workers = self.w0

    def test_written_every_interval_and_at_stop(self) -> None:
        self.w1.startService()
        path = self.dir / "worker-1.json"
        self.assertEqual(json.loads(path.read_text())["services"]["web"]["counters"],
                         {"accepted": 5})  # fmt: skip
        self.c1["accepted"] = 6
        self.clock.advance(INTERVAL * 0.99)
        self.assertEqual(accepted(path), 5)
        self.clock.advance(INTERVAL * 0.01)
        self.assertEqual(accepted(path), 6)
        self.c1["accepted"] = 7
        self.w1.stopService()
        self.assertEqual(accepted(path), 7)
        self.assertEqual(list(self.dir.iterdir()), [path])  # no temporary file left

    def test_a_missing_sibling_is_absent(self) -> None:
        self.assertEqual(list(self.w0.records()), [0])
        (self.dir / "worker-1.json").write_text("{half")
        self.assertEqual(list(self.w0.records()), [0])

    def test_snapshot_per_worker_and_total(self) -> None:
        self.w1.write()
        self.clock.advance(0.5)
        self.c0["accepted"] = 4  # live for the worker answering
        snapshot = self.stats0.snapshot()
        self.assertEqual(snapshot["worker"], 0)
        workers = snapshot["workers"]
        self.assertEqual(workers["0"]["services"]["web"]["connections"]["accepted"], 4)
        self.assertEqual(workers["1"]["services"]["web"]["connections"]["accepted"], 5)
        self.assertEqual(workers["1"]["age_s"], 0.5)
        self.assertEqual(snapshot["services"]["web"]["connections"],
                         {"accepted": 9, "refused": 0, "open": 2})  # fmt: skip

    def test_metrics_label_each_worker_and_the_total(self) -> None:
        self.w1.write()
        text = generate_latest(metrics_registry(self.stats0, process=False)).decode()
        for worker, value in (("0", 3.0), ("1", 5.0), ("all", 8.0)):
            labels = f'service="web",worker="{worker}"'
            line = f"netsuite_connections_accepted_total{{{labels}}} {value}"
            self.assertIn(line, text)

    def test_without_workers_nothing_changes(self) -> None:
        stats, _ = registry(self.clock, 3)
        self.assertIsNone(worker_stats(stats, self.clock, {}))
        self.assertNotIn("worker", stats.snapshot())
        text = generate_latest(metrics_registry(stats, process=False)).decode()
        self.assertIn('netsuite_connections_accepted_total{service="web"} 3.0', text)

    def test_attached_in_a_worker(self) -> None:
        stats, _ = registry(self.clock, 3)
        env = {WORKER_ENV: "1", COUNT_ENV: "2", STATS_ENV: str(self.dir)}
        publisher = worker_stats(stats, self.clock, env)
        assert publisher is not None
        self.assertIs(stats.workers, publisher)
        self.assertEqual((publisher.index, publisher.count), (1, 2))
