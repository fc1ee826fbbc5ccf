"""Each strategy of netsuite.testing.strategies draws values netsuite accepts."""

from __future__ import annotations

import re

from hypothesis import given, settings
from twisted.trial.unittest import SynchronousTestCase
from twisted.words.protocols.irc import parsemsg

from netsuite.chat._events import ChatEvent, Replayed, Said
from netsuite.chat._hub import TEXT_MAX
from netsuite.chat._irc_render import LINE_MAX
from netsuite.chat._names import valid_nick, valid_room
from netsuite.datagram import HEADER_SIZE, Probe, decode, encode
from netsuite.testing.strategies import (
    chat_events,
    chat_texts,
    irc_lines,
    nicks,
    probe_datagrams,
    probes,
    raw_lines,
    rooms,
)

bounded = settings(max_examples=100, deadline=None, derandomize=True)
COMMAND = re.compile(r"[A-Za-z]+|[0-9]{3}")


class StrategyTests(SynchronousTestCase):
    @bounded
    @given(nicks(), rooms(), chat_texts())
    def test_names_and_texts(self, nick: str, room: str, text: str) -> None:
        self.assertTrue(valid_nick(nick), nick)
        self.assertTrue(valid_room(room), room)
        self.assertTrue(0 < len(text) <= TEXT_MAX)

    @bounded
    @given(chat_events())
    def test_chat_events(self, event: ChatEvent) -> None:
        self.assertIsInstance(event, ChatEvent)
        said = event.said if isinstance(event, Replayed) else event
        if isinstance(said, Said):
            self.assertTrue(valid_nick(said.sender))
            self.assertNotEqual(said.room is None, said.target is None)
            self.assertIn(said.kind, ("say", "action", "notice"))
            self.assertTrue(said.text)

    @bounded
    @given(irc_lines())
    def test_irc_lines(self, line: bytes) -> None:
        self.assertTrue(line.endswith(b"\r\n"))
        self.assertLessEqual(len(line), LINE_MAX)
        body = line[:-2]
        self.assertFalse(set(body) & {0, 10, 13}, line)
        prefix, command, params = parsemsg(body.decode("utf-8"))
        self.assertTrue(COMMAND.fullmatch(command), command)
        self.assertLessEqual(len(params), 15)
        self.assertEqual(body.startswith(b":"), bool(prefix))
        self.assertFalse(any(" " in p for p in params[:-1]), params)

    @bounded
    @given(raw_lines())
    def test_raw_lines(self, line: bytes) -> None:
        self.assertTrue(line.endswith(b"\n"))
        self.assertNotIn(b"\n", line[:-1].rstrip(b"\r"))
        self.assertEqual(line.count(b"\n"), 1)

    @bounded
    @given(probes())
    def test_probes(self, probe: Probe) -> None:
        self.assertEqual(decode(encode(probe.seq, probe.sent_ns, probe.size, probe.flags)), probe)

    @bounded
    @given(probe_datagrams())
    def test_probe_datagrams(self, datagram: bytes) -> None:
        self.assertGreaterEqual(len(datagram), HEADER_SIZE)
        self.assertEqual(decode(datagram).size, len(datagram))
