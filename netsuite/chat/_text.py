"""
Text from people made safe for other people's screens: one C{scrub} for every chat door.

Each door calls it on what it receives; they differ only in what they keep, which is the
C{keep_formatting} switch: the IRC door keeps IRC's formatting codes and CTCP's C{\\x01}
(IRC clients render them, and CTCP ACTION is how C{/me} travels), while the plain-line door,
the WebSocket door and the C{netsuite chat} client drop every control character (they would
garble a terminal or a page).
"""

from __future__ import annotations

import re

__all__ = ["scrub"]

#: C0 and C1 control characters and DEL (tab is turned into a space first): terminal
#: escape sequences and bells do not reach other people's screens.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: The same, except IRC's formatting codes (bold \x02, colour \x03, reset \x0f, reverse
#: \x16, italic \x1d, underline \x1f) and CTCP's \x01.
_CONTROL_BUT_FORMATTING = re.compile(r"[\x00\x04-\x0e\x10-\x15\x17-\x1c\x1e\x7f-\x9f]")


def scrub(text: str, *, keep_formatting: bool = False) -> str:
    """
    C{text} without control characters, tabs as spaces; with C{keep_formatting}, IRC
    formatting codes and CTCP's C{\\x01} are kept.
    """
    if text.isprintable():  # no control character, no tab: most text, at C speed
        return text
    pattern = _CONTROL_BUT_FORMATTING if keep_formatting else _CONTROL
    return pattern.sub("", text.replace("\t", " "))
