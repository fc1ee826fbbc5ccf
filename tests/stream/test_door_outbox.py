"""
The outbox's memory follows what waits in it: none while the reader keeps up, a queue
only while it is behind (L{Outbox}); and L{DoorOutbox} is the same outbox holding its
door rather than two bound methods.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from netsuite.stream._outbox import DoorOutbox, Outbox


class Door:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.overflows: list[str] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def overflow(self, reason: str) -> None:
        self.overflows.append(reason)


class DoorOutboxTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.door = Door()
        self.box = DoorOutbox(self.door, 10)

    def test_is_its_own_send(self) -> None:
        self.box(b"abc")
        self.box.send(b"de")
        self.assertEqual(self.door.written, [b"abc", b"de"])

    def test_queues_while_paused_then_drains(self) -> None:
        self.box.pauseProducing()
        self.box(b"abcd")
        self.box(b"efghij")  # 10 bytes: at the bound, not over it
        self.assertEqual((self.door.written, self.box.queued), ([], 10))
        self.box.resumeProducing()
        self.assertEqual(self.door.written, [b"abcd", b"efghij"])
        self.assertEqual((self.box.queued, self.door.overflows), (0, []))

    def test_overflow_tells_the_door_once(self) -> None:
        self.box.pauseProducing()
        self.box(b"x" * 10)
        self.box(b"y")  # 11: over
        self.box(b"z")  # closed: dropped, not told again
        self.assertEqual(self.door.overflows, ["send queue exceeded (10 bytes)"])
        self.assertEqual((self.door.written, self.box.queued), ([], 0))

    def test_flush_hands_over_the_queue(self) -> None:
        self.box.pauseProducing()
        self.box(b"ab")
        self.box.flush()
        self.box(b"late")  # after the flush nothing more goes out
        self.assertEqual(self.door.written, [b"ab"])


class QueueOnlyWhileBehindTests(SynchronousTestCase):
    """An idle outbox holds no deque; one that caught up gives its deque back."""

    def test_no_queue_until_a_stall(self) -> None:
        written: list[bytes] = []
        box: Outbox[bytes] = Outbox(written.append, 100, lambda reason: None)
        box.send(b"through")
        self.assertIsNone(box._queue)
        box.pauseProducing()
        box.send(b"waits")
        self.assertIsNotNone(box._queue)
        box.resumeProducing()
        self.assertIsNone(box._queue)
        self.assertEqual(written, [b"through", b"waits"])

    def test_paused_again_while_draining_keeps_the_rest(self) -> None:
        written: list[bytes] = []
        box: Outbox[bytes] = Outbox(written.append, 100, lambda reason: None)
        box.pauseProducing()
        for chunk in (b"1", b"2", b"3"):
            box.send(chunk)
        box.write = lambda data: (written.append(data), box.pauseProducing())  # type: ignore[method-assign]
        box.resumeProducing()
        self.assertEqual((written, box.queued), ([b"1"], 2))
        self.assertIsNotNone(box._queue)
        box.write = written.append  # type: ignore[method-assign]
        box.resumeProducing()
        self.assertEqual((written, box.queued, box._queue), ([b"1", b"2", b"3"], 0, None))
