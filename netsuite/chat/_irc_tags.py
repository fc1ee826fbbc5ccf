"""
IRCv3 message tags for the IRC door, with no I/O: reading the tags a client sends,
escaping values, adding server tags to lines already formatted, and the C{TAGMSG} event.

The rules come from the IRCv3 specifications (ircv3.net/irc):

  - message-tags: a client's tag data is at most L{CLIENT_TAGS_MAX} bytes (4094,
    between the C{@} and the space); a longer line is refused with C{417}, never
    truncated. Client-only tags (C{+name}) are relayed as the client sent them (they are
    untrusted, so their keys are checked and anything else in the tag data is dropped);
    tags without the C{+} are the server's, and the only one read from clients is
    C{label}. Server tags come before client-only tags on every relayed line, so that
    the client's cannot push the server's past a limit.
  - labeled-response: the C{label} (at most L{LABEL_MAX} bytes; a longer one is
    ignored, as Ergo does) goes on the one line a command produced, on a
    C{labeled-response} batch around several, or on an C{ACK} when there were none
    (L{labeled}).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from netsuite.chat._events import ChatEvent

__all__ = [
    "CLIENT_TAGS_MAX",
    "LABEL_MAX",
    "NO_TAGS",
    "ClientTags",
    "TagMessage",
    "escape_value",
    "labeled",
    "read_tags",
    "split_tags",
    "unescape_value",
    "with_tags",
]

#: The most tag data (bytes between C{@} and the space) a client may send (message-tags).
CLIENT_TAGS_MAX = 4094
#: The longest C{label} value, in bytes (labeled-response).
LABEL_MAX = 64

#: A tag key: an optional C{+} (client-only), an optional vendor (a host name) and C{/},
#: then letters, digits and hyphens.
_KEY = re.compile(r"\+?(?:[A-Za-z0-9.-]+/)?[A-Za-z0-9-]+\Z")
_ESCAPE = {";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n"}
_UNESCAPE = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}


def escape_value(value: str) -> str:
    """A tag value in its escaped form: C{;}, space, backslash, CR and LF escaped."""
    if not any(c in value for c in _ESCAPE):
        return value
    return "".join(_ESCAPE.get(c, c) for c in value)


def unescape_value(value: str) -> str:
    """
    A tag value as it means: C{\\:} is C{;}, C{\\s} a space and so on; a backslash
    before any other character is dropped, and a lone one at the end too (message-tags).
    """
    if "\\" not in value:
        return value
    out = []
    chars = iter(value)
    for c in chars:
        if c == "\\":
            nxt = next(chars, "")
            out.append(_UNESCAPE.get(nxt, nxt))
        else:
            out.append(c)
    return "".join(out)


@dataclass(frozen=True)
class ClientTags:
    """
    What the door reads from a client line's tags.

    @ivar label: the C{label} value, still escaped (echoed back exactly); empty if none.
    @ivar client: the client-only tags, as sent (escaped), joined by C{;}; a key sent
        twice keeps its last value (message-tags: the final occurrence wins).
    """

    label: str = ""
    client: str = ""


NO_TAGS = ClientTags()


def split_tags(line: str) -> tuple[str, str]:
    """C{(tag data, rest of the line)} of a decoded line; no tags: C{("", line)}."""
    if not line.startswith("@"):
        return "", line
    data, _, rest = line[1:].partition(" ")
    return data, rest


def read_tags(data: str) -> ClientTags:
    """The label and the client-only tags in C{data}; anything malformed is dropped."""
    label = ""
    client: dict[str, str] = {}
    for item in data.split(";"):
        key, eq, value = item.partition("=")
        if not key or not _KEY.match(key):
            continue
        if key == "label":
            label = value if 0 < len(value.encode()) <= LABEL_MAX else ""
        elif key.startswith("+"):
            client.pop(key, None)  # the last occurrence wins, in its place
            client[key] = f"{key}={value}" if eq and value else key
    return ClientTags(label, ";".join(client.values()))


def with_tags(line: bytes, tags: str) -> bytes:
    """C{line} (one line, no CRLF) with C{tags} put before any tags it already has."""
    if not tags:
        return line
    head = b"@" + tags.encode("utf-8")
    if line.startswith(b"@"):
        return head + b";" + line[1:]
    return head + b" " + line


def labeled(label: str, data: bytes, server: str, batch: str) -> bytes:
    """
    C{data} (the lines one labeled command produced, CRLF-terminated) as its labeled
    response: an C{ACK} for none, the C{label} tag on a single line, or a
    C{labeled-response} batch called C{batch} around several (labeled-response).
    """
    lines = data.split(b"\r\n")[:-1]
    tag = f"label={label}"
    if not lines:
        return f"@{tag} :{server} ACK\r\n".encode()
    if len(lines) == 1:
        return with_tags(lines[0], tag) + b"\r\n"
    inner = f"batch={batch}"
    return b"".join(
        [
            f"@{tag} :{server} BATCH +{batch} labeled-response\r\n".encode(),
            # A line already in a nested batch (CHATHISTORY's) keeps its own batch tag.
            *(
                line + b"\r\n" if line.startswith(b"@batch=") else with_tags(line, inner) + b"\r\n"
                for line in lines
            ),
            f":{server} BATCH -{batch}\r\n".encode(),
        ]
    )


@dataclass(frozen=True, eq=False)
class TagMessage(ChatEvent):
    """
    A C{TAGMSG} (message-tags): client-only tags and no text, from C{sender} to a room
    or a nick (C{target}). It never passes through the hub (no other door could show
    it): the IRC door hands it to the IRC members who enabled C{message-tags}, rendered
    once per tag set like any event.
    """

    sender: str = ""
    target: str = ""
    tags: str = ""
    mid: str = ""
    when: float = 0.0
