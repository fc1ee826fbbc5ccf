"""
Every change note in C{newsfragments/} is named so that towncrier files it.

Why: a misnamed note is silently left out of the release notes.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

ROOT = Path(__file__).resolve().parents[1]


def note_types() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["towncrier"]
    return {t["directory"] for t in config["type"]}


class NewsfragmentTests(SynchronousTestCase):
    def test_names(self) -> None:
        types = note_types()
        pattern = re.compile(r"^\d+(\.\d+)?\.(?P<type>[a-z]+)$")
        for path in (ROOT / "newsfragments").iterdir():
            if path.name == "README.md":
                continue
            match = pattern.match(path.name)
            self.assertIsNotNone(match, f"{path.name}: expected <issue>.<type>")
            assert match is not None
            self.assertIn(match["type"], types, path.name)
            self.assertTrue(path.read_text().strip(), f"{path.name} is empty")
