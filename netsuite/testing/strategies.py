"""
Hypothesis strategies for netsuite's message types, to fuzz your code (or ours) with
values the servers really exchange.

Needs hypothesis (C{pip install netsuite[testing]}); the rest of L{netsuite.testing}
does not. Keep runs bounded and repeatable::

    from hypothesis import given, settings
    from netsuite.testing.strategies import irc_lines

    @settings(max_examples=200, deadline=None, derandomize=True)
    @given(irc_lines())
    def test_any_line_parses(line):
        ...

  - L{nicks}, L{rooms}, L{chat_texts}: names and texts the hub accepts.
  - L{chat_events}: the events the hub delivers to members (L{Said}, L{Joined} ...).
  - L{irc_lines}: well-formed RFC 1459/2812 message lines; L{raw_lines}: any bytes
    ending in a line break, for "never another exception" properties.
  - L{probes}, L{probe_datagrams}: probe values and their datagrams.
"""

from __future__ import annotations

from hypothesis import strategies as st

from netsuite.chat import _events as ev
from netsuite.chat._events import ChatEvent
from netsuite.chat._hub import TEXT_MAX, TOPIC_MAX
from netsuite.chat._irc_render import LINE_MAX
from netsuite.chat._names import NICK_MAX, ROOM_MAX, valid_nick, valid_room
from netsuite.datagram._probe import HEADER_SIZE, MAX_SIZE, Probe, encode

__all__ = [
    "chat_events",
    "chat_texts",
    "irc_lines",
    "nicks",
    "probe_datagrams",
    "probes",
    "raw_lines",
    "rooms",
]

_NICK_FIRST = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz[]\\`_^{|}"
_NICK_REST = _NICK_FIRST + "0123456789-"
#: No spaces of any kind, no controls, no surrogates: what a name or an IRC word holds.
_WORD = st.characters(
    blacklist_categories=("Zs", "Zl", "Zp", "Cc", "Cs"), blacklist_characters=",:"
)
_U64 = st.integers(min_value=0, max_value=2**64 - 1)


def nicks() -> st.SearchStrategy[str]:
    """Nicks every door accepts (RFC 2812 characters, up to C{NICK_MAX})."""
    return st.builds(
        str.__add__,
        st.sampled_from(_NICK_FIRST),
        st.text(_NICK_REST, max_size=NICK_MAX - 1),
    ).filter(valid_nick)


def rooms() -> st.SearchStrategy[str]:
    """Room names the hub accepts: C{#} and up to C{ROOM_MAX - 1} more characters."""
    return st.text(_WORD, min_size=1, max_size=ROOM_MAX - 1).map("#".__add__).filter(valid_room)


def chat_texts(max_size: int = 200) -> st.SearchStrategy[str]:
    """Message texts the hub accepts: not empty, at most C{max_size} (<= TEXT_MAX)."""
    return st.text(
        st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=min(max_size, TEXT_MAX)
    )


def _said() -> st.SearchStrategy[ev.Said]:
    common = {
        "sender": nicks(),
        "text": chat_texts(),
        "kind": st.sampled_from(("say", "action", "notice")),
        "when": st.floats(min_value=0, max_value=4e9, allow_nan=False),
        "seq": st.integers(min_value=1, max_value=2**53),
    }
    return st.one_of(
        st.builds(ev.Said, room=rooms(), **common), st.builds(ev.Said, target=nicks(), **common)
    )


def chat_events() -> st.SearchStrategy[ChatEvent]:
    """
    Any event the hub delivers, with valid nicks, rooms and texts: a room or private
    L{ev.Said}, its L{ev.Replayed} form, L{ev.Joined}, L{ev.Parted}, L{ev.Quit}, L{ev.Renamed},
    L{ev.TopicChanged} and L{ev.Notice}. For a door's renderer: every event renders.
    """
    reason = st.text(st.characters(blacklist_categories=["Cs"]), max_size=80)
    return st.one_of(
        _said(),
        st.builds(ev.Replayed, said=_said()),
        st.builds(ev.Joined, room=rooms(), nick=nicks()),
        st.builds(ev.Parted, room=rooms(), nick=nicks(), reason=reason),
        st.builds(ev.Quit, nick=nicks(), reason=reason),
        st.builds(ev.Renamed, old=nicks(), new=nicks()),
        st.builds(
            ev.TopicChanged,
            room=rooms(),
            nick=nicks(),
            topic=st.text(st.characters(blacklist_categories=["Cs"]), max_size=TOPIC_MAX),
        ),
        st.builds(ev.Notice, text=chat_texts()),
    )


def _irc_prefix() -> st.SearchStrategy[str]:
    host = st.text(_WORD, min_size=1, max_size=30)
    return st.one_of(
        host,
        st.builds(
            lambda nick, user, host: (
                nick + (f"!{user}" if user else "") + (f"@{host}" if host else "")
            ),
            nicks(),
            st.one_of(
                st.none(), st.text(_WORD.filter(lambda c: c not in "!@"), min_size=1, max_size=10)
            ),
            st.one_of(st.none(), host),
        ),
    )


def irc_lines() -> st.SearchStrategy[bytes]:
    """
    Well-formed IRC message lines, UTF-8, CRLF-terminated, at most C{LINE_MAX} bytes:
    an optional C{:prefix}, a command (letters or a three-digit numeric), up to 14
    middle parameters and an optional C{:trailing} one (RFC 2812 section 2.3.1).
    Twisted's C{parsemsg} splits each into exactly the parts it was built from.
    """
    command = st.one_of(
        st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=1, max_size=10),
        st.integers(min_value=0, max_value=999).map("{:03d}".format),
    )
    middle = st.builds(str.__add__, _WORD, st.text(st.one_of(_WORD, st.just(":")), max_size=15))
    trailing = st.text(st.one_of(_WORD, st.sampled_from(": ")), max_size=80)

    def line(prefix: str | None, command: str, params: list[str], last: str | None) -> bytes:
        words = ([":" + prefix] if prefix else []) + [command] + params
        text = " ".join(words) + (" :" + last if last is not None else "")
        return text.encode("utf-8") + b"\r\n"

    return st.builds(
        line,
        st.one_of(st.none(), _irc_prefix()),
        command,
        st.lists(middle, max_size=6),
        st.one_of(st.none(), trailing),
    ).filter(lambda data: len(data) <= LINE_MAX)


def raw_lines(max_size: int = 1024) -> st.SearchStrategy[bytes]:
    """
    Any bytes without a line break, then CRLF or a bare LF: for properties such as
    "every line, valid or not, gets an answer or our protocol error, never a crash".
    """
    return st.builds(
        bytes.__add__,
        st.binary(max_size=max_size).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
        st.sampled_from((b"\r\n", b"\n")),
    )


def probes(max_size: int = 1500) -> st.SearchStrategy[Probe]:
    """L{Probe} values that encode: any sequence and send time, C{HEADER_SIZE..max_size}."""
    return st.builds(
        Probe,
        seq=_U64,
        sent_ns=_U64,
        size=st.integers(min_value=HEADER_SIZE, max_value=min(max_size, MAX_SIZE)),
        flags=st.integers(min_value=0, max_value=255),
    )


def probe_datagrams(max_size: int = 1500) -> st.SearchStrategy[bytes]:
    """Probe datagrams as C{netsuite ping} sends them (L{encode} of a L{probes} value)."""
    return probes(max_size).map(lambda p: encode(p.seq, p.sent_ns, p.size, p.flags))
