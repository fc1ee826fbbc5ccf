"""
The sans-IO half of C{netsuite get}: the resume decision, curl's exit statuses for every
way a transfer fails, and the progress line (plain calls, made-up times and failures).
"""

from __future__ import annotations

import socket

from hypothesis import given
from hypothesis import strategies as st
from OpenSSL import SSL
from service_identity import VerificationError
from twisted.internet import defer
from twisted.internet import error as net_error
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web import error as web_error
from twisted.web._newclient import ParseError
from twisted.web.client import (
    RequestTransmissionFailed,
    ResponseFailed,
    ResponseNeverReceived,
)
from twisted.web.http import _DataLoss

from netsuite.client._common import TLSHandshakeError
from netsuite.client._get_session import (
    Action,
    ContentRange,
    ExitCode,
    Progress,
    WriteError,
    decide,
    exit_code,
    format_duration,
    format_size,
    parse_content_range,
    range_header,
    root_cause,
)

VERIFY_FAILED = SSL.Error([("SSL routines", "", "certificate verify failed")])
WRONG_VERSION = SSL.Error([("SSL routines", "", "wrong version number")])


def fail(e: BaseException) -> Failure:
    return Failure(e)


class RangeTests(SynchronousTestCase):
    def test_range_header(self) -> None:
        self.assertIsNone(range_header(0))
        self.assertEqual(range_header(1), b"bytes=1-")
        self.assertEqual(range_header(123456), b"bytes=123456-")

    def test_parse_content_range(self) -> None:
        cases = {
            "bytes 10-19/20": ContentRange(10, 19, 20),
            "bytes 0-0/1": ContentRange(0, 0, 1),
            "bytes 10-19/*": ContentRange(10, 19, None),
            "bytes */20": ContentRange(None, None, 20),
            "Bytes  5-9 / 10": ContentRange(5, 9, 10),
        }
        for text, expected in cases.items():
            self.assertEqual(parse_content_range(text), expected, text)
            self.assertEqual(parse_content_range(text.encode()), expected, text)
        for bad in (None, "", "bytes", "bytes 19-10/20", "bytes 10-20/20", "items 1-2/3",
                    "bytes */*", "bytes 1-/5", "bytes -1-2/5"):  # fmt: skip
            self.assertIsNone(parse_content_range(bad), bad)

    @given(st.integers(0, 10**12), st.integers(0, 10**6), st.integers(1, 10**6))
    def test_parse_round_trip(self, first: int, length: int, extra: int) -> None:
        last = first + length
        total = last + extra
        self.assertEqual(
            parse_content_range(f"bytes {first}-{last}/{total}"),
            ContentRange(first, last, total),
        )


class DecideTests(SynchronousTestCase):
    """What an answer means, with and without a range asked for."""

    def test_without_a_range_everything_is_written(self) -> None:
        for status in (200, 204, 206, 301, 404, 500):
            decision = decide(status, "X")
            self.assertEqual(decision.action, Action.WRITE, status)
            self.assertEqual(decision.code, ExitCode.OK, status)
            self.assertTrue(decision.writes)
            self.assertIsNone(decision.message)

    def test_fail_on_http_errors(self) -> None:
        decision = decide(404, "Not Found", fail=True)
        self.assertEqual(decision.action, Action.SKIP)
        self.assertEqual(decision.code, 22)
        self.assertFalse(decision.writes)
        self.assertEqual(decision.message, "the server answered 404 Not Found")
        self.assertEqual(decide(399, fail=True).action, Action.WRITE)
        self.assertEqual(decide(500, "", fail=True).message, "the server answered 500")

    def test_206_from_the_offset_appends(self) -> None:
        decision = decide(206, offset=100, content_range=ContentRange(100, 199, 200))
        self.assertEqual(
            decision, decide(206, offset=100, content_range=ContentRange(100, 199, None))
        )
        self.assertEqual(decision.action, Action.APPEND)
        self.assertEqual(decision.code, ExitCode.OK)
        self.assertTrue(decision.writes)

    def test_206_from_elsewhere_is_a_range_error(self) -> None:
        decision = decide(206, offset=100, content_range=ContentRange(0, 199, 200), target="f.bin")
        self.assertEqual(decision.action, Action.MISMATCH)
        self.assertEqual(decision.code, 33)
        self.assertFalse(decision.writes)
        self.assertEqual(
            decision.message,
            "asked for the bytes from 100 on, the server sent 0-199; f.bin left as it was",
        )
        multipart = decide(206, offset=100, content_range=None)
        self.assertEqual((multipart.action, multipart.code), (Action.MISMATCH, 33))
        star = decide(206, offset=100, content_range=ContentRange(None, None, 200))
        self.assertEqual(star.code, 33)

    def test_200_to_a_range_starts_over(self) -> None:
        decision = decide(200, "OK", offset=100, target="f.bin")
        self.assertEqual(decision.action, Action.RESTART)
        self.assertEqual(decision.code, ExitCode.OK)
        self.assertTrue(decision.writes)
        self.assertEqual(
            decision.message,
            "the server does not resume (200 OK to a range): "
            "downloading f.bin again from the start",
        )

    def test_416_when_complete(self) -> None:
        for content_range in (ContentRange(None, None, 100), None):
            decision = decide(416, offset=100, content_range=content_range, target="f.bin")
            self.assertEqual(decision.action, Action.COMPLETE)
            self.assertEqual(decision.code, ExitCode.OK)
            self.assertFalse(decision.writes)
            self.assertEqual(decision.message, "f.bin is already complete (100 bytes)")

    def test_416_when_the_file_is_longer(self) -> None:
        decision = decide(
            416, offset=150, content_range=ContentRange(None, None, 100), target="f.bin"
        )
        self.assertEqual((decision.action, decision.code), (Action.MISMATCH, 33))
        self.assertIn("f.bin has 150 bytes but the server's copy has 100", decision.message or "")

    def test_416_with_fail_is_still_complete(self) -> None:
        decision = decide(416, offset=5, content_range=ContentRange(None, None, 5), fail=True)
        self.assertEqual((decision.action, decision.code), (Action.COMPLETE, 0))

    def test_errors_leave_a_resumed_file_alone(self) -> None:
        for fail_flag in (False, True):
            decision = decide(404, "Not Found", offset=10, fail=fail_flag, target="f")
            self.assertEqual((decision.action, decision.code), (Action.SKIP, 22))
            self.assertEqual(
                decision.message, "the server answered 404 Not Found; f left as it was"
            )

    def test_other_answers_leave_a_resumed_file_alone(self) -> None:
        moved = decide(301, "Moved Permanently", offset=10, target="f")
        self.assertEqual((moved.action, moved.code), (Action.SKIP, 0))
        self.assertEqual(
            moved.message,
            "the server answered 301 Moved Permanently (-L follows redirects); f left as it was",
        )
        self.assertEqual(decide(204, offset=10).action, Action.SKIP)


