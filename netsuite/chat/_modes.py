"""
Channel roles and modes, with no I/O: who may join, speak, set the topic and change
modes in one room, and how a mode change string (C{+ok-v alice key bob}) is read,
applied and echoed.

The rules are IRC's, as the Modern IRC client protocol document gives them, kept here
so that every door (line, IRC, WebSocket) obeys the same ones through the hub
(L{netsuite.chat._hub}); the IRC door only renders them. A room has:

  - roles: operators (C{o}, C{@}) and voiced members (C{v}, C{+}), keyed by whatever
    the hub uses to name a member (an opaque hashable);
  - flags: C{i} invite only, C{m} moderated, C{n} no outside messages, C{s} secret,
    C{t} topic lock (C{n} and C{t} on by default), C{R} accounts only (Ergo's);
  - a key (C{k}, type B: always a parameter) and a limit (C{l}, type C: a parameter to
    set, none to unset);
  - lists of masks (type A): C{b} bans, C{e} ban exceptions, C{I} invite exceptions,
    each of at most L{MAX_LIST} entries.

Where the document leaves a choice, this does what Ergo does: an invitation lets one
past C{+i}, the bans and (as the Modern document says) the limit, not the key; joining
checks limit, key, invite, ban, +R; a key is RFC 2812's (no space, 7-bit), a bad one
refused with 696 and C{*}; only changes that change something are echoed; a parameter
mode beyond L{MAX_MODES} in one command is dropped without a word. Refusals are
L{ModeError}s (a L{ChatError} with the letter and parameter some numerics carry).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field

from netsuite.chat._events import ChatError
from netsuite.chat._names import fold

__all__ = [
    "DEFAULT_FLAGS",
    "FLAGS",
    "KEY_MAX",
    "LIMIT_MAX",
    "LIST_MODES",
    "MAX_LIST",
    "MAX_MODES",
    "PREFIXES",
    "ROLES",
    "Change",
    "ListEntry",
    "ModeError",
    "RoomModes",
    "canonical_mask",
    "change_text",
    "mask_matches",
    "parse_changes",
    "valid_key",
]

#: Membership roles, most powerful first, with their prefix symbols (ISUPPORT PREFIX).
ROLES = "ov"
PREFIXES = {"o": "@", "v": "+"}
#: List modes (type A): bans, ban exceptions, invite exceptions.
LIST_MODES = "beI"
#: Flags (type D), on or off (C{R}: only members logged in to an account join, 477).
FLAGS = "Rimnst"
#: What a new room starts with: no outside messages, topic lock.
DEFAULT_FLAGS = frozenset("nt")
#: Modes with a parameter applied per command (ISUPPORT MODES); more are dropped.
MAX_MODES = 6
#: Entries in each list mode (ISUPPORT MAXLIST); one more is refused (478).
MAX_LIST = 100
#: Longest key, in characters (ISUPPORT KEYLEN).
KEY_MAX = 23
#: Highest limit C{+l} takes (a larger one is refused as an invalid parameter).
LIMIT_MAX = 1_000_000

_LIST_NAMES = {"b": "ban", "e": "exception", "I": "invite exception"}


class ModeError(ChatError):
    """
    A refusal about a mode. C{char} is the mode letter and C{param} its parameter,
    for the numerics that carry them (472 unknown mode, 478 list full, 696 invalid
    parameter, 441 not in the room).
    """

    def __init__(self, code: str, message: str, *, char: str = "", param: str = "") -> None:
        super().__init__(code, message)
        self.char = char
        self.param = param


@dataclass(frozen=True)
class Change:
    """One mode change: C{+o alice}, C{-k}, C{+b} with no mask (a list query)..."""

    add: bool
    char: str
    arg: str | None = None

    @property
    def query(self) -> bool:
        """A list mode with no mask: the list is asked for, nothing is changed."""
        return self.char in LIST_MODES and self.arg is None


@dataclass(frozen=True)
class ListEntry:
    """A mask of a list mode, who set it and when (IRC's 367 carries both)."""

    mask: str
    by: str
    when: float


def parse_changes(
    modestring: str, args: Iterable[str], *, max_modes: int = MAX_MODES
) -> tuple[list[Change], list[ModeError]]:
    """
    The changes of C{modestring} with their parameters taken in order from C{args},
    and the letters refused as unknown (472). A role or C{+k}/C{+l} with no parameter
    left is ignored, as the Modern document says; C{-k} takes its parameter if one is
    there (the key need not match); a list mode with no parameter is a query. Past
    C{max_modes} changes with a parameter, the rest of those are dropped.
    """
    params = list(args)
    changes: list[Change] = []
    errors: list[ModeError] = []
    add = True
    with_param = 0
    for char in modestring:
        if char in "+-":
            add = char == "+"
            continue
        arg: str | None = None
        if char in ROLES or (char in "kl" and add) or char in LIST_MODES:
            if not params:
                if char in LIST_MODES:
                    changes.append(Change(add, char))
                continue
            arg = params.pop(0)
            with_param += 1
            if with_param > max_modes:
                continue
        elif char == "k":  # -k: its parameter, if any, is consumed and not needed
            if params:
                params.pop(0)
        elif char == "l" or char in FLAGS:
            pass
        else:
            errors.append(ModeError("unknown_mode", "is unknown mode char to me", char=char))
            continue
        changes.append(Change(add, char, arg))
    return changes, errors


def change_text(changes: Iterable[Change]) -> tuple[str, list[str]]:
    """C{("+ok-v", ["alice", "key", "bob"])}: applied changes as one mode string."""
    text = ""
    sign = ""
    params: list[str] = []
    for change in changes:
        want = "+" if change.add else "-"
        if want != sign:
            text += want
            sign = want
        text += change.char
        if change.arg is not None:
            params.append(change.arg)
    return text, params


def canonical_mask(text: str) -> str:
    """
    A ban-style mask in full, C{nick!user@host}, as Ergo completes one: C{bob} is
    C{bob!*@*}, C{bob!x} is C{bob!x@*}, C{*@host} is C{*!*@host}.
    """
    if "!" not in text and "@" not in text:
        return f"{text}!*@*"
    if "@" not in text:
        return f"{text}@*"
    if "!" not in text:
        return f"*!{text}"
    return text


#: RFC 2812's key: 7-bit, no NUL, CR, LF, FF, tab, space; no comma (JOIN's separator).
_KEY = re.compile(r"[\x01-\x05\x07\x08\x0c\x0e-\x1f\x21-\x2b\x2d-\x7f]+")


def valid_key(key: str) -> bool:
    """Whether C{key} may be a room's key (C{+k}): 1 to L{KEY_MAX} such characters."""
    return 0 < len(key) <= KEY_MAX and not key.startswith(":") and _KEY.fullmatch(key) is not None


_GLOBS: dict[str, re.Pattern[str]] = {}


def mask_matches(mask: str, who: str) -> bool:
    """Whether C{who} (C{nick!user@host}) matches C{mask} (C{*} and C{?}), case-folded."""
    pattern = _GLOBS.get(mask)
    if pattern is None:
        body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in fold(mask))
        pattern = _GLOBS[mask] = re.compile(body + r"\Z", re.DOTALL)
        if len(_GLOBS) > 4096:  # a bounded cache: masks come from users
            _GLOBS.clear()
    return pattern.match(fold(who)) is not None


