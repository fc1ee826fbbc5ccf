"""
The C{netsuite} console script: one parser, one sub-command per client.

A sub-command is one module that defines::

    NAME: str                                   # "echo": what follows "netsuite"
    SUMMARY: str                                # one line for "netsuite --help"
    def add_arguments(parser: argparse.ArgumentParser) -> None
    def run(args: argparse.Namespace) -> int    # the exit status

and is registered by adding its dotted name to L{SUBCOMMANDS}; nothing else changes here.
Modules are imported to build the parser, so they must not import the reactor (or pick one)
at import time: C{run} does that.

Exit statuses (netsuite get uses curl's numbers instead): 0 success, 1 failure (a clear one-line
message on stderr, never a traceback), 2 bad arguments (argparse's usage error). A
sub-command that finds its arguments inconsistent only after parsing raises
L{CommandLineError}, which is reported the same way as argparse's own errors.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import Protocol, cast

__all__ = ["SUBCOMMANDS", "CommandLineError", "SubCommand", "build_parser", "main"]

#: Dotted names of the sub-command modules, in the order C{--help} lists them.
SUBCOMMANDS: tuple[str, ...] = (
    "netsuite.client._echo",
    "netsuite.client._chat",
    "netsuite.client._ping",
    "netsuite.client._certs",
    "netsuite.client._get",
    "netsuite.client._doctor",
)


class CommandLineError(Exception):
    """
    The arguments parsed but do not fit together (C{--key} without C{--cert}, an
    unreadable CA file ...). Reported as a usage error of the sub-command: exit status 2.
    """


class SubCommand(Protocol):
    """What L{main} needs of a sub-command module (see the module docstring)."""

    NAME: str
    SUMMARY: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def _version() -> str:
    try:
        return metadata.version("netsuite")
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


def build_parser(modules: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """
    The top-level parser with one sub-parser per module in C{modules} (default:
    L{SUBCOMMANDS}, looked up at call time so tests can register a stand-in).

    Each sub-parser remembers its module and itself (C{_command}, C{_parser}), so that
    L{main} can run the one chosen and report its late usage errors under its own name.
    """
    parser = argparse.ArgumentParser(
        prog="netsuite",
        description="Clients for the netsuite servers.",
    )
    parser.add_argument("--version", action="version", version=f"netsuite {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for dotted in SUBCOMMANDS if modules is None else modules:
        command = cast(SubCommand, importlib.import_module(dotted))
        sub_parser = sub.add_parser(
            command.NAME, help=command.SUMMARY, description=command.SUMMARY
        )
        command.add_arguments(sub_parser)
        sub_parser.set_defaults(_command=command, _parser=sub_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """
    Parse C{argv} (default: C{sys.argv[1:]}) and run the chosen sub-command.

    Returns the exit status (the console-script wrapper passes it to C{sys.exit}); usage
    errors leave through argparse's C{SystemExit(2)}.
    """
    try:
        args = build_parser().parse_args(argv)
        command: SubCommand = args._command
        try:
            return command.run(args)
        except CommandLineError as e:
            parser: argparse.ArgumentParser = args._parser
            parser.error(str(e))  # exits with status 2
    except KeyboardInterrupt:
        # Ctrl-C before a sub-command's reactor handles it (while importing, parsing).
        print("netsuite: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Nobody reads stdout any more ("| head"): as the interactive commands do when
        # stdout goes, stop quietly. Point stdout at /dev/null so that the interpreter's
        # own flush at exit does not fail again.
        with contextlib.suppress(OSError, ValueError):
            stdout = sys.stdout.fileno()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stdout)
            os.close(devnull)
        return 0
