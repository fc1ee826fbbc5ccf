"""The JSON log observer (netsuite.base._jsonlog) and the log format switch (logs)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

from twisted.internet.task import Clock
from twisted.logger import Logger, LogLevel, LogPublisher
from twisted.python import log as legacy_log
from twisted.python.failure import Failure
from twisted.python.reflect import namedAny
from twisted.trial.unittest import SynchronousTestCase

from netsuite.base import logs
from netsuite.base._jsonlog import JSONObserver, json_file_observer
from netsuite.base._logbatch import LogBatch


class Odd:
    def __str__(self) -> str:
        return "an odd one"


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")


class JSONObserverTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.out = io.StringIO()
        self.publisher = LogPublisher(JSONObserver(self.out))
        self.log = Logger(namespace="netsuite.test", observer=self.publisher)

    def lines(self) -> list[dict[str, Any]]:
        text = self.out.getvalue()
        self.assertTrue(text.endswith("\n"))
        return [json.loads(line) for line in text.splitlines()]

    def test_head_and_fields(self) -> None:
        self.log.info(
            "{service} {peer}: connected", service="echo", door="tcp", conn=3,
            peer="tcp 127.0.0.1:5", ratio=0.5, ok=True, nothing=None,
            tags=("a", "b"), nested={"k": [1, 2]},
        )  # fmt: skip
        [obj] = self.lines()
        self.assertEqual(obj["level"], "info")
        self.assertEqual(obj["namespace"], "netsuite.test")
        self.assertEqual(obj["text"], "echo tcp 127.0.0.1:5: connected")
        self.assertRegex(obj["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
        for key, value in {
            "service": "echo", "door": "tcp", "conn": 3, "peer": "tcp 127.0.0.1:5",
            "ratio": 0.5, "ok": True, "nothing": None, "tags": ["a", "b"],
            "nested": {"k": [1, 2]},
        }.items():  # fmt: skip
            self.assertEqual(obj[key], value, key)

    def test_no_private_keys(self) -> None:
        self.log.warn("x {a}", a=1)
        [obj] = self.lines()
        self.assertEqual(obj["level"], "warn")
        self.assertFalse([k for k in obj if k.startswith("log_")], obj)
        self.assertEqual(set(obj), {"time", "level", "namespace", "text", "a"})

    def test_values_json_cannot_hold_become_text(self) -> None:
        self.log.info(
            "odd", odd=Odd(), data=b"caf\xc3\xa9\xff", nan=float("nan"), bad=Unprintable(),
            keys={1: "int key"}, level_field=LogLevel.error,
        )  # fmt: skip
        [obj] = self.lines()
        self.assertEqual(obj["odd"], "an odd one")
        self.assertEqual(obj["data"], "café\\xff")
        self.assertEqual(obj["nan"], "nan")
        self.assertEqual(obj["bad"], "<unprintable Unprintable>")
        self.assertEqual(obj["keys"], "{1: 'int key'}")
        self.assertEqual(obj["level_field"], "error")

    def test_fields_named_like_the_head_do_not_replace_it(self) -> None:
        self.log.info("real text", text="forged", namespace="other", time="then")
        [obj] = self.lines()
        self.assertEqual((obj["text"], obj["namespace"]), ("real text", "netsuite.test"))
        self.assertNotEqual(obj["time"], "then")

    def test_multiline_text_is_one_line(self) -> None:
        self.log.info("first\nsecond\n\tthird")
        self.assertEqual(self.out.getvalue().count("\n"), 1)
        [obj] = self.lines()
        self.assertEqual(obj["text"], "first\nsecond\n\tthird")

    def test_failure_has_a_traceback(self) -> None:
        try:
            raise ZeroDivisionError("by zero")
        except ZeroDivisionError:
            self.log.failure("it broke for {who}", who="alice")
        [obj] = self.lines()
        self.assertEqual(obj["level"], "critical")
        self.assertEqual(obj["text"], "it broke for alice")
        self.assertIn("Traceback", obj["traceback"])
        self.assertIn("ZeroDivisionError", obj["traceback"])

    def test_a_format_that_fails_still_gives_a_line(self) -> None:
        self.log.info("{missing}")
        [obj] = self.lines()
        self.assertIn("Unable to format event", obj["text"])

    def test_legacy_events(self) -> None:
        """twistd's own lines ("Received SIGTERM...") come through the legacy bridge."""
        observer = JSONObserver(self.out)
        legacy = legacy_log.LogPublisher(publishPublisher=LogPublisher(observer))
        legacy.msg("Received SIGTERM, shutting down.")
        legacy.msg(failure=Failure(ValueError("bad")), isError=1, why="while stopping")
        first, second = self.lines()
        self.assertEqual(first["text"], "Received SIGTERM, shutting down.")
        self.assertEqual(first["level"], "info")
        self.assertNotIn("message", first)
        self.assertEqual(second["level"], "critical")
        self.assertIn("ValueError", second["traceback"])

    def test_batch_is_one_object_per_line(self) -> None:
        clock = Clock()
        clock.advance(1_700_000_000)
        batch = LogBatch(self.log, clock, "connections")
        batch.add("echo tcp 127.0.0.1:5: connected", {"service": "echo", "conn": 1})
        clock.advance(0.05)
        batch.add("echo tcp 127.0.0.1:6: connected", {"service": "echo", "conn": 2})
        batch.flush()
        first, second = self.lines()
        self.assertEqual(first["text"], "echo tcp 127.0.0.1:5: connected")
        self.assertEqual((first["conn"], second["conn"]), (1, 2))
        self.assertEqual(first["time"], "2023-11-14T22:13:20.000000Z")
        self.assertEqual(second["time"], "2023-11-14T22:13:20.050000Z")
        self.assertNotIn("records", first)
        self.assertNotIn("connections", first)


