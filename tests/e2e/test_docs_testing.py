"""The real-process example of docs/testing.md runs as it is written."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from tests.testing.test_docs import examples, run


class DocProcessExampleTests(SynchronousTestCase):
    def test_twistd_process(self) -> None:
        [block] = [block for block in examples() if "TwistdProcess(" in block]
        run(block, "twistd_process")
