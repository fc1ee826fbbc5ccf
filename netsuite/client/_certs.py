"""
C{netsuite certs}: the local development CA (L{netsuite.tls._devca}), from the command line.

    netsuite certs init [--force]                 create the CA (ECDSA P-256, 10 years)
    netsuite certs issue NAME [NAME ...] [--out DIR]
                                                  a leaf for those DNS names / IP addresses
    netsuite certs show FILE                      what a PEM certificate file holds

The CA lives in the state directory: C{$NETSUITE_STATE_DIR}, else
C{$XDG_STATE_HOME/netsuite}, else C{~/.local/state/netsuite} (C{--dir DIR} overrides
all three): C{ca.pem}, C{ca.key} (mode 0600) and C{leaves/}. The same CA signs the
throw-away certificates of loopback TLS listeners, so a client trusts them all with
C{--ca STATE_DIR/ca.pem}.

C{issue} writes C{NAME.pem} (the leaf, then the CA: the chain a server sends) and
C{NAME.key} (0600) into C{--out DIR} (default: the state directory's C{leaves/}), for
servers and for client certificates alike (397 days; server and client auth). It creates
the CA first if there is none yet, and says so.

No reactor here: everything is a file.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import re
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from netsuite.client._common import say
from netsuite.client.main import CommandLineError
from netsuite.tls._devca import DevCA, state_dir
from netsuite.tls._pki import Issued, issue

__all__ = [
    "NAME",
    "SUMMARY",
    "add_arguments",
    "describe_certificate",
    "fingerprint",
    "run",
]

NAME = "certs"
SUMMARY = "The local development CA: init, issue leaf certificates, show a certificate."
PROG = "netsuite certs"

_DNS_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def fingerprint(cert: x509.Certificate) -> str:
    """C{AB:CD:...}: the SHA-256 fingerprint, as the servers log it."""
    digest = cert.fingerprint(hashes.SHA256()).hex().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def _names(cert: x509.Certificate) -> str:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "none"
    names = [f"DNS:{n}" for n in san.get_values_for_type(x509.DNSName)]
    names += [f"IP:{ip}" for ip in san.get_values_for_type(x509.IPAddress)]
    return ", ".join(names) or "none"


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _when(moment: datetime.datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}"


def _days_left(cert: x509.Certificate, now: datetime.datetime) -> str:
    seconds = (cert.not_valid_after_utc - now).total_seconds()
    if seconds < 0:
        return f"expired {int(-seconds // 86400)} days ago"
    if now < cert.not_valid_before_utc:
        return f"{int(seconds // 86400)} (not valid yet)"
    return str(int(seconds // 86400))


def describe_certificate(
    cert: x509.Certificate, now: datetime.datetime | None = None
) -> list[str]:
    """The lines C{show} prints for one certificate."""
    now = now or datetime.datetime.now(datetime.UTC)
    return [
        f"subject:    {cert.subject.rfc4514_string()}",
        f"SANs:       {_names(cert)}",
        f"issuer:     {cert.issuer.rfc4514_string()}",
        f"CA:         {'yes' if _is_ca(cert) else 'no'}",
        f"sha256:     {fingerprint(cert)}",
        f"not before: {_when(cert.not_valid_before_utc)}",
        f"not after:  {_when(cert.not_valid_after_utc)}",
        f"days left:  {_days_left(cert, now)}",
    ]


def _name(text: str) -> str:
    """A subject-alternative name: an IP address, or a DNS name (a C{*.} wildcard first)."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    labels = text.rstrip(".").split(".")
    if labels and labels[0] == "*" and len(labels) > 1:
        labels = labels[1:]
    if len(text) <= 253 and all(_DNS_LABEL.match(label) for label in labels):
        return text.rstrip(".").lower()
    raise argparse.ArgumentTypeError(f"{text!r} is neither a DNS name nor an IP address")


