"""
The IRC door's channel-operator commands, with no I/O: C{MODE} (rooms and one's own
nick), C{KICK} and C{INVITE}, answered as the Modern IRC client protocol document
gives them, over the hub's roles and modes (L{netsuite.chat._modes}, the same rules
the line door and the web page obey).

L{ChannelCommands} is a mixin of L{netsuite.chat._irc_session.IRCSession}, kept apart
because a room's operators are one concern with numerics of their own. Where the
document leaves a choice, the door does what Ergo does:

  - C{MODE #room} answers 324 then 329; the key shows as C{*} to those not in the room.
  - A mode change from someone not an operator gets one 482 and changes nothing; list
    queries (C{MODE #room b}, C{+b} with no mask) need no role.
  - Replies come in Ergo's order: 472 for each unknown letter, then the refusals and
    the lists asked for, then the C{MODE} echo to the room (only what changed).
  - C{-k} is echoed as C{-k *}; a mask is completed (C{bob} is C{bob!*@*}) before it
    is set, and echoed completed.
  - C{KICK} without a reason uses the kicker's nick; C{KICK #room a,b} kicks each,
    each its own C{KICK} line. C{INVITE} answers 341 to the inviter and sends
    C{INVITE} to the invitee (with 301 if the invitee is away); with no parameters it
    lists the rooms one is invited to (336, 337).
  - Own user modes: C{+i} from the start; C{i} and C{w} can be set and unset (echoed as
    C{MODE nick :+w}); any other letter gets 501 after the rest is applied.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from netsuite.chat import _irc_numerics as num
from netsuite.chat._events import ChatError, ChatEvent
from netsuite.chat._hub import Hub
from netsuite.chat._irc_render import IRCWriter
from netsuite.chat._modes import ModeError
from netsuite.chat._names import fold

__all__ = ["USER_MODES", "ChannelCommands"]

#: User modes: C{i} and C{w} a client sets on itself, C{o} only OPER gives (and
#: C{-o} gives up; netsuite.chat._irc_oper).
USER_MODES = "iow"

#: Each list mode's entry and end numerics, and the end's text (Modern IRC).
_LISTS = {
    "b": (num.RPL_BANLIST, num.RPL_ENDOFBANLIST, "End of channel ban list"),
    "e": (num.RPL_EXCEPTLIST, num.RPL_ENDOFEXCEPTLIST, "End of channel exception list"),
    "I": (num.RPL_INVITELIST, num.RPL_ENDOFINVEXLIST, "End of Channel Invite Exception List"),
}


class ChannelCommands:
    """MODE, KICK and INVITE, mixed into the IRC session."""

    # What the session provides (see IRCSession).
    hub: Hub
    hostname: str
    nick: str
    caps: set[str]
    closed: bool
    out: IRCWriter
    umodes: set[str]
    reply: Callable[..., None]
    chat_error: Callable[..., None]
    _held_modes: list[ChatEvent] | None
    _need: Callable[[Sequence[str], int], None]
    _room_exists: Callable[[str], bool]
    _sink: Callable[[bytes], None]
    deliver: Callable[[ChatEvent], None]

    def mode_error(self, error: ChatError, room: str) -> None:
        """A refusal about C{room} as its numeric, with the parameters each one has."""
        char = getattr(error, "char", "")
        param = getattr(error, "param", "")
        code = error.code
        if code == "unknown_mode":
            self.reply(num.ERR_UNKNOWNMODE, char, "is unknown mode char to me")
        elif code == "invalid_mode_param":
            self.reply(num.ERR_INVALIDMODEPARAM, room, char, param, error.message)
        elif code == "list_full":
            self.reply(num.ERR_BANLISTFULL, room, char, "Channel list is full")
        elif code == "user_not_in_room":
            self.reply(num.ERR_USERNOTINCHANNEL, param, room, "They aren't on that channel")
        elif code == "user_on_room":
            self.reply(num.ERR_USERONCHANNEL, param, room, "is already on channel")
        elif code == "no_such_nick":
            self.reply(num.ERR_NOSUCHNICK, param or "*", "No such nick/channel")
        elif code == "not_on_room":
            self.reply(num.ERR_NOTONCHANNEL, room, "You're not on that channel")
        else:
            self.chat_error(error, room)

    # --- MODE -----------------------------------------------------------------------------

    def irc_MODE(self, prefix: str, params: list[str]) -> None:
        """MODE #room [changes [args...]], or MODE <own nick> [changes]."""
        self._need(params, 1)
        target = params[0]
        changes = params[1] if len(params) > 1 else ""
        if target.startswith("#"):
            if not self._room_exists(target) or not self.hub.visible(self, target):  # type: ignore[arg-type]
                self.reply(num.ERR_NOSUCHCHANNEL, target, "No such channel")
                return
            self._channel_mode(self.hub.room_info(target).name, changes, params[2:])
            return
        self._user_mode(target, changes)

    def _channel_mode(self, room: str, changes: str, args: Sequence[str]) -> None:
        host = self.hostname
        if not changes:
            text, values = self.hub.channel_modes(room, self)  # type: ignore[arg-type]
            self.out.sendCommand(num.RPL_CHANNELMODEIS, (self.nick, room, text, *values), host)
            created = str(int(self.hub.room_info(room).created))
            self.out.sendCommand(num.RPL_CREATIONTIME, (self.nick, room, created), host)
            return
        held: list[ChatEvent] = []
        self._held_modes = held  # our own echo waits for the refusals and lists (Ergo)
        try:
            result = self.hub.change_modes(self, room, changes, args)  # type: ignore[arg-type]
        finally:
            self._held_modes = None
        errors = sorted(result.errors, key=lambda e: e.code != "unknown_mode")
        for error in errors:
            self.mode_error(error, room)
        for char in result.queries:
            self._send_list(room, char)
        for event in held:
            self.deliver(event)

    def _send_list(self, room: str, char: str) -> None:
        entry_numeric, end_numeric, end_text = _LISTS[char]
        for entry in self.hub.mode_list(room, char):
            self.out.sendCommand(
                entry_numeric,
                (self.nick, room, entry.mask, entry.by, str(int(entry.when))),
                self.hostname,
            )
        self.reply(end_numeric, room, end_text)

    def _user_mode(self, target: str, changes: str) -> None:
        if fold(target) != fold(self.nick):
            if self.hub.find(target) is None:
                self.reply(num.ERR_NOSUCHNICK, target, "No such nick/channel")
            else:
                self.reply(num.ERR_USERSDONTMATCH, "Cannot change mode for other users")
            return
        if not changes:
            self.out.sendCommand(
                num.RPL_UMODEIS, (self.nick, "+" + "".join(sorted(self.umodes))), self.hostname
            )
            return
        add = True
        done: list[tuple[bool, str]] = []
        unknown = False
        for char in changes:
            if char in "+-":
                add = char == "+"
            elif char not in USER_MODES:
                unknown = True
            elif char == "o" and add:
                continue  # Modern IRC: a MODE +o of one's own is ignored (OPER gives it)
            elif (char in self.umodes) != add:
                (self.umodes.add if add else self.umodes.discard)(char)
                done.append((add, char))
        if done:
            text = ""
            sign = ""
            for was_added, char in done:
                want = "+" if was_added else "-"
                text += ("" if want == sign else want) + char
                sign = want
            self.out.sendLine(f":{self.nick} MODE {self.nick} :{text}")
        if unknown:
            self.reply(num.ERR_UMODEUNKNOWNFLAG, "Unknown MODE flag")

    # --- KICK and INVITE ------------------------------------------------------------------

    def irc_KICK(self, prefix: str, params: list[str]) -> None:
        """
        KICK #room nick[,nick] [:reason], or KICK #a,#b nick,nick (RFC 2812: one room
        for every nick, or a room per nick): one KICK line per nick, to its room.
        """
        self._need(params, 2)
        rooms = params[0].split(",")
        nicks = params[1].split(",")
        reason = params[2] if len(params) > 2 else ""
        if len(rooms) == 1:
            rooms = rooms * len(nicks)
        elif len(rooms) != len(nicks):
            self.reply(num.ERR_NEEDMOREPARAMS, "KICK", "Not enough parameters")
            return
        refused: set[str] = set()  # rooms whose refusal was said (the same for every nick)
        for room, nick in zip(rooms, nicks, strict=True):
            if self.closed:
                return
            if not nick or fold(room) in refused:
                continue
            if not room.startswith("#"):
                self.reply(num.ERR_BADCHANMASK, room, "Bad Channel Mask")
                refused.add(fold(room))
                continue
            try:
                self.hub.kick(self, room, nick, reason)  # type: ignore[arg-type]
            except ChatError as e:
                self.mode_error(e, room)
                if e.code in ("no_such_room", "not_on_room", "chanop_needed"):
                    refused.add(fold(room))

    def irc_INVITE(self, prefix: str, params: list[str]) -> None:
        """INVITE nick #room: 341 to the inviter, INVITE to the invitee."""
        if not params:
            for room in self.hub.invitations(self):  # type: ignore[arg-type]
                self.out.sendCommand(num.RPL_INVITED_LIST, (self.nick, room), self.hostname)
            self.reply(num.RPL_ENDOFINVITEDLIST, "End of /INVITE list")
            return
        self._need(params, 2)
        nick, room = params[0], params[1]
        try:
            invited = self.hub.invite(self, nick, room)  # type: ignore[arg-type]
        except ModeError as e:
            if e.code == "no_such_nick":
                self.reply(num.ERR_NOSUCHNICK, nick, "No such nick/channel")
            else:
                self.mode_error(e, self._room_name(room))
            return
        except ChatError as e:
            self.mode_error(e, room)
            return
        name = self.hub.room_info(room).name
        self.out.sendCommand(num.RPL_INVITING, (self.nick, invited, name), self.hostname)
        member = self.hub.find(invited)
        away = self.hub.away(member) if member is not None else ""
        if away:
            self.reply(num.RPL_AWAY, invited, away)

    def _room_name(self, room: str) -> str:
        try:
            return self.hub.room_info(room).name
        except ChatError:
            return room
