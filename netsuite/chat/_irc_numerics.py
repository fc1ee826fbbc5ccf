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
    ERR_BADCHANMASK,
    ERR_BADCHANNELKEY,
    ERR_BANLISTFULL,
    ERR_BANNEDFROMCHAN,
    ERR_CANNOTSENDTOCHAN,
    ERR_CHANNELISFULL,
    ERR_CHANOPRIVSNEEDED,
    ERR_ERRONEUSNICKNAME,
    ERR_INVITEONLYCHAN,
    ERR_NEEDMOREPARAMS,
    ERR_NICKNAMEINUSE,
    ERR_NOMOTD,
    ERR_NONICKNAMEGIVEN,
    ERR_NOOPERHOST,
    ERR_NOORIGIN,
    ERR_NOPRIVILEGES,
    ERR_NORECIPIENT,
    ERR_NOSUCHCHANNEL,
    ERR_NOSUCHNICK,
    ERR_NOSUCHSERVER,
    ERR_NOTEXTTOSEND,
    ERR_NOTONCHANNEL,
    ERR_NOTREGISTERED,
    ERR_PASSWDMISMATCH,
    ERR_UMODEUNKNOWNFLAG,
    ERR_UNKNOWNCOMMAND,
    ERR_UNKNOWNMODE,
    ERR_USERNOTINCHANNEL,
    ERR_USERONCHANNEL,
    ERR_USERSDONTMATCH,
    RPL_ADMINEMAIL,
    RPL_ADMINLOC1,
    RPL_ADMINLOC2,
    RPL_ADMINME,
    RPL_AWAY,
    RPL_BANLIST,
    RPL_CHANNELMODEIS,
    RPL_CREATED,
    RPL_ENDOFBANLIST,
    RPL_ENDOFEXCEPTLIST,
    RPL_ENDOFINFO,
    RPL_ENDOFMOTD,
    RPL_ENDOFNAMES,
    RPL_ENDOFWHO,
    RPL_ENDOFWHOIS,
    RPL_EXCEPTLIST,
    RPL_INFO,
    RPL_INVITELIST,
    RPL_INVITING,
    RPL_ISON,
    RPL_ISUPPORT,
    RPL_LIST,
    RPL_LISTEND,
    RPL_LISTSTART,
    RPL_LUSERCHANNELS,
    RPL_LUSERCLIENT,
    RPL_LUSERME,
    RPL_LUSEROP,
    RPL_LUSERUNKNOWN,
    RPL_MOTD,
    RPL_MOTDSTART,
    RPL_MYINFO,
    RPL_NAMREPLY,
    RPL_NOWAWAY,
    RPL_TIME,
    RPL_UMODEIS,
    RPL_UNAWAY,
    RPL_USERHOST,
    RPL_VERSION,
    RPL_WELCOME,
    RPL_WHOISCHANNELS,
    RPL_WHOISOPERATOR,
    RPL_WHOISSERVER,
    RPL_WHOISUSER,
    RPL_WHOREPLY,
    RPL_YOUREOPER,
    RPL_YOURHOST,
)