class ExitCodeTests(SynchronousTestCase):
    """curl's numbers for the failures Agent reports, wrapped or not."""

    def test_connecting(self) -> None:
        cases: list[tuple[BaseException, int]] = [
            (net_error.DNSLookupError("nope.invalid"), 6),
            (socket.gaierror(-2, "Name or service not known"), 6),
            (net_error.ConnectionRefusedError(), 7),
            (net_error.NoRouteError(), 7),
            (ConnectionResetError(), 7),
            (net_error.TimeoutError(), 28),
            (defer.TimeoutError(), 28),
            (TimeoutError(), 28),
        ]
        for error, code in cases:
            self.assertEqual(exit_code(fail(error)), code, error)

    def test_tls(self) -> None:
        for error, code in [
            (VerificationError(errors=[]), 60),
            (VERIFY_FAILED, 60),
            (WRONG_VERSION, 35),
            (TLSHandshakeError("closed"), 35),
        ]:
            self.assertEqual(exit_code(fail(error)), code, error)
            # As Agent reports it: inside ResponseNeverReceived, next to a closed connection.
            wrapped = ResponseNeverReceived([fail(net_error.ConnectionDone()), fail(error)])
            self.assertEqual(exit_code(fail(wrapped)), code, error)
            self.assertEqual(exit_code(fail(RequestTransmissionFailed([fail(error)]))), code)

    def test_answers(self) -> None:
        cases: list[tuple[BaseException, int]] = [
            (ResponseNeverReceived([fail(net_error.ConnectionDone())]), 52),
            (ResponseNeverReceived([fail(net_error.ConnectionLost())]), 52),
            (ResponseNeverReceived([fail(ValueError("odd"))]), 56),
            (ResponseFailed([fail(ParseError("wrong number of parts", b"SSH-2.0"))]), 8),
            (ResponseFailed([fail(net_error.ConnectionLost())]), 56),
            (RequestTransmissionFailed([fail(net_error.ConnectionLost())]), 55),
            (web_error.InfiniteRedirection(b"301", b"too many", location=b"/x"), 47),
            (web_error.RedirectWithNoLocation(b"302", b"Found", b"http://h/"), 8),
            (WriteError("disk full"), 23),
            (ValueError("anything else"), 1),
        ]
        for error, code in cases:
            self.assertEqual(exit_code(fail(error)), code, error)

    def test_in_body(self) -> None:
        lost = ResponseFailed([fail(_DataLoss())])
        self.assertEqual(exit_code(fail(lost), in_body=True), 18)
        self.assertEqual(exit_code(fail(net_error.ConnectionLost()), in_body=True), 18)
        self.assertEqual(exit_code(fail(WriteError("x")), in_body=True), 23)
        self.assertEqual(exit_code(fail(defer.TimeoutError()), in_body=True), 28)

    def test_root_cause_prefers_tls_then_real_errors(self) -> None:
        tls = fail(VERIFY_FAILED)
        wrapped = fail(ResponseNeverReceived([fail(net_error.ConnectionDone()), tls]))
        self.assertIs(root_cause(wrapped), tls)
        real = fail(net_error.ConnectionLost())
        wrapped = fail(ResponseFailed([fail(net_error.ConnectionDone()), real]))
        self.assertIs(root_cause(wrapped), real)
        done = fail(net_error.ConnectionDone())
        self.assertIs(root_cause(fail(ResponseNeverReceived([done]))), done)
        self.assertIs(root_cause(real), real)
        nested = fail(ResponseFailed([fail(ResponseNeverReceived([tls]))]))
        self.assertIs(root_cause(nested), tls)


