"""The one nearest-rank percentile, at its edges."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from netsuite.base._stats import percentile


class PercentileTests(SynchronousTestCase):
    def test_empty_raises(self) -> None:
        self.assertRaises(ValueError, percentile, [], 50)
        self.assertRaises(ValueError, percentile, [], 100)

    def test_one_value_is_every_percentile(self) -> None:
        for q in (0.001, 1, 50, 99, 100):
            self.assertEqual(percentile([5.0], q), 5.0)

    def test_p0_raises_p100_is_the_largest(self) -> None:
        ordered = [1.0, 2.0, 3.0]
        self.assertRaises(ValueError, percentile, ordered, 0)
        self.assertRaises(ValueError, percentile, ordered, 100.5)
        self.assertEqual(percentile(ordered, 100), 3.0)
        self.assertEqual(percentile(ordered, 0.001), 1.0)  # the smallest q: the first rank

    def test_nearest_rank(self) -> None:
        ordered = [float(x) for x in range(1, 101)]
        self.assertEqual(percentile(ordered, 99), 99.0)
        self.assertEqual(percentile(ordered, 50), 50.0)
        self.assertEqual(percentile([float(x) for x in range(10)], 99), 9.0)  # rank ceil(9.9)
