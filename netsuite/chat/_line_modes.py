"""
The line door's room-operator commands and how it shows roles and modes, with no I/O.

L{RoomCommands} is a mixin of L{netsuite.chat._line.LineSession}: C{/op}, C{/deop},
C{/voice}, C{/devoice}, C{/kick}, C{/mode}, C{/invite}, C{/ban}, C{/unban}, each a call
to the hub (L{netsuite.chat._hub.Hub.change_modes}, C{kick}, C{invite}), whose rules are
the same for every door (L{netsuite.chat._modes}). Kept apart from the session because
it is one concern (a room's operators), and so that each refusal has one plain
sentence here (L{explain}), where the IRC door has its numerics.
"""

from __future__ import annotations

from collections.abc import Callable

from netsuite.chat import _events as ev
from netsuite.chat._events import ChatError
from netsuite.chat._hub import Hub, ModeResult
from netsuite.chat._modes import ModeError
from netsuite.chat._names import room_name

__all__ = ["OPERATOR_HELP", "RoomCommands", "explain", "render_mode_event"]

OPERATOR_HELP = """\
-!- room operators (the first one in a room is its operator, shown with @ in /who):
-!-   /op NICK, /deop NICK, /voice NICK, /devoice NICK   in the current room
-!-   /kick NICK [REASON]   put someone out of the current room
-!-   /invite NICK [ROOM]   let someone into a +i room (or past a ban), once
-!-   /ban [MASK], /unban MASK   nick or nick!user@host with * and ?; /ban lists them
-!-   /mode [ROOM] [CHANGES [ARGS]]   show or change modes, e.g. /mode +mk-t sekrit
-!- modes: +n no outside messages, +t topic by operators (both on by default), +m only
-!-   operators and voiced speak, +i invite only, +k KEY (/join ROOM KEY), +l LIMIT,
-!-   +s secret (hidden from /rooms), +b/+e/+I ban, exception, invite-exception masks
"""

#: A refusal in words for the line door: formatted with C{room}, C{char}, C{param}.
_TEXT = {
    "chanop_needed": "you are not an operator of {room}",
    "bad_key": "{room} has a key (+k): /join {room} KEY",
    "room_full": "{room} is full (+l)",
    "invite_only": "{room} is invite only (+i): an operator can /invite you",
    "banned": "you are banned from {room} (+b)",
    "account_needed": "{room} is for members logged in to an account (+R): /login NAME PASSWORD",
    "user_not_in_room": "{param} is not in {room}",
    "user_on_room": "{param} is already in {room}",
    "no_such_nick": "no one is called {param}",
    "unknown_mode": "unknown mode +{char} (/help lists the modes)",
    "list_full": "the +{char} list of {room} is full: {param} not added",
}


def explain(error: ChatError, room: str) -> str:
    """The sentence the line door shows for C{error} about C{room}."""
    template = _TEXT.get(error.code)
    if template is None:
        if error.code == "cannot_send":
            return f"you cannot speak in {room}: {error.message}"
        if error.code == "invalid_mode_param" and isinstance(error, ModeError):
            return f"+{error.char} {error.param}: {error.message}"
        return error.message
    char = getattr(error, "char", "")
    param = getattr(error, "param", "")
    return template.format(room=room, char=char, param=param)


def render_mode_event(event: ev.ChatEvent) -> str | None:
    """The line for a kick, invite or mode change (L{None} for any other event)."""
    if isinstance(event, ev.ModeChanged):
        args = " ".join(event.args)
        return f"[{event.room}] -- {event.nick} sets mode {event.changes}" + (
            f" {args}" if args else ""
        )
    if isinstance(event, ev.Kicked):
        return f"[{event.room}] <- {event.target} was kicked by {event.nick} ({event.reason})"
    if isinstance(event, ev.Invited):
        return f"-- {event.nick} invites {event.target} to {event.room} (/join {event.room})"
    return None


class RoomCommands:
    """The operator commands, mixed into the line session."""

    __slots__ = ()

    # What the session provides (see LineSession).
    hub: Hub
    nick: str
    room: str | None
    info: Callable[[str], None]
    error: Callable[[str], None]

    def _here(self, rest: str = "") -> tuple[str, str]:
        """C{(room, rest)}: a leading C{#room} in C{rest}, else the current room."""
        first, _, after = rest.partition(" ")
        if first.startswith("#"):
            return first, after.strip()
        if self.room is None:
            raise ChatError("no_room", "you are in no room: /join one first")
        return self.room, rest

    def _modes(self, room: str, changes: str, args: list[str]) -> ModeResult:
        result = self.hub.change_modes(self, room, changes, args)  # type: ignore[arg-type]
        for error in result.errors:
            self.error(explain(error, room))
        return result

    def _role(self, sign: str, rest: str, usage: str) -> None:
        room, nicks = self._here(rest)
        if not nicks:
            raise ChatError("needs_more", f"usage: {usage}")
        names = nicks.split()
        self._modes(room, sign * len(names), names)

    def cmd_op(self, rest: str) -> None:
        self._role("+o", rest, "/op NICK")

    def cmd_deop(self, rest: str) -> None:
        self._role("-o", rest, "/deop NICK")

    def cmd_voice(self, rest: str) -> None:
        self._role("+v", rest, "/voice NICK")

    def cmd_devoice(self, rest: str) -> None:
        self._role("-v", rest, "/devoice NICK")

    def cmd_kick(self, rest: str) -> None:
        room, rest = self._here(rest)
        nick, _, reason = rest.partition(" ")
        if not nick:
            raise ChatError("needs_more", "usage: /kick NICK [REASON]")
        try:
            self.hub.kick(self, room, nick, reason.strip())  # type: ignore[arg-type]
        except ChatError as e:
            self.error(explain(e, room))

    def cmd_invite(self, rest: str) -> None:
        nick, _, where = rest.partition(" ")
        if not nick:
            raise ChatError("needs_more", "usage: /invite NICK [ROOM]")
        room = room_name(where.strip()) if where.strip() else self._here()[0]
        try:
            invited = self.hub.invite(self, nick, room)  # type: ignore[arg-type]
        except ChatError as e:
            self.error(explain(e, room))
            return
        self.info(f"invited {invited} to {room}")

    def cmd_ban(self, rest: str) -> None:
        room, masks = self._here(rest)
        if not masks:
            self._show_list(room, "b")
            return
        self._modes(room, "+" + "b" * len(masks.split()), masks.split())

    def cmd_unban(self, rest: str) -> None:
        room, masks = self._here(rest)
        if not masks:
            raise ChatError("needs_more", "usage: /unban MASK")
        self._modes(room, "-" + "b" * len(masks.split()), masks.split())

    def cmd_mode(self, rest: str) -> None:
        room, rest = self._here(rest)
        words = rest.split()
        if not words:
            info = self.hub.room_info(room)
            text, params = self.hub.channel_modes(room, self)  # type: ignore[arg-type]
            self.info(f"{info.name} modes: {' '.join([text, *params])}")
            return
        result = self._modes(room, words[0], words[1:])
        for char in result.queries:
            self._show_list(room, char)

    def _show_list(self, room: str, char: str) -> None:
        entries = self.hub.mode_list(room, char)
        name = {"b": "bans", "e": "ban exceptions", "I": "invite exceptions"}[char]
        self.info(f"{room} {name} (+{char}): {len(entries)}")
        for entry in entries:
            self.info(f"  {entry.mask} (set by {entry.by})")
