"""
Accounts and operators from the config, with no I/O: names with password hashes
(C{cryptography}'s Scrypt), never plain text, and the check of a password against one.

A stored hash is one string, C{scrypt$<n>$<r>$<p>$<salt>$<hash>} (salt and hash in
base64), so the cost travels with it and can be raised for new hashes without breaking
old ones. C{python -m netsuite.chat.hashpw} prints one (L{hash_password}).

Why these choices:

  - Scrypt is slow and memory-hard by design: C{n=2**14, r=8, p=1} (L{SCRYPT_N} ...,
    16 MiB) takes about 57 ms of CPU here. A check must not stall the reactor that long,
    so L{AccountBook.run} hands it to a runner: the doors' is the reactor's thread pool
    (L{netsuite.chat._accounts_thread}; OpenSSL's scrypt releases the GIL, the reactor
    keeps turning meanwhile), tests run it inline.
  - The comparison is constant-time (C{Scrypt.verify}), and a name with no account is
    checked against a throw-away hash of the same cost, so neither the answer's
    content nor its timing tells which names exist.
  - Costs are bounded when a hash is read (L{parse_hash}): a config cannot make one
    check take seconds or gigabytes.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from netsuite.chat._names import fold, valid_nick

__all__ = [
    "SCRYPT_N",
    "SCRYPT_P",
    "SCRYPT_R",
    "AccountBook",
    "Runner",
    "ScryptHash",
    "account_of",
    "hash_password",
    "inline",
    "parse_entries",
    "parse_hash",
    "verify_password",
]

#: Scrypt's cost for new hashes (CPU and memory: 128 * n * r bytes, 16 MiB).
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
#: The highest costs a stored hash may ask for (1 GiB would be 2**20 with r=8).
_N_MAX = 2**18
_R_MAX = 32
_P_MAX = 16
_SALT_BYTES = 16
_HASH_BYTES = 32

T = TypeVar("T")
#: Runs C{work} (a blocking password check) and calls C{done} with its result.
Runner = Callable[[Callable[[], Any], Callable[[Any], None]], None]


def inline(work: Callable[[], T], done: Callable[[T], None]) -> None:
    """The runner of tests and tools: the check runs here and now."""
    done(work())


@dataclass(frozen=True)
class ScryptHash:
    """One stored hash, parsed: Scrypt's costs, the salt and the derived key."""

    n: int
    r: int
    p: int
    salt: bytes
    key: bytes

    def __str__(self) -> str:
        salt = base64.b64encode(self.salt).decode()
        key = base64.b64encode(self.key).decode()
        return f"scrypt${self.n}${self.r}${self.p}${salt}${key}"

    def kdf(self) -> Scrypt:
        return Scrypt(salt=self.salt, length=len(self.key), n=self.n, r=self.r, p=self.p)


def parse_hash(text: str) -> ScryptHash:
    """C{text} as a stored hash; ValueError saying what is wrong (never the hash)."""
    parts = text.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ValueError("expected scrypt$n$r$p$salt$hash (python -m netsuite.chat.hashpw)")
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt = base64.b64decode(parts[4], validate=True)
        key = base64.b64decode(parts[5], validate=True)
    except (ValueError, binascii.Error):
        raise ValueError("expected numbers n, r, p and base64 salt and hash") from None
    if n < 2 or n & (n - 1) or n > _N_MAX:
        raise ValueError(f"scrypt n must be a power of 2 from 2 to {_N_MAX}, got {n}")
    if not 1 <= r <= _R_MAX or not 1 <= p <= _P_MAX:
        raise ValueError(f"scrypt r must be 1-{_R_MAX} and p 1-{_P_MAX}, got r={r} p={p}")
    if len(salt) < 8 or not 16 <= len(key) <= 64:
        raise ValueError("scrypt salt must be 8 bytes or more, the hash 16-64 bytes")
    return ScryptHash(n, r, p, salt, key)


