"""
The IRC numerics the chat door sends, by name, in one place: Twisted's table
(L{twisted.words.protocols.irc}) where it has them, the few it lacks here (named as the
Modern IRC client protocol document names them).

The session (L{netsuite.chat._irc_session}) and the rendering
(L{netsuite.chat._irc_render}) both write C{num.RPL_WELCOME}: one list of names to
keep, instead of one import list per module.
"""

from __future__ import annotations

from twisted.words.protocols.irc import (
    ERR_ALREADYREGISTRED,
    ERR_CANNOTSENDTOCHAN,
    ERR_CHANOPRIVSNEEDED,
    ERR_ERRONEUSNICKNAME,
    ERR_NEEDMOREPARAMS,
    ERR_NICKNAMEINUSE,
    ERR_NOMOTD,
    ERR_NONICKNAMEGIVEN,
    ERR_NOORIGIN,
    ERR_NORECIPIENT,
    ERR_NOSUCHCHANNEL,
    ERR_NOSUCHNICK,
    ERR_NOTEXTTOSEND,
    ERR_NOTONCHANNEL,
    ERR_NOTREGISTERED,
    ERR_PASSWDMISMATCH,
    ERR_UMODEUNKNOWNFLAG,
    ERR_UNKNOWNCOMMAND,
    ERR_UNKNOWNMODE,
    ERR_USERSDONTMATCH,
    RPL_AWAY,
    RPL_CHANNELMODEIS,
    RPL_CREATED,
    RPL_ENDOFBANLIST,
    RPL_ENDOFEXCEPTLIST,
    RPL_ENDOFMOTD,
    RPL_ENDOFNAMES,
    RPL_ENDOFWHO,
    RPL_ENDOFWHOIS,
    RPL_ISON,
    RPL_ISUPPORT,
    RPL_LIST,
    RPL_LISTEND,
    RPL_LISTSTART,
    RPL_MOTD,
    RPL_MOTDSTART,
    RPL_MYINFO,
    RPL_NAMREPLY,
    RPL_NOWAWAY,
    RPL_UMODEIS,
    RPL_UNAWAY,
    RPL_USERHOST,
    RPL_VERSION,
    RPL_WELCOME,
    RPL_WHOISCHANNELS,
    RPL_WHOISSERVER,
    RPL_WHOISUSER,
    RPL_WHOREPLY,
    RPL_YOURHOST,
)

__all__ = [
    "ERR_ALREADYREGISTRED",
    "ERR_CANNOTSENDTOCHAN",
    "ERR_CHANOPRIVSNEEDED",
    "ERR_ERRONEUSNICKNAME",
    "ERR_INPUTTOOLONG",
    "ERR_INVALIDCAPCMD",
    "ERR_NEEDMOREPARAMS",
    "ERR_NICKNAMEINUSE",
    "ERR_NOMOTD",
    "ERR_NONICKNAMEGIVEN",
    "ERR_NOORIGIN",
    "ERR_NORECIPIENT",
    "ERR_NOSUCHCHANNEL",
    "ERR_NOSUCHNICK",
    "ERR_NOTEXTTOSEND",
    "ERR_NOTONCHANNEL",
    "ERR_NOTREGISTERED",
    "ERR_PASSWDMISMATCH",
    "ERR_UMODEUNKNOWNFLAG",
    "ERR_UNKNOWNCOMMAND",
    "ERR_UNKNOWNMODE",
    "ERR_USERSDONTMATCH",
    "RPL_AWAY",
    "RPL_CHANNELMODEIS",
    "RPL_CREATED",
    "RPL_CREATIONTIME",
    "RPL_ENDOFBANLIST",
    "RPL_ENDOFEXCEPTLIST",
    "RPL_ENDOFINVEXLIST",
    "RPL_ENDOFMOTD",
    "RPL_ENDOFNAMES",
    "RPL_ENDOFWHO",
    "RPL_ENDOFWHOIS",
    "RPL_ISON",
    "RPL_ISUPPORT",
    "RPL_LIST",
    "RPL_LISTEND",
    "RPL_LISTSTART",
    "RPL_MOTD",
    "RPL_MOTDSTART",
    "RPL_MYINFO",
    "RPL_NAMREPLY",
    "RPL_NOWAWAY",
    "RPL_UMODEIS",
    "RPL_UNAWAY",
    "RPL_USERHOST",
    "RPL_VERSION",
    "RPL_WELCOME",
    "RPL_WHOISCHANNELS",
    "RPL_WHOISSERVER",
    "RPL_WHOISUSER",
    "RPL_WHOREPLY",
    "RPL_YOURHOST",
]

#: Not in RFC 2812 nor in Twisted's table (Modern IRC: "input too long").
ERR_INPUTTOOLONG = "417"
#: IRCv3 capability negotiation: an unknown CAP subcommand.
ERR_INVALIDCAPCMD = "410"
#: Modern IRC: "<client> <channel> <creationtime>", after RPL_CHANNELMODEIS.
RPL_CREATIONTIME = "329"
#: Modern IRC's name for 347 as a MODE reply (RFC 2812 and Twisted: RPL_ENDOFINVITELIST).
RPL_ENDOFINVEXLIST = "347"
