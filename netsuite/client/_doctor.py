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
import importlib
from pathlib import Path

from twisted.python import usage

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
        "--config",
        metavar="FILE",
        type=Path,
        help="the suite's TOML config: check it, and every certificate and port it names",
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


def from_config(path: Path) -> tuple[list[Finding], list[CertSpec], list[PortSpec]]:
    """
    The suite's config file C{path}: a finding per problem in it (as C{--check} reports
    them), else one "ok"; and the certificates and ports of every door it opens.
    """
    from netsuite.suite.tap import SERVICES, Options
    from netsuite.twistd._config import bound_address, read_config
    from netsuite.twistd._plan import listeners

    classes = {name: importlib.import_module(m).Options for name, m in SERVICES.items()}
    config = read_config(str(path), classes, Options)
    if config.errors:
        fix = f"twistd netsuite --config {path} --check"
        return [Finding("problem", "config", str(e), fix) for e in config.errors], [], []
    options = Options()
    try:
        options.parseOptions(["--config", str(path)])
    except (usage.UsageError, SystemExit) as e:
        return [Finding("problem", "config", f"{path}: {e}")], [], []
    specs: list[CertSpec] = []
    ports: list[PortSpec] = []
    for name, sub in options.services.items():
        for listener in listeners(name, sub):
            settings = listener.settings
            if settings is not None and settings.cert:
                key = Path(settings.key) if settings.key else None
                specs.append(CertSpec(Path(settings.cert), key))
            bound = bound_address(listener.description)
            if bound is not None:
                kind, interface, port = bound
                ports.append(PortSpec(port, interface, udp=kind == "udp"))
    count = len(ports)
    return [_ok_config(f"{path}: good; {count} door(s) with a port to check")], specs, ports


def _ok_config(message: str) -> Finding:
    return Finding("ok", "config", message)


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
    ports = list(args.port)
    if args.config is not None:
        config_findings, config_specs, config_ports = from_config(args.config)
        findings += config_findings
        specs += [s for s in config_specs if s not in specs]
        ports += [p for p in config_ports if p not in ports]
    findings += check_configured(specs, ports, args.ca)
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
