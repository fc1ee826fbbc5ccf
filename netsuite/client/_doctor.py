"""
C{netsuite doctor}: why twistd does not start or list netsuite, one line per finding.

    netsuite doctor [--pidfile FILE] [--cert FILE [--key FILE]] ... [--ca FILE] ...
                    [--port [HOST:]PORT[/udp]] ... [--dir DIR]

Each line starts with C{ok}, C{warning} or C{problem}, names the check and, when there is
one, the fix. The exit status is 1 when any line is a problem, 0 otherwise: a warning
(a stale plugin cache twistd will rewrite, a certificate expiring within 30 days) does
not stop a start.

The checks live in L{netsuite.client._doctor_checks} as plain functions; this module
gathers their real inputs (Twisted's plugin list, C{/proc}, the clock), prints and
picks the exit status. No reactor: every check reads files or binds a socket briefly.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from netsuite.client._common import say
from netsuite.client._doctor_checks import (
    PLUGIN_MODULE,
    CertSpec,
    Finding,
    PortSpec,
    check_ca_hint,
    check_configured,
    check_pidfile,
    check_plugins,
    parse_port,
    snapshot_cache,
)
from netsuite.client.main import CommandLineError
from netsuite.tls._devca import DevCA

__all__ = ["NAME", "SUMMARY", "add_arguments", "gather", "run"]

NAME = "doctor"
SUMMARY = "Check the twistd plugins, twistd.pid, certificates and ports; exit 1 on any problem."
PROG = "netsuite doctor"


def _port(text: str) -> PortSpec:
    try:
        return parse_port(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of C{netsuite doctor}."""
    parser.add_argument(
        "--pidfile",
        metavar="FILE",
        type=Path,
        default=Path("twistd.pid"),
        help="twistd's pid file (default: ./twistd.pid, as twistd's own default)",
    )
    parser.add_argument(
        "--cert",
        metavar="FILE",
        type=Path,
        action="append",
        default=[],
        help="a certificate (PEM, leaf then chain) to check; repeatable",
    )
    parser.add_argument(
        "--key",
        metavar="FILE",
        type=Path,
        action="append",
        default=[],
        help="the key of the --cert in the same position (default: in the --cert file)",
    )
    parser.add_argument(
        "--ca",
        metavar="FILE",
        type=Path,
        action="append",
        default=[],
        help="a CA (PEM) the certificates must chain to; repeatable",
    )
    parser.add_argument(
        "--port",
        metavar="[HOST:]PORT[/udp]",
        type=_port,
        action="append",
        default=[],
        help="a port a door will listen on: free, or held by which process; repeatable",
    )
    parser.add_argument(
        "--dir",
        metavar="DIR",
        type=Path,
        help="the development CA's directory (default: as netsuite certs)",
    )


def _plugin_directory() -> Path:
    """
    The C{twisted/plugins} directory holding netsuite's plugin module (else the first),
    found the way L{netsuite.twistd.plugincache} finds the cache it refreshes.
    """
    import twisted.plugins

    directories = [Path(p) for p in twisted.plugins.__path__]
    return next((d for d in directories if (d / PLUGIN_MODULE).exists()), directories[0])


def _listed_plugins() -> dict[str, str]:
    """C{tapname -> tap module} of every twistd plugin Twisted lists (as C{twistd --help})."""
    from twisted.application.service import IServiceMaker
    from twisted.plugin import getPlugins

    return {maker.tapname: getattr(maker, "module", "") for maker in getPlugins(IServiceMaker)}


def gather(args: argparse.Namespace) -> list[Finding]:
    """Every finding, in the order printed: plugins, pid file, certificates, ports, CA."""
    if len(args.key) > len(args.cert):
        raise CommandLineError("each --key goes with a --cert given before it")
    specs = [
        CertSpec(cert, args.key[i] if i < len(args.key) else None)
        for i, cert in enumerate(args.cert)
    ]
    # The cache first: listing the plugins rewrites a stale cache where it can.
    state = snapshot_cache(_plugin_directory())
    findings = check_plugins(state, _listed_plugins())
    findings += check_pidfile(args.pidfile)
    findings += check_configured(specs, args.port, args.ca)
    ca = DevCA(args.dir)
    findings += check_ca_hint(ca.cert_path, ca.exists())
    return findings


def run(args: argparse.Namespace) -> int:
    """Run C{netsuite doctor} with parsed C{args}; returns the exit status."""
    findings = gather(args)
    for finding in findings:
        print(finding.line(), flush=True)
    problems = sum(f.level == "problem" for f in findings)
    warnings = sum(f.level == "warning" for f in findings)
    if problems:
        say(PROG, f"{problems} problem(s), {warnings} warning(s)")
        return 1
    return 0
