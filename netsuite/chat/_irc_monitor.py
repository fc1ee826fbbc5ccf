"""
The IRC door's C{MONITOR} command (IRCv3, ircv3.net/specs/extensions/monitor), with no
I/O, over the hub's watch lists (L{netsuite.chat._monitor.Monitors}: a nick online on
any door counts).

L{MonitorCommand} is a mixin of L{netsuite.chat._irc_session.IRCSession}:

  - C{MONITOR + a,b}: watch them; 730 (RPL_MONONLINE, with masks) for those online and
    731 (RPL_MONOFFLINE) for the others; once the list is full (C{MONITOR=<limit>},
    C{--monitor-max}), 734 (ERR_MONLISTFULL) with the targets left out, as Ergo does.
    What is not a nick (a mask, C{*!*@host}) is skipped: MONITOR takes nicks only.
  - C{MONITOR - a,b}: stop watching them; no reply. C{MONITOR C}: clear; no reply.
  - C{MONITOR L}: 732 (RPL_MONLIST) lines, then 733 (RPL_ENDOFMONLIST).
  - C{MONITOR S}: 730/731 for every watched nick.
  - Then, while watched: 730 when the nick connects or is taken by a rename, 731 when
    it quits or is renamed away (none for a change of case), the nick as it was.
"""

from __future__ import annotations

from collections.abc import Callable

from netsuite.chat import _irc_numerics as num
from netsuite.chat._hub import Hub
from netsuite.chat._irc_render import LINE_MAX, IRCRenderer, IRCWriter
from netsuite.chat._names import valid_nick

__all__ = [
    "ERR_MONLISTFULL",
    "RPL_ENDOFMONLIST",
    "RPL_MONLIST",
    "RPL_MONOFFLINE",
    "RPL_MONONLINE",
    "MonitorCommand",
]

RPL_MONONLINE = "730"
RPL_MONOFFLINE = "731"
RPL_MONLIST = "732"
RPL_ENDOFMONLIST = "733"
ERR_MONLISTFULL = "734"


class MonitorCommand:
    """C{MONITOR}, mixed into L{netsuite.chat._irc_session.IRCSession}."""

    hub: Hub
    nick: str
    closed: bool
    out: IRCWriter
    renderer: IRCRenderer
    reply: Callable[..., None]

    def monitor_isupport(self) -> str:
        """The ISUPPORT token C{MONITOR=<limit>}."""
        return f"MONITOR={self.hub.monitors.limit}"

    def irc_MONITOR(self, prefix: str, params: list[str]) -> None:
        if not params or not params[0]:
            self.reply(num.ERR_NEEDMOREPARAMS, "MONITOR", "Not enough parameters")
            return
        sub = params[0].upper()
        monitors = self.hub.monitors
        names = [n for n in params[1].split(",") if n] if len(params) > 1 else []
        if sub in "+-" and not names:
            self.reply(num.ERR_NEEDMOREPARAMS, "MONITOR", "Not enough parameters")
        elif sub == "+":
            nicks = [n for n in names if valid_nick(n)]
            left = monitors.add(self, nicks)
            self._monitor_status(nicks[: len(nicks) - len(left)])
            if left:
                self.reply(ERR_MONLISTFULL, str(monitors.limit), ",".join(left),
                           "Monitor list is full")  # fmt: skip
        elif sub == "-":
            monitors.remove(self, names)
        elif sub == "C":
            monitors.clear(self)
        elif sub == "L":
            self._monitor_reply(RPL_MONLIST, monitors.targets(self))
            self.reply(RPL_ENDOFMONLIST, "End of MONITOR list")
        elif sub == "S":
            self._monitor_status(monitors.targets(self))
        else:
            self.reply(num.ERR_UNKNOWNCOMMAND, "MONITOR", f"Unknown MONITOR subcommand {sub}")

    def _monitor_status(self, nicks: list[str]) -> None:
        """730 with the masks of those of C{nicks} online, 731 with the others."""
        online, offline = [], []
        for nick in nicks:
            member = self.hub.find(nick)
            if member is None:
                offline.append(nick)
            else:
                online.append(self.renderer.mask(member.nick))
        self._monitor_reply(RPL_MONONLINE, online)
        self._monitor_reply(RPL_MONOFFLINE, offline)

    def _monitor_reply(self, numeric: str, targets: list[str]) -> None:
        """C{numeric} with C{targets} comma-separated, in as many lines as they need."""
        budget = LINE_MAX - 2 - len(f":{self.out.hostname} {numeric} {self.nick} :".encode())
        line: list[str] = []
        used = 0
        for target in targets:
            size = len(target.encode()) + (1 if line else 0)
            if line and used + size > budget:
                self.reply(numeric, ",".join(line))
                line, used, size = [], 0, size - 1
            line.append(target)
            used += size
        if line:
            self.reply(numeric, ",".join(line))

    def presence(self, nick: str, online: bool) -> None:
        """The hub's news of a watched nick (L{netsuite.chat._monitor.Watcher})."""
        if self.closed:
            return
        if online:
            self.reply(RPL_MONONLINE, self.renderer.mask(nick))
        else:
            self.reply(RPL_MONOFFLINE, nick)
