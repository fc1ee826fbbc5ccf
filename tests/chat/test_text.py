"""The one scrub every chat door uses, with and without IRC formatting kept."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._text import scrub

FORMATTING = "\x02b\x02 \x034red\x03 \x1di\x1d \x1fu\x1f \x16r\x0f \x01ACTION\x01"


class ScrubTests(SynchronousTestCase):
    def test_plain_drops_every_control(self) -> None:
        self.assertEqual(scrub("a\x1b[31mb\x07c\x00d\x7fe\x85f\tg"), "a[31mbcdef g")
        self.assertEqual(scrub(FORMATTING), "b 4red i u r ACTION")

    def test_keep_formatting_keeps_irc_codes_and_ctcp(self) -> None:
        self.assertEqual(scrub(FORMATTING, keep_formatting=True), FORMATTING)
        self.assertEqual(
            scrub("a\x1b[31mb\x07c\x00d\x7fe\x85f\tg", keep_formatting=True), "a[31mbcdef g"
        )

    def test_the_difference_is_exactly_the_formatting_codes(self) -> None:
        controls = "".join(map(chr, [*range(0x20), *range(0x7F, 0xA0)]))
        kept = set(scrub(controls, keep_formatting=True)) - set(scrub(controls))
        self.assertEqual(kept, {"\x01", "\x02", "\x03", "\x0f", "\x16", "\x1d", "\x1f"})

    def test_the_printable_shortcut_changes_nothing(self) -> None:
        """Text that str.isprintable() passes is returned as it is: for every character
        of the first 0x3000 code points (controls, separators, marks), alone and among
        letters, the result is the pattern's."""
        import re

        plain = re.compile(r"[\x00-\x1f\x7f-\x9f]")
        for code in range(0x3000):
            for text in (chr(code), f"a{chr(code)}b"):
                expected = plain.sub("", text.replace("\t", " "))
                self.assertEqual(scrub(text), expected, hex(code))
