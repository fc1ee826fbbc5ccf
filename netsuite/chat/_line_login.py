"""
C{/login NAME PASSWORD} on the line door, with no I/O: an account of the config
(L{netsuite.chat._accounts}) logged in to from C{nc} or C{openssl s_client}, so that
its reserved nick can be held on this door too.

L{LineLogin} is a mixin of L{netsuite.chat._line.LineSession}. What it does:

  - The password is checked by the hub's L{AccountBook} (off the reactor thread in
    the service); one check at a time per connection.
  - Success: C{-!- logged in as NAME}, and the nick becomes the account's name (the
    hub's reservation now lets this member take it). A wrong password or an unknown
    name: the same C{!! login failed} (a guess tells nothing).
  - A certificate holder is already logged in as its certificate's name: another
    account is refused (its nick is its certificate's, as on IRC's 902).
  - The password travels as typed: use the TLS door (C{nstls:}) for a real one.
"""

from __future__ import annotations

from collections.abc import Callable

from netsuite.chat._events import ChatError
from netsuite.chat._hub import Hub
from netsuite.chat._names import fold

__all__ = ["LineLogin"]


class LineLogin:
    """C{/login}, mixed into the line session."""

    # What the session provides (see LineSession).
    hub: Hub
    nick: str
    closed: bool
    identity: str | None
    account: str | None
    info: Callable[[str], None]
    error: Callable[[str], None]

    _logging_in = False

    def cmd_login(self, rest: str) -> None:
        name, _, password = rest.partition(" ")
        if not name or not password:
            raise ChatError("needs_more", "usage: /login NAME PASSWORD")
        if self.identity and fold(name) != fold(self.identity):
            raise ChatError("nick_locked", f"your certificate logs you in as {self.identity}")
        if self.account is not None:
            raise ChatError("already", f"you are logged in as {self.account} already")
        if self._logging_in:
            raise ChatError("busy", "a login is being checked; wait for its answer")
        self._logging_in = True
        self.hub.accounts.check("accounts", name, password, self._checked)

    def _checked(self, account: str | None) -> None:
        self._logging_in = False
        if self.closed:
            return
        if account is None:
            self.error("login failed")
            return
        self.account = account
        self.info(f"logged in as {account}")
        if fold(self.nick) != fold(account):
            try:
                self.hub.rename(self, account)  # type: ignore[arg-type]
            except ChatError as e:
                self.error(e.message)