#: Looks a nick up among the room's members: C{(key, nick as spelled)}, or raises.
Resolve = Callable[[str], tuple[Hashable, str]]


@dataclass
class RoomModes:
    """
    One room's roles and modes. The hub holds one per room with members and drops it
    when the room empties (a room that fills again is new: new operator, defaults).
    """

    created: float = 0.0
    flags: set[str] = field(default_factory=lambda: set(DEFAULT_FLAGS))
    key: str = ""
    limit: int = 0
    ops: set[Hashable] = field(default_factory=set)
    voices: set[Hashable] = field(default_factory=set)
    lists: dict[str, dict[str, ListEntry]] = field(
        default_factory=lambda: {c: {} for c in LIST_MODES}
    )
    max_list: int = MAX_LIST

    # --- what is set ------------------------------------------------------------------

    def mode_string(self, *, show_key: bool = True) -> tuple[str, list[str]]:
        """C{("+klnt", ["key", "10"])}: flags, then key and limit with their values."""
        letters = "".join(sorted(self.flags))
        params: list[str] = []
        if self.key:
            letters += "k"
            params.append(self.key if show_key else "*")
        if self.limit:
            letters += "l"
            params.append(str(self.limit))
        return "+" + letters, params

    def roles(self, who: Hashable) -> str:
        """The roles C{who} holds, most powerful first (C{"ov"}, C{"o"}, C{""}...)."""
        return ("o" if who in self.ops else "") + ("v" if who in self.voices else "")

    def prefixes(self, who: Hashable, *, every: bool = False) -> str:
        """C{@}, C{+}, C{@+} (with C{every}, multi-prefix) or C{""}."""
        held = "".join(PREFIXES[r] for r in self.roles(who))
        return held if every else held[:1]

    def entries(self, char: str) -> list[ListEntry]:
        return list(self.lists[char].values())

    def forget(self, who: Hashable) -> None:
        """C{who} left the room: its roles go with it."""
        self.ops.discard(who)
        self.voices.discard(who)

    def _listed(self, char: str, mask: str) -> bool:
        return any(mask_matches(entry.mask, mask) for entry in self.lists[char].values())

    # --- checks -----------------------------------------------------------------------

    def check_join(self, mask: str, key: str, members: int, *, invited: bool,
                   account: str | None = None) -> None:  # fmt: skip
        """Whether C{mask} (with C{account}) may join (Ergo's order: l, k, i, b, R)."""
        if self.limit and members >= self.limit and not invited:
            raise ModeError("room_full", "Cannot join channel (+l)")
        if self.key and key != self.key:
            raise ModeError("bad_key", "Cannot join channel (+k)")
        if "i" in self.flags and not invited and not self._listed("I", mask):
            raise ModeError("invite_only", "Cannot join channel (+i)")
        if not invited and self._listed("b", mask) and not self._listed("e", mask):
            raise ModeError("banned", "Cannot join channel (+b)")
        if "R" in self.flags and not account and not invited:
            why = "Cannot join channel (+R) - you need to be logged into your account"
            raise ModeError("account_needed", why)

    def check_speak(self, who: Hashable, mask: str, *, member: bool) -> None:
        """Whether C{who} may send to the room (+n, +m, bans; a role overrides the last two)."""
        if not member and "n" in self.flags:
            raise ModeError("cannot_send", "Cannot send to channel (+n)")
        if self.roles(who):
            return
        if "m" in self.flags:
            raise ModeError("cannot_send", "Cannot send to channel (+m)")
        if self._listed("b", mask) and not self._listed("e", mask):
            raise ModeError("cannot_send", "Cannot send to channel (+b)")

    def check_topic(self, who: Hashable) -> None:
        if "t" in self.flags and who not in self.ops:
            raise ModeError("chanop_needed", "You're not channel operator")

    def check_op(self, who: Hashable) -> None:
        if who not in self.ops:
            raise ModeError("chanop_needed", "You're not channel operator")

    def check_invite(self, who: Hashable) -> None:
        """Anyone in the room may invite, but only an operator to a C{+i} room (Ergo)."""
        if "i" in self.flags and who not in self.ops:
            raise ModeError("chanop_needed", "You're not channel operator")

    # --- changes ----------------------------------------------------------------------

    def apply(
        self, changes: Iterable[Change], *, by: str, when: float, resolve: Resolve
    ) -> tuple[list[Change], list[ModeError]]:
        """
        Apply C{changes} (queries skipped; the caller checked the right to change):
        the changes that changed something, as they are to be echoed (roles with the
        nick as spelled, masks completed, C{-k} with C{*}), and the refusals.
        """
        applied: list[Change] = []
        errors: list[ModeError] = []
        for change in changes:
            if change.query:
                continue
            try:
                done = self._apply_one(change, by=by, when=when, resolve=resolve)
            except ModeError as e:
                errors.append(e)
                continue
            if done is not None:
                applied.append(done)
        return applied, errors

    def _apply_one(
        self, change: Change, *, by: str, when: float, resolve: Resolve
    ) -> Change | None:
        char, add, arg = change.char, change.add, change.arg
        if char in ROLES:
            assert arg is not None
            who, nick = resolve(arg)
            held = self.ops if char == "o" else self.voices
            if (who in held) == add:
                return None
            (held.add if add else held.discard)(who)
            return Change(add, char, nick)
        if char in LIST_MODES:
            assert arg is not None
            return self._list_change(char, add, canonical_mask(arg), by, when)
        if char == "k":
            if not add:
                if not self.key:
                    return None
                self.key = ""
                return Change(False, "k", "*")
            assert arg is not None
            if not valid_key(arg):  # Ergo: the key refused is not echoed back (C{*})
                why = f"Invalid key: 1-{KEY_MAX} printable ASCII characters, no space or comma"
                raise ModeError("invalid_mode_param", why, char="k", param="*")
            if arg == self.key:
                return None
            self.key = arg
            return Change(True, "k", arg)
        if char == "l":
            if not add:
                if not self.limit:
                    return None
                self.limit = 0
                return Change(False, "l")
            assert arg is not None
            if not arg.isdigit() or not 0 < int(arg) <= LIMIT_MAX:
                raise ModeError("invalid_mode_param", f"Invalid limit: a number from 1 to "
                                f"{LIMIT_MAX}", char="l", param=arg if arg.isprintable()
                                and arg and " " not in arg else "*")  # fmt: skip
            if int(arg) == self.limit:
                return None
            self.limit = int(arg)
            return Change(True, "l", str(self.limit))
        if (char in self.flags) == add:
            return None
        (self.flags.add if add else self.flags.discard)(char)
        return Change(add, char)

    def _list_change(self, char: str, add: bool, mask: str, by: str, when: float) -> Change | None:
        entries = self.lists[char]
        if mask.startswith(":") or any(c.isspace() for c in mask):
            raise ModeError(
                "invalid_mode_param", "Invalid mask: no spaces, not starting with ':'",
                char=char, param=mask or "*",
            )  # fmt: skip
        key = fold(mask)
        if not add:
            if entries.pop(key, None) is None:
                return None
            return Change(False, char, mask)
        if key in entries:
            return None
        if len(entries) >= self.max_list:
            raise ModeError(
                "list_full",
                f"Channel {_LIST_NAMES[char]} list is full ({self.max_list})",
                char=char,
                param=mask,
            )
        entries[key] = ListEntry(mask, by, when)
        return Change(True, char, mask)