class FormatTests(SynchronousTestCase):
    def test_format_size(self) -> None:
        cases = {
            0: "0 B",
            1023: "1023 B",
            1024: "1.0 KiB",
            1536: "1.5 KiB",
            100 * 1024: "100 KiB",
            10 * 1024**2 + 1: "10.0 MiB",
            5 * 1024**3: "5.0 GiB",
            3 * 1024**6: "3072 PiB",
        }
        for n, text in cases.items():
            self.assertEqual(format_size(n), text, n)

    def test_format_duration(self) -> None:
        cases = {0: "0:00", 7.4: "0:07", 59.6: "1:00", 754: "12:34", 3723: "1:02:03", -5: "0:00"}
        for seconds, text in cases.items():
            self.assertEqual(format_duration(seconds), text, seconds)


class ProgressTests(SynchronousTestCase):
    def test_known_total(self) -> None:
        progress = Progress(started=100.0, total=10 * 1024**2)
        progress.update(4 * 1024**2, 102.0)
        line = progress.render(102.0, width=80)
        self.assertEqual(len(line), 80)
        self.assertTrue(line.startswith(" 40% ["), line)
        tail = " 4.0 MiB/10.0 MiB  2.0 MiB/s  ETA 0:03"
        self.assertTrue(line.endswith("]" + tail), line)
        bar = 80 - len(" 40% ") - len(tail) - 2
        self.assertEqual(line.count("="), int(0.4 * bar))
        self.assertEqual(line.count(">"), 1)

    def test_done(self) -> None:
        progress = Progress(started=0.0, total=2048)
        progress.update(2048, 4.0)
        line = progress.render(4.0, width=60, final=True)
        self.assertTrue(line.startswith("100% [====="), line)
        self.assertIn("] 2.0 KiB/2.0 KiB  512 B/s  0:04", line)
        self.assertNotIn(">", line)

    def test_resumed_counts_offset_in_percent_not_in_rate(self) -> None:
        progress = Progress(started=0.0, total=1000, offset=900)
        progress.update(50, 1.0)
        line = progress.render(1.0, width=70)
        self.assertTrue(line.startswith(" 95% "), line)
        self.assertIn("950 B/1000 B  50 B/s  ETA 0:01", line)

    def test_unknown_total(self) -> None:
        progress = Progress(started=10.0)
        progress.update(3 * 1024, 13.0)
        self.assertEqual(progress.render(13.0), "3.0 KiB  1.0 KiB/s  0:03")

    def test_no_rate_yet(self) -> None:
        progress = Progress(started=5.0, total=100)
        self.assertIn("--/s  ETA --:--", progress.render(5.0))
        self.assertIsNone(progress.rate(5.0))
        self.assertIsNone(progress.average(5.0))

    def test_narrow_terminal(self) -> None:
        progress = Progress(started=0.0, total=1000)
        progress.update(500, 1.0)
        line = progress.render(1.0, width=30)
        self.assertLessEqual(len(line), 30)
        self.assertTrue(line.startswith("50% 500 B/1000 B"), line)

    def test_rate_is_recent(self) -> None:
        """After a stall the rate drops: it is measured over the last few seconds."""
        progress = Progress(started=0.0)
        for t in range(1, 11):
            progress.update(1000, float(t))  # 1000 B/s for 10 s
        self.assertAlmostEqual(progress.rate(10.0) or 0, 1000.0)
        progress.update(0, 20.0)  # then nothing for 10 s
        self.assertAlmostEqual(progress.rate(20.0) or 0, 0.0)
        self.assertAlmostEqual(progress.average(20.0) or 0, 500.0)

    def test_redraws_are_throttled(self) -> None:
        progress = Progress(started=0.0, interval=0.25)
        self.assertTrue(progress.due(0.0))
        self.assertFalse(progress.due(0.1))
        self.assertFalse(progress.due(0.24))
        self.assertTrue(progress.due(0.25))
        self.assertFalse(progress.due(0.3))

    @given(
        st.integers(1, 10**12),
        st.integers(0, 10**12),
        st.floats(0.001, 10**6),
        st.integers(20, 300),
    )
    def test_line_fits(self, total: int, got: int, elapsed: float, width: int) -> None:
        progress = Progress(started=0.0, total=total)
        progress.update(min(got, total), elapsed)
        for final in (False, True):
            line = progress.render(elapsed, width=width, final=final)
            self.assertLessEqual(len(line), width)
            self.assertNotIn("\n", line)