def hash_password(
    password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P,
    salt: bytes | None = None,
) -> str:  # fmt: skip
    """A new stored hash of C{password} (UTF-8), with a random salt unless given."""
    salt = os.urandom(_SALT_BYTES) if salt is None else salt
    key = Scrypt(salt=salt, length=_HASH_BYTES, n=n, r=r, p=p).derive(password.encode())
    return str(parse_hash(str(ScryptHash(n, r, p, salt, key))))


def verify_password(stored: ScryptHash, password: str) -> bool:
    """Whether C{password} is the one C{stored} was made from (constant-time compare)."""
    try:
        stored.kdf().verify(password.encode("utf-8", "surrogateescape"), stored.key)
    except InvalidKey:
        return False
    return True


def parse_entries(entries: Iterable[str], what: str) -> dict[str, tuple[str, ScryptHash]]:
    """
    C{NAME:HASH} entries (the C{--account} and C{--irc-oper} options) by folded name:
    C{(name, hash)}. ValueError naming the entry (by its name, never its hash).
    """
    found: dict[str, tuple[str, ScryptHash]] = {}
    for entry in entries:
        name, sep, stored = entry.partition(":")
        if not sep or not name:
            raise ValueError(f"{what} {name or entry[:20]!r}: expected NAME:HASH")
        if not valid_nick(name):
            raise ValueError(f"{what} {name!r}: the name must be a valid nick")
        if fold(name) in found:
            raise ValueError(f"{what} {name!r}: given twice")
        try:
            found[fold(name)] = (name, parse_hash(stored))
        except ValueError as e:
            raise ValueError(f"{what} {name!r}: {e}") from None
    return found


def account_of(member: object) -> str | None:
    """
    The account C{member} is logged in as: one it logged in to (SASL), else its
    verified certificate's name (a certificate holder is its certificate's name), else
    L{None}. What WHOIS 330, extended-join, account-tag and the nick reservation use.
    """
    account = getattr(member, "account", None) or getattr(member, "identity", None)
    return account if isinstance(account, str) and account else None


#: A hash of nothing, of the default cost: what a name with no account is checked
#: against, so that an unknown name costs as much time as a wrong password.
_DECOY = ScryptHash(SCRYPT_N, SCRYPT_R, SCRYPT_P, b"\0" * _SALT_BYTES, b"\0" * _HASH_BYTES)


@dataclass
class AccountBook:
    """
    The accounts and operators of a hub, and how their passwords are checked.

    @ivar accounts: folded name -> (name, hash): who may log in (SASL PLAIN); each name
        is reserved as a nick on every door (L{install}).
    @ivar opers: folded name -> (name, hash): the IRC door's operators (C{OPER}).
    @ivar run: runs a blocking check and calls back with its result (L{inline}, or the
        reactor's thread pool: L{netsuite.chat._accounts_thread.threaded}).
    """

    accounts: Mapping[str, tuple[str, ScryptHash]] = field(default_factory=dict)
    opers: Mapping[str, tuple[str, ScryptHash]] = field(default_factory=dict)
    run: Runner = inline

    def account(self, name: str) -> str | None:
        """The account C{name} names, as written in the config (or L{None})."""
        found = self.accounts.get(fold(name))
        return found[0] if found else None

    def check(
        self, table: str, name: str, password: str, done: Callable[[str | None], None]
    ) -> None:
        """
        Check C{password} for C{name} in C{table} (C{"accounts"} or C{"opers"}) by
        C{run}; C{done} gets the name as configured, or L{None} (wrong password, or no
        such name: the same cost either way).
        """
        entry = getattr(self, table).get(fold(name))
        stored = entry[1] if entry else _DECOY

        def work() -> str | None:
            ok = verify_password(stored, password)
            return entry[0] if ok and entry else None

        self.run(work, done)

    def install(self, hub: Any) -> None:
        """Be C{hub}'s book: each account's name is held as a nick for its owner."""
        hub.accounts = self
        for name, _ in self.accounts.values():
            hub.reserve(name)
