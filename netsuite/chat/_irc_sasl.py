"""
IRCv3 SASL for the IRC door (ircv3.net/specs/extensions/sasl-3.1 and sasl-3.2), with
no I/O: the C{AUTHENTICATE} exchange, PLAIN against the config's accounts
(L{netsuite.chat._accounts}) and EXTERNAL from a verified client certificate.

L{SaslLogin} is a mixin of L{netsuite.chat._irc_session.IRCSession}. What it does, and
the choices the specifications leave open (made as Ergo makes them):

  - C{sasl=PLAIN,EXTERNAL} is offered to C{CAP LS 302}; C{AUTHENTICATE} needs the
    C{sasl} capability enabled (904 without it).
  - C{AUTHENTICATE <mech>} answers C{AUTHENTICATE +} (both mechanisms start with an
    empty challenge); an unknown one gets 908 with the list, then 904.
  - The response comes base64 in chunks of 400 bytes; a chunk of exactly 400 means
    more follows, C{+} ends a response (or is an empty one). A chunk over 400 bytes,
    or a response over L{RESPONSE_MAX}, gets 905 and ends the exchange.
  - PLAIN: C{authzid NUL authcid NUL password}; an authzid, if given, must be the
    authcid (no one logs in as someone else): 904 otherwise, and for a wrong password
    or unknown account alike. The password is checked off the reactor thread
    (L{netsuite.chat._accounts.AccountBook.run}); registration waits for the answer.
  - EXTERNAL: the connection's verified certificate identity is the account (the door
    already names a certificate holder after its certificate); an authzid other than
    that name, or no certificate, gets 904.
  - A certificate holder who asks PLAIN for another account gets 902: its nick is its
    certificate's name, which only that account may hold.
  - C{AUTHENTICATE *} aborts: 906. C{CAP END} in the middle of an exchange aborts it
    too (906), and registration goes on without an account (sasl-3.1).
  - Logged in once (by SASL), C{AUTHENTICATE} gets 907: no re-authentication, as
    Ergo does. Not yet logged in, SASL works after registration too (sasl-3.2).
  - While a password is checked (off the reactor thread), the connection's later lines
    wait, in order, and run once the answer is sent: a client that pipelines
    C{AUTHENTICATE}, C{CAP END} and C{PING} gets 903, 001 and PONG in that order, as
    from a server that checks inline. At most the hub's C{flood_queue} lines wait
    (one more: C{Excess Flood}, as for fake lag). Not done: a labeled (labeled-response)
    C{AUTHENTICATE} or C{OPER} whose password is checked gets its label's C{ACK} at
    once, and the answer after it unlabeled.
  - Success is 900 then 903; after registration, room-mates with C{account-notify}
    (and the client itself, with it) get C{ACCOUNT <name>}.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from netsuite.chat import _irc_numerics as num
from netsuite.chat._accounts import account_of
from netsuite.chat._hub import Hub
from netsuite.chat._irc_render import IRCRenderer, IRCWriter
from netsuite.chat._names import fold

__all__ = ["CHUNK", "MECHANISMS", "RESPONSE_MAX", "SaslLogin"]

#: The mechanisms offered (the C{sasl} capability's value, 908's list).
MECHANISMS = ("PLAIN", "EXTERNAL")
#: The longest AUTHENTICATE parameter (sasl-3.1).
CHUNK = 400
#: The longest response, in base64 bytes, over all its chunks (ten chunks).
RESPONSE_MAX = 4000


class SaslLogin:
    """
    C{AUTHENTICATE}, mixed into the IRC session.

    @ivar account: the account logged in to by SASL (L{None}: none).
    """

    # What the session provides (see IRCSession).
    hub: Hub
    hostname: str
    nick: str
    username: str
    registered: bool
    closed: bool
    identity: str | None
    caps: set[str]
    out: IRCWriter
    renderer: IRCRenderer
    _wanted_nick: str
    reply: Callable[..., None]
    _try_register: Callable[[], None]
    line_received: Callable[[bytes], None]
    end: Callable[[str], None]

    account: str | None = None
    #: A password check is running (registration waits for it).
    _checking = False
    _sasl_mech: str | None = None  # the mechanism of the exchange in progress
    _sasl_data: list[str] | None = None
    _held: list[bytes] | None = None  # lines that came during a check, in order

    def hold_line(self, raw: bytes) -> bool:
        """True if C{raw} must wait for a password check's answer (it is kept)."""
        if not self._checking:
            return False
        if self._held is None:
            self._held = []
        if len(self._held) >= self.hub.flood_queue:
            self.end(f"Excess Flood ({len(self._held)} lines queued)")
            return True
        self._held.append(raw)
        return True

    def check_done(self) -> None:
        """The answer is sent: run the lines that waited for it, until another check."""
        self._checking = False
        held = self._held
        while held and not self._checking and not self.closed:
            self.line_received(held.pop(0))

    def irc_AUTHENTICATE(self, prefix: str, params: list[str]) -> None:
        if not params or not params[0]:
            self.reply(num.ERR_NEEDMOREPARAMS, "AUTHENTICATE", "Not enough parameters")
            return
        arg = params[0]
        if "sasl" not in self.caps:
            self.reply(num.ERR_SASLFAIL, "SASL authentication failed: request the sasl cap")
            return
        if self._checking:
            self.reply(num.ERR_SASLFAIL, "SASL authentication failed: a check is running")
            return
        if arg == "*":
            if self._sasl_mech is not None:
                self._sasl_reset()
            self.reply(num.ERR_SASLABORTED, "SASL authentication aborted")
            return
        if self._sasl_mech is None:
            self._sasl_start(arg)
        else:
            self._sasl_chunk(arg)

    def _sasl_start(self, mechanism: str) -> None:
        if self.account is not None:
            self.reply(num.ERR_SASLALREADY, "You have already authenticated using SASL")
            return
        mech = mechanism.upper()
        if mech not in MECHANISMS:
            self.reply(num.RPL_SASLMECHS, ",".join(MECHANISMS), "are available SASL mechanisms")
            self.reply(num.ERR_SASLFAIL, "SASL authentication failed")
            return
        self._sasl_mech, self._sasl_data = mech, []
        self.out.sendCommand("AUTHENTICATE", ("+",))

    def _sasl_chunk(self, chunk: str) -> None:
        assert self._sasl_data is not None
        if len(chunk.encode()) > CHUNK:
            self._sasl_reset()
            self.reply(num.ERR_SASLTOOLONG, "SASL message too long")
            return
        if chunk != "+":
            self._sasl_data.append(chunk)
        if sum(map(len, self._sasl_data)) > RESPONSE_MAX:
            self._sasl_reset()
            self.reply(num.ERR_SASLTOOLONG, "SASL message too long")
            return
        if len(chunk) == CHUNK:
            return  # more follows (or an AUTHENTICATE + after exactly 400)
        mech, data = self._sasl_mech, "".join(self._sasl_data)
        self._sasl_reset()
        try:
            response = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            self._sasl_failed()
            return
        if mech == "PLAIN":
            self._plain(response)
        else:
            self._external(response)

    def _sasl_reset(self) -> None:
        self._sasl_mech = self._sasl_data = None

    def sasl_abort(self) -> None:
        """Registration completes in the middle of an exchange: 906, no account."""
        if self._sasl_mech is not None:
            self._sasl_reset()
            self.reply(num.ERR_SASLABORTED, "SASL authentication aborted")

    def _sasl_failed(self) -> None:
        self.reply(num.ERR_SASLFAIL, "SASL authentication failed")

    def _plain(self, response: bytes) -> None:
        parts = response.split(b"\0")
        if len(parts) != 3:
            self._sasl_failed()
            return
        try:
            authzid, authcid, password = (p.decode("utf-8") for p in parts)
        except UnicodeDecodeError:
            self._sasl_failed()
            return
        if not authcid or (authzid and fold(authzid) != fold(authcid)):
            self._sasl_failed()
            return
        if self.identity and fold(authcid) != fold(self.identity):
            self.reply(num.ERR_NICKLOCKED, "You must use a nick assigned to you")
            return
        self._checking = True
        self.hub.accounts.check("accounts", authcid, password, self._checked)

    def _checked(self, account: str | None) -> None:
        if self.closed:
            return
        if account is None:
            self._sasl_failed()
        else:
            self.logged_in(account)
        self._checking = False
        self._try_register()  # if it waited for this answer
        self.check_done()

    def _external(self, response: bytes) -> None:
        identity = self.identity
        try:
            authzid = response.decode("utf-8")
        except UnicodeDecodeError:
            authzid = "\0"
        if not identity or (authzid and fold(authzid) != fold(identity)):
            self._sasl_failed()
            return
        self.logged_in(identity)

    def logged_in(self, account: str) -> None:
        """900 and 903; then, once registered, ACCOUNT to room-mates who asked."""
        self.account = account
        nick = self.nick or self._wanted_nick or "*"
        mask = f"{nick}!{self.username or nick}@{self.hostname}"
        self.reply(num.RPL_LOGGEDIN, mask, account, f"You are now logged in as {account}")
        self.reply(num.RPL_SASLSUCCESS, "SASL authentication successful")
        if self.registered:
            self.tell_account()

    def tell_account(self) -> None:
        """C{ACCOUNT <name>} (account-notify) to those sharing a room with us, and us."""
        account = account_of(self) or "*"
        line = f":{self.renderer.mask(self.nick)} ACCOUNT {account}"
        told: dict[int, Any] = {id(self): self}
        for room in self.hub.rooms_of(self):  # type: ignore[arg-type]
            for mate in self.hub.who(room):
                told.setdefault(id(mate), mate)
        for member in told.values():
            caps = getattr(member, "caps", ())
            if "account-notify" in caps and not getattr(member, "closed", True):
                member.out.sendLine(line)
