"""
C{python -m netsuite.chat.hashpw [NAME]}: print a password's Scrypt hash for the config.

The password is read from the terminal without echo (twice, to catch a typo), or as
one line from standard input when that is not a terminal (scripts, CI). It is never an
argument: arguments show in C{ps} and shell history. With C{NAME} the output is the
C{NAME:HASH} entry that C{--account} and C{--irc-oper} take; without, the hash alone.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Sequence
from typing import TextIO

from netsuite.chat._accounts import hash_password
from netsuite.chat._names import valid_nick

__all__ = ["main"]


def _read(stdin: TextIO) -> str:
    if not stdin.isatty():
        return stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise SystemExit("hashpw: the two passwords differ")
    return first


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 or (args and args[0].startswith("-")):
        print("usage: python -m netsuite.chat.hashpw [NAME] < password", file=sys.stderr)
        return 2
    if args and not valid_nick(args[0]):
        print(f"hashpw: {args[0]!r} is not a valid nick", file=sys.stderr)
        return 2
    password = _read(sys.stdin if stdin is None else stdin)
    if not password:
        print("hashpw: an empty password", file=sys.stderr)
        return 1
    stored = hash_password(password)
    print(f"{args[0]}:{stored}" if args else stored)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