def _add_dir(parser: argparse.ArgumentParser, default: Any = None) -> None:
    """C{--dir}, on the command and on each action that takes it."""
    parser.add_argument(
        "--dir",
        metavar="DIR",
        type=Path,
        default=default,
        help="the CA's directory (default: $NETSUITE_STATE_DIR, else "
        "$XDG_STATE_HOME/netsuite, else ~/.local/state/netsuite)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of C{netsuite certs} and its actions."""
    _add_dir(parser)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    init = actions.add_parser("init", help="create the development CA")
    # Before or after the action: a sub-parser's default must not undo the parent's value.
    _add_dir(init, default=argparse.SUPPRESS)
    init.add_argument("--force", action="store_true", help="replace an existing CA")
    issue_parser = actions.add_parser(
        "issue", help="issue a leaf certificate for DNS names and IP addresses"
    )
    issue_parser.add_argument(
        "names", metavar="NAME", nargs="+", type=_name, help="DNS name or IP address"
    )
    issue_parser.add_argument(
        "--out", metavar="DIR", type=Path, help="write here (default: the CA's leaves/)"
    )
    _add_dir(issue_parser, default=argparse.SUPPRESS)
    show = actions.add_parser("show", help="print what a PEM certificate file holds")
    show.add_argument("file", metavar="FILE", type=Path, help="PEM certificate (or chain)")


def _ca_lines(ca: DevCA, issued: Issued) -> list[str]:
    return [
        f"CA certificate: {ca.cert_path}",
        f"CA key:         {ca.key_path}",
        f"sha256:         {fingerprint(issued.cert)}",
        f"expires:        {_when(issued.cert.not_valid_after_utc)}",
    ]


def _init(ca: DevCA, force: bool) -> int:
    existed = ca.exists()
    try:
        issued = ca.init(force=force)
    except (OSError, ValueError) as e:
        say(PROG, f"cannot create the CA in {ca.directory}: {e}")
        return 1
    if existed and not force:
        print(f"the development CA already exists in {ca.directory} (--force replaces it)")
    else:
        print(f"created the development CA in {ca.directory}")
    for line in _ca_lines(ca, issued):
        print(line)
    print(f"clients trust it with: --ca {ca.cert_path}")
    return 0


def _stem(name: str) -> str:
    return name.replace(":", "_").replace("*", "_star")


def _issue(ca: DevCA, names: list[str], out: Path | None) -> int:
    try:
        if not ca.exists():
            issued_ca = ca.init()
            print(f"created the development CA in {ca.directory}")
            for line in _ca_lines(ca, issued_ca):
                print(line)
        if out is None:
            cert_path, key_path = ca.issue(names)
        else:
            authority = ca.load()
            out.mkdir(parents=True, exist_ok=True)
            cert_path, key_path = out / f"{_stem(names[0])}.pem", out / f"{_stem(names[0])}.key"
            issue(authority, names).write(cert_path, key_path)
            # The chain a server sends: leaf then CA.
            cert_path.write_bytes(cert_path.read_bytes() + authority.cert_pem)
    except (OSError, ValueError) as e:
        say(PROG, f"cannot issue the certificate: {e}")
        return 1
    leaf = x509.load_pem_x509_certificate(cert_path.read_bytes())
    print(f"certificate: {cert_path}")
    print(f"key:         {key_path}")
    print(f"names:       {_names(leaf)}")
    print(f"sha256:      {fingerprint(leaf)}")
    print(f"expires:     {_when(leaf.not_valid_after_utc)}")
    return 0


def _show(path: Path) -> int:
    try:
        data = path.read_bytes()
    except OSError as e:
        say(PROG, f"cannot read {path}: {e.strerror}")
        return 1
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        try:
            certs = [x509.load_der_x509_certificate(data)]
        except ValueError:
            say(PROG, f"{path} holds no PEM (or DER) certificate")
            return 1
    now = datetime.datetime.now(datetime.UTC)
    for i, cert in enumerate(certs):
        if len(certs) > 1:
            if i:
                print()
            print(f"certificate {i + 1} of {len(certs)}:")
        for line in describe_certificate(cert, now):
            print(line)
    return 0


def run(args: argparse.Namespace) -> int:
    """Run C{netsuite certs} with parsed C{args}; returns the exit status."""
    if args.action == "show":
        return _show(args.file)
    directory = args.dir or state_dir()
    if directory.exists() and not directory.is_dir():
        raise CommandLineError(f"--dir {directory}: not a directory")
    ca = DevCA(directory)
    if args.action == "init":
        return _init(ca, args.force)
    return _issue(ca, list(dict.fromkeys(args.names)), args.out)
