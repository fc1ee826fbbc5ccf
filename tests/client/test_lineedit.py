"""The terminal line editor of C{netsuite chat}: keystrokes in, lines and screen text out."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from netsuite.client._lineedit import ERASE_LINE, EndOfInput, LineEditor, Submitted


class LineEditorTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.editor = LineEditor("#lobby> ")

    def test_typing_echoes_and_enter_submits(self) -> None:
        events, out = self.editor.feed(b"hi there")
        self.assertEqual((events, out, self.editor.buffer), ([], "hi there", "hi there"))
        events, out = self.editor.feed(b"\n")
        self.assertEqual(events, [Submitted("hi there")])
        self.assertEqual(out, ERASE_LINE + "#lobby> ")  # the server's echo shows the line
        self.assertEqual(self.editor.buffer, "")

    def test_cr_lf_is_one_line(self) -> None:
        events, _ = self.editor.feed(b"a\r\nb\rc\n")
        self.assertEqual(events, [Submitted("a"), Submitted("b"), Submitted("c")])

    def test_incoming_line_above_the_prompt(self) -> None:
        self.editor.feed(b"half")
        self.assertEqual(
            self.editor.show("[#lobby] <bob> hi"),
            ERASE_LINE + "[#lobby] <bob> hi\n#lobby> half",
        )

    def test_editing_keys(self) -> None:
        self.editor.feed(b"one two  three")
        _, out = self.editor.feed(b"\x17")  # Ctrl-W
        self.assertEqual(
            (self.editor.buffer, out), ("one two  ", ERASE_LINE + "#lobby> one two  ")
        )
        self.editor.feed(b"\x17")
        self.assertEqual(self.editor.buffer, "one ")
        self.editor.feed(b"\x7f\x08")  # two backspaces
        self.assertEqual(self.editor.buffer, "on")
        self.editor.feed(b"\x15")  # Ctrl-U
        self.assertEqual(self.editor.buffer, "")
        _, out = self.editor.feed(b"\x7f")  # nothing to delete: nothing drawn
        self.assertEqual(out, "")
        _, out = self.editor.feed(b"x\x0c")  # Ctrl-L redraws
        self.assertEqual(out, "x" + ERASE_LINE + "#lobby> x")

    def test_ctrl_d_only_on_an_empty_line(self) -> None:
        self.assertEqual(self.editor.feed(b"x\x04")[0], [])
        self.assertEqual(self.editor.feed(b"\x15\x04")[0], [EndOfInput()])

    def test_escape_sequences_and_controls_ignored(self) -> None:
        # Arrows (CSI and SS3), a CSI with parameters (Delete), Alt-x, a bell, a NUL.
        self.editor.feed(b"a\x1b[A\x1bOB\x1b[3~\x1bxb\x07\x00c")
        self.assertEqual(self.editor.buffer, "abc")

    def test_utf8_split_across_reads_and_tabs(self) -> None:
        data = "é\t✓".encode()
        for i in range(len(data)):
            self.editor.feed(data[i : i + 1])
        self.assertEqual(self.editor.buffer, "é ✓")
        self.editor.feed(b"\x7f")
        self.assertEqual(self.editor.buffer, "é ")  # one character, not one byte

    def test_length_limit_rings_the_bell(self) -> None:
        editor = LineEditor(max_bytes=3)
        _, out = editor.feed("aé".encode())
        self.assertEqual(editor.buffer, "aé")
        _, out = editor.feed(b"bc")
        self.assertEqual((editor.buffer, out), ("aé", "\a\a"))

    def test_prompt_change_redraws(self) -> None:
        self.editor.feed(b"x")
        self.assertEqual(self.editor.set_prompt("#rust> "), ERASE_LINE + "#rust> x")
        self.assertEqual(self.editor.set_prompt("#rust> "), "")
        self.assertEqual(self.editor.clear(), ERASE_LINE)

    @settings(max_examples=200, deadline=None, derandomize=True)
    @given(st.binary(max_size=200), st.integers(min_value=1, max_value=7))
    def test_any_bytes_any_split(self, data: bytes, step: int) -> None:
        """Any keystrokes, fed whole or in pieces: the same lines, never an exception."""
        whole = LineEditor()
        events_whole, _ = whole.feed(data)
        pieces = LineEditor()
        events_pieces = []
        for i in range(0, len(data), step):
            events_pieces += pieces.feed(data[i : i + step])[0]
        self.assertEqual(events_whole, events_pieces)
        self.assertEqual(whole.buffer, pieces.buffer)
        for event in events_whole:
            if isinstance(event, Submitted):
                self.assertTrue(all(c.isprintable() for c in event.line), event)