__all__ = [
    "ERR_ALREADYREGISTRED",
    "ERR_BADCHANMASK",
    "ERR_BADCHANNELKEY",
    "ERR_BANLISTFULL",
    "ERR_BANNEDFROMCHAN",
    "ERR_CANNOTSENDTOCHAN",
    "ERR_CHANNELISFULL",
    "ERR_CHANOPRIVSNEEDED",
    "ERR_ERRONEUSNICKNAME",
    "ERR_INPUTTOOLONG",
    "ERR_INVALIDCAPCMD",
    "ERR_INVALIDMODEPARAM",
    "ERR_INVITEONLYCHAN",
    "ERR_NEEDMOREPARAMS",
    "ERR_NICKLOCKED",
    "ERR_NICKNAMEINUSE",
    "ERR_NOMOTD",
    "ERR_NONICKNAMEGIVEN",
    "ERR_NOOPERHOST",
    "ERR_NOORIGIN",
    "ERR_NOPRIVILEGES",
    "ERR_NORECIPIENT",
    "ERR_NOSUCHCHANNEL",
    "ERR_NOSUCHNICK",
    "ERR_NOSUCHSERVER",
    "ERR_NOTEXTTOSEND",
    "ERR_NOTONCHANNEL",
    "ERR_NOTREGISTERED",
    "ERR_PASSWDMISMATCH",
    "ERR_SASLABORTED",
    "ERR_SASLALREADY",
    "ERR_SASLFAIL",
    "ERR_SASLTOOLONG",
    "ERR_UMODEUNKNOWNFLAG",
    "ERR_UNKNOWNCOMMAND",
    "ERR_UNKNOWNMODE",
    "ERR_USERNOTINCHANNEL",
    "ERR_USERONCHANNEL",
    "ERR_USERSDONTMATCH",
    "RPL_ADMINEMAIL",
    "RPL_ADMINLOC1",
    "RPL_ADMINLOC2",
    "RPL_ADMINME",
    "RPL_AWAY",
    "RPL_BANLIST",
    "RPL_CHANNELMODEIS",
    "RPL_CREATED",
    "RPL_CREATIONTIME",
    "RPL_ENDOFBANLIST",
    "RPL_ENDOFEXCEPTLIST",
    "RPL_ENDOFINFO",
    "RPL_ENDOFINVEXLIST",
    "RPL_ENDOFINVITEDLIST",
    "RPL_ENDOFMOTD",
    "RPL_ENDOFNAMES",
    "RPL_ENDOFWHO",
    "RPL_ENDOFWHOIS",
    "RPL_EXCEPTLIST",
    "RPL_GLOBALUSERS",
    "RPL_INFO",
    "RPL_INVITED_LIST",
    "RPL_INVITELIST",
    "RPL_INVITING",
    "RPL_ISON",
    "RPL_ISUPPORT",
    "RPL_LIST",
    "RPL_LISTEND",
    "RPL_LISTSTART",
    "RPL_LOCALUSERS",
    "RPL_LOGGEDIN",
    "RPL_LUSERCHANNELS",
    "RPL_LUSERCLIENT",
    "RPL_LUSERME",
    "RPL_LUSEROP",
    "RPL_LUSERUNKNOWN",
    "RPL_MOTD",
    "RPL_MOTDSTART",
    "RPL_MYINFO",
    "RPL_NAMREPLY",
    "RPL_NOWAWAY",
    "RPL_SASLMECHS",
    "RPL_SASLSUCCESS",
    "RPL_TIME",
    "RPL_TOPICWHOTIME",
    "RPL_UMODEIS",
    "RPL_UNAWAY",
    "RPL_USERHOST",
    "RPL_VERSION",
    "RPL_WELCOME",
    "RPL_WHOISACCOUNT",
    "RPL_WHOISCHANNELS",
    "RPL_WHOISOPERATOR",
    "RPL_WHOISSERVER",
    "RPL_WHOISUSER",
    "RPL_WHOREPLY",
    "RPL_YOUREOPER",
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
#: Modern IRC: "<client> [<u> <m>] :Current local users <u>, max <m>" (LUSERS).
RPL_LOCALUSERS = "265"
#: Modern IRC: "<client> [<u> <m>] :Current global users <u>, max <m>" (LUSERS).
RPL_GLOBALUSERS = "266"
#: Modern IRC: "<client> <target chan/user> <mode char> <parameter> :<description>".
ERR_INVALIDMODEPARAM = "696"
#: Modern IRC: "<client> <channel>", one per room one is invited to (INVITE alone).
RPL_INVITED_LIST = "336"
#: Modern IRC: "<client> :End of /INVITE list".
RPL_ENDOFINVITEDLIST = "337"
#: Modern IRC: "<client> <channel> <nick> <setat>", after RPL_TOPIC (who set it, when).
RPL_TOPICWHOTIME = "333"

#: IRCv3 SASL 3.1 (ircv3.net/specs/extensions/sasl-3.1): "<nick> <nick>!<ident>@<host>
#: <account> :You are now logged in as <user>".
RPL_LOGGEDIN = "900"
#: SASL: "<nick> :You must use a nick assigned to you" (the account cannot be used).
ERR_NICKLOCKED = "902"
#: SASL: "<nick> :SASL authentication successful".
RPL_SASLSUCCESS = "903"
#: SASL: "<nick> :SASL authentication failed".
ERR_SASLFAIL = "904"
#: SASL: "<nick> :SASL message too long".
ERR_SASLTOOLONG = "905"
#: SASL: "<nick> :SASL authentication aborted".
ERR_SASLABORTED = "906"
#: SASL: "<nick> :You have already authenticated using SASL".
ERR_SASLALREADY = "907"
#: SASL: "<nick> <mechanisms> :are available SASL mechanisms".
RPL_SASLMECHS = "908"
#: Modern IRC: "<client> <nick> <account> :is logged in as" (WHOIS).
RPL_WHOISACCOUNT = "330"

# --- users, WHOWAS, LINKS and HELP (Modern IRC; Twisted's table has the numbers) ---------
#: "<client> <nick> <secs> <signon> :seconds idle, signon time" (WHOIS).
RPL_WHOISIDLE = "317"
#: "<client> <nick> <username> <host> * :<realname>" (WHOWAS, one per entry).
RPL_WHOWASUSER = "314"
#: "<client> <nick> :is using a secure connection" (WHOIS, a TLS client).
RPL_WHOISSECURE = "671"
#: "<client> <nick> :There was no such nickname" (WHOWAS, a nick with no entry).
ERR_WASNOSUCHNICK = "406"
#: "<client> <nick> :End of WHOWAS" (the nicks as asked).
RPL_ENDOFWHOWAS = "369"
#: "<client> * <server> :<hopcount> <server info>" (LINKS).
RPL_LINKS = "364"
#: "<client> * :End of /LINKS list".
RPL_ENDOFLINKS = "365"
#: "<client> <subject> :<first line of help section>" (HELP).
RPL_HELPSTART = "704"
#: "<client> <subject> :<line of help text>".
RPL_HELPTXT = "705"
#: "<client> <subject> :<last line of help text>".
RPL_ENDOFHELP = "706"
#: "<client> <subject> :No help available on this topic".
ERR_HELPNOTFOUND = "524"

__all__ += [
    "ERR_HELPNOTFOUND",
    "ERR_WASNOSUCHNICK",
    "RPL_ENDOFHELP",
    "RPL_ENDOFLINKS",
    "RPL_ENDOFWHOWAS",
    "RPL_HELPSTART",
    "RPL_HELPTXT",
    "RPL_LINKS",
    "RPL_WHOISIDLE",
    "RPL_WHOISSECURE",
    "RPL_WHOWASUSER",
]
