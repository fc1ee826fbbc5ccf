"""Every example in docs/testing.md runs as it is written (the real-process one in e2e)."""

from __future__ import annotations

import re
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def examples() -> list[str]:
    """The Python blocks of docs/testing.md, in order."""
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


def run(block: str, name: str) -> dict[str, object]:
    namespace: dict[str, object] = {"__name__": name}
    exec(compile(block, f"{DOC}:{name}", "exec"), namespace)
    return namespace


def in_memory() -> list[str]:
    """The examples that need no process (the end-to-end tier runs the others)."""
    return [block for block in examples() if "TwistdProcess(" not in block]


class DocExampleTests(SynchronousTestCase):
    def test_there_are_examples(self) -> None:
        self.assertEqual((len(examples()), len(in_memory())), (6, 5))

    def test_plain_pair(self) -> None:
        run(in_memory()[0], "plain_pair")

    def test_tls_pair(self) -> None:
        run(in_memory()[1], "tls_pair")

    def test_hub(self) -> None:
        run(in_memory()[2], "hub")

    def test_web(self) -> None:
        run(in_memory()[3], "web")

    def test_strategies(self) -> None:
        run(in_memory()[4], "strategies")
