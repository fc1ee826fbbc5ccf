"""Every limit's default is named once in netsuite.limits, and the doors and taps use it."""

from twisted.internet.task import Clock
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

import netsuite.limits
from netsuite.chat import tap as chat_tap
from netsuite.echo import tap as echo_tap
from netsuite.echo._udp import DEFAULT_DENIED_PORTS, DatagramGuard
from netsuite.limits import _defaults as limits
from netsuite.limits._policy import ConnectionGate, SourceBuckets
from netsuite.limits._session_table import SessionTable
from netsuite.stream._door import DoorFactory
from netsuite.stream._lines import LineSplitter
from netsuite.stream._write import CORK_LIMIT
from netsuite.twistd._options import MAX_CONNECTIONS, MAX_PER_IP, Parameter
from netsuite.web import tap as web_tap
from netsuite.web._config import WebConfig, WebLimits
from netsuite.web._wsguard import FrameGuard


class DefaultsTests(SynchronousTestCase):
    def test_every_default_is_exported_and_documented(self) -> None:
        names = [name for name in vars(limits) if name.isupper()]
        self.assertEqual(len(names), 36)
        for name in names:
            self.assertIs(getattr(netsuite.limits, name), getattr(limits, name))
            self.assertIn(name, netsuite.limits.__all__)
            self.assertIn(f"C{{{name}}}", netsuite.limits.__doc__, name)

    def test_policies_and_doors_default_to_them(self) -> None:
        gate = ConnectionGate()
        self.assertEqual((gate.max_total, gate.max_per_peer), (1024, 64))
        self.assertEqual(gate.max_total, limits.MAX_CONNECTIONS)
        self.assertEqual(gate.max_per_peer, limits.MAX_PER_IP)
        self.assertEqual(SourceBuckets(1.0, 1.0).max_sources, limits.MAX_SOURCES)
        self.assertEqual(SessionTable().max_sessions, limits.MAX_SESSIONS)
        self.assertEqual(LineSplitter().max_length, limits.MAX_LINE)
        self.assertEqual(DoorFactory("x", clock=Clock()).idle_timeout, limits.IDLE_TIMEOUT)
        self.assertIs(CORK_LIMIT, limits.CORK_LIMIT)
        self.assertIs(DEFAULT_DENIED_PORTS, limits.DEFAULT_DENIED_PORTS)
        guard = DatagramGuard()
        self.assertEqual(guard.buckets.rate, limits.UDP_RATE)
        self.assertEqual(guard.buckets.burst, limits.UDP_BURST)
        self.assertEqual(guard.buckets.max_sources, limits.MAX_SOURCES)
        web = WebLimits()
        self.assertEqual(
            (web.max_body, web.max_headers, web.max_header_bytes),
            (limits.MAX_BODY, limits.MAX_HEADERS, limits.MAX_HEADER_BYTES),
        )
        self.assertEqual(
            (web.header_timeout, web.body_timeout, web.idle_timeout, web.abort_timeout),
            (
                limits.HEADER_TIMEOUT,
                limits.BODY_TIMEOUT,
                limits.WEB_IDLE_TIMEOUT,
                limits.WEB_ABORT_TIMEOUT,
            ),
        )
        config = WebConfig()
        self.assertEqual(config.cache_bytes, limits.CACHE_BYTES)
        self.assertEqual(config.cache_file_max, limits.CACHE_FILE_MAX)
        frames = FrameGuard()
        self.assertEqual((frames.max_frame, frames.max_message), (limits.WS_MAX_MESSAGE,) * 2)

    def test_taps_default_to_them(self) -> None:
        echo, chat, web = echo_tap.Options(), chat_tap.Options(), web_tap.Options()
        for options in (echo, chat, web):
            self.assertEqual(options["max-connections"], limits.MAX_CONNECTIONS)
            self.assertEqual(options["max-per-ip"], limits.MAX_PER_IP)
        self.assertEqual(echo["idle-timeout"], limits.IDLE_TIMEOUT)
        self.assertEqual(chat["idle-timeout"], limits.LINE_IDLE_TIMEOUT)
        self.assertEqual(web["idle-timeout"], limits.WEB_IDLE_TIMEOUT)
        self.assertEqual(chat["drain-timeout"], limits.DRAIN_TIMEOUT)
        self.assertEqual(web["drain-timeout"], limits.DRAIN_TIMEOUT)
        self.assertEqual(chat["max-line"], limits.MAX_LINE)
        self.assertEqual(chat["send-queue"], limits.SEND_QUEUE)
        self.assertEqual(echo["udp-max-sources"], limits.MAX_SOURCES)


class BoundTests(SynchronousTestCase):
    """Each bounded tap option at its edge: its least value taken, one below refused."""

    def assert_bound(self, make: type[usage.Options], parameter: Parameter) -> None:
        flag = f"--{parameter.name}"
        below = parameter.least - 1
        with self.assertRaises(usage.UsageError, msg=parameter.name) as e:
            make().parseOptions([flag, str(below)])
        self.assertTrue(str(e.exception).startswith(f"{flag} must be "), str(e.exception))
        edge = make()
        if parameter.strict:
            with self.assertRaises(usage.UsageError, msg=parameter.name):
                edge.parseOptions([flag, str(parameter.least)])
            edge = make()
            edge.parseOptions([flag, str(parameter.least + 1)])
        else:
            edge.parseOptions([flag, str(parameter.least)])
            self.assertEqual(edge[parameter.name], parameter.least)

    def test_shared(self) -> None:
        for make in (echo_tap.Options, chat_tap.Options, web_tap.Options):
            for parameter in (MAX_CONNECTIONS, MAX_PER_IP):
                self.assert_bound(make, parameter)

    def test_echo(self) -> None:
        for parameter in echo_tap.UDP_LIMITS:
            self.assert_bound(echo_tap.Options, parameter)

    def test_chat(self) -> None:
        for parameter in chat_tap.CHAT_LIMITS:
            self.assert_bound(chat_tap.Options, parameter)

    def test_messages(self) -> None:
        """The wording each service always used."""
        for make, argv, text in [
            (echo_tap.Options, ["--max-per-ip", "-1"], "--max-per-ip must be 0 or more, not -1"),
            (echo_tap.Options, ["--idle-timeout", "-1"], "--idle-timeout must be 0 (never) or"),
            (echo_tap.Options, ["--udp-burst", "0"], "--udp-burst must be more than 0, not 0.0"),
            (chat_tap.Options, ["--history", "-1"], "--history must be 0 or more, not -1"),
            (chat_tap.Options, ["--ping-timeout", "0"], "--ping-timeout must be more than 0"),
            (web_tap.Options, ["--drain-timeout", "-1"], "--drain-timeout must be 0 or more s"),
        ]:
            with self.assertRaises(usage.UsageError) as e:
                make().parseOptions(argv)
            self.assertTrue(str(e.exception).startswith(text), str(e.exception))
