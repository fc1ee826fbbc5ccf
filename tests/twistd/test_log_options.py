"""--log-format, --log-file and the config's [log]: handed to twistd's own options."""

from __future__ import annotations

import os
from typing import Any

from twisted.internet.testing import MemoryReactorClock
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from netsuite.base import logs
from netsuite.echo import tap as echo_tap
from netsuite.suite import tap as suite_tap

NO_LISTEN = ["--listen", "tcp:0:interface=127.0.0.1"]


def parse(options_class: Any, *argv: str) -> dict[str, Any]:
    """twistd's options as they are once C{argv} is parsed as twistd parses a plugin's."""
    twistd: dict[str, Any] = {"logger": None, "logfile": None}
    options = options_class()
    options.reactor = MemoryReactorClock()
    options.parent = twistd  # what twistd's ServerOptions sets before parsing a plugin
    options.parseOptions(list(argv))
    return twistd


class LogOptionTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.patch(logs, "_chosen_file", None)

    def config(self, text: str) -> str:
        path = self.mktemp()
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_text_by_default(self) -> None:
        self.assertEqual(parse(echo_tap.Options, *NO_LISTEN), {"logger": None, "logfile": None})

    def test_json(self) -> None:
        twistd = parse(echo_tap.Options, "--log-format", "json", *NO_LISTEN)
        self.assertEqual(twistd["logger"], logs.JSON_LOGGER)

    def test_json_to_a_file(self) -> None:
        path = os.path.abspath(self.mktemp())
        parse(echo_tap.Options, "--log-format=json", f"--log-file={path}", *NO_LISTEN)
        self.assertEqual(logs._chosen_file, path)

    def test_text_to_a_file(self) -> None:
        twistd = parse(echo_tap.Options, "--log-file=/tmp/netsuite.log", *NO_LISTEN)
        self.assertEqual(twistd, {"logger": None, "logfile": "/tmp/netsuite.log"})

    def test_the_config_log_section(self) -> None:
        path = self.config('[log]\nformat = "json"\n')
        twistd = parse(echo_tap.Options, "--config", path, *NO_LISTEN)
        self.assertEqual(twistd["logger"], logs.JSON_LOGGER)

    def test_the_command_line_wins_over_the_config(self) -> None:
        path = self.config('[log]\nformat = "json"\n')
        twistd = parse(echo_tap.Options, "--config", path, "--log-format", "text", *NO_LISTEN)
        self.assertIsNone(twistd["logger"])

    def test_the_suite(self) -> None:
        path = self.config('[log]\nformat = "json"\n[suite]\nservices = ["echo"]\n')
        twistd = parse(suite_tap.Options, "--config", path, "--echo-args", " ".join(NO_LISTEN))
        self.assertEqual(twistd["logger"], logs.JSON_LOGGER)

    def test_a_logger_given_to_twistd_wins(self) -> None:
        twistd: dict[str, Any] = {"logger": "my.observer", "logfile": None}
        options = echo_tap.Options()
        options.parent = twistd
        options.parseOptions(["--log-format", "json", *NO_LISTEN])
        self.assertEqual(twistd["logger"], "my.observer")

    def test_unknown_format(self) -> None:
        with self.assertRaises(usage.UsageError) as raised:
            parse(echo_tap.Options, "--log-format", "xml", *NO_LISTEN)
        self.assertIn("--log-format must be text or json, not 'xml'", str(raised.exception))

    def test_not_a_section_key(self) -> None:
        """The log is configured in [log], not per service."""
        path = self.config('[echo]\nlog_format = "json"\n')
        with self.assertRaises(SystemExit):
            parse(echo_tap.Options, "--config", path, *NO_LISTEN)