class FileAndFactoryTests(SynchronousTestCase):
    def test_file_is_appended(self) -> None:
        path = Path(self.mktemp())
        path.write_text('{"old": 1}\n')
        observer = json_file_observer(str(path))
        Logger(observer=observer).info("hello {who}", who="you")
        observer.stream.close()
        old, new = (json.loads(line) for line in path.read_text().splitlines())
        self.assertEqual(new["text"], "hello you")

    def test_json_logger_reads_the_environment(self) -> None:
        path = Path(self.mktemp())
        self.patch(os, "environ", {**os.environ, "NETSUITE_LOG_FILE": str(path)})
        observer = logs.json_logger()
        Logger(observer=observer).info("to the file")
        observer.stream.close()
        self.assertEqual(json.loads(path.read_text())["text"], "to the file")

    def test_json_logger_default_is_stdout(self) -> None:
        env = {k: v for k, v in os.environ.items() if k != "NETSUITE_LOG_FILE"}
        self.patch(os, "environ", env)
        import sys

        self.assertIs(logs.json_logger().stream, sys.stdout)

    def test_install_json_into_twistd_options(self) -> None:
        path = str(Path(self.mktemp()))
        options: dict[str, Any] = {"logger": None, "logfile": None}
        self.patch(logs, "_chosen_file", None)
        factory = logs.install_log_format("json", path, options)
        self.assertIsNotNone(factory)
        self.assertEqual(options["logger"], "netsuite.base.logs.json_logger")
        observer = namedAny(options["logger"])()  # as twistd's postOptions and AppLogger do
        self.assertIsInstance(observer, JSONObserver)
        observer.stream.close()  # type: ignore[attr-defined]
        self.assertTrue(Path(path).exists())

    def test_a_logger_given_by_hand_wins(self) -> None:
        mine = object()
        options: dict[str, Any] = {"logger": mine}
        logs.install_log_format("json", None, options)
        self.assertIs(options["logger"], mine)

    def test_install_text(self) -> None:
        options: dict[str, Any] = {"logger": None, "logfile": None}
        self.assertIsNone(logs.install_log_format("text", "/var/log/x.log", options))
        self.assertEqual(options, {"logger": None, "logfile": "/var/log/x.log"})
        self.assertIsNone(logs.install_log_format("text", None))

    def test_unknown_format(self) -> None:
        with self.assertRaises(ValueError) as raised:
            logs.install_log_format("xml", None)
        self.assertIn("text, json", str(raised.exception))
