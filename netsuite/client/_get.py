"""
C{netsuite get URL}: download over HTTP/1.1 or HTTPS with treq, curl's way.

The body goes to stdout, or to C{-o FILE}, as it arrives (never held in memory: each
chunk is written before the next is read). C{-i} prints the status line and headers
first (on stdout, also with C{-o}); C{-I} asks for them alone (HEAD). C{-C}/C{--continue}
resumes C{-o FILE}: it asks for the bytes after those on disk and appends them when the
server sends exactly those (206), starts the file over when the server ignores the range
(200, and says so), and stops with status 0 when the server says the file is complete
(416). C{-L} follows redirects (at most C{--max-redirs}, 10). A progress bar (bytes,
percentage, rate, time left) is drawn on stderr when stderr is a terminal and the body
does not go to that terminal.

HTTPS checks the server: the certificate must chain to C{--ca} (or the system's trust
store) and name the URL's host (service_identity), for every host a redirect leads to;
C{--cert}/C{--key} present a client certificate; C{--insecure} checks nothing, and says
so on stderr. C{--resolve HOST:PORT:ADDRESS} connects to ADDRESS for HOST:PORT while
keeping HOST for the certificate check and the C{Host} header (curl's option).

The body is the resource's own bytes: the request says C{Accept-Encoding: identity}
(treq would ask for gzip and unpack it, which would make C{--continue}'s offsets count
something else than the file's bytes); C{--compressed} asks for gzip.

Exit statuses are curl's (L{netsuite.client._get_session.ExitCode}): 0 done (whatever the
HTTP status, as curl), 22 an HTTP error with C{--fail}, 6 the host does not resolve, 7
no connection, 8 the answer is not HTTP, 18 the body stopped short, 23 the output could
not be written, 28 timed out (C{--max-time}, C{--connect-timeout}), 33 a resumed
download that the server's answer does not continue, 35 TLS failed, 47 too many
redirects, 52 no answer at all, 55/56 the connection failed sending/receiving, 60 the
certificate is not trusted or not for the host, 2 bad arguments, 1 anything else, 130
interrupted. Every failure is one line on stderr.

Layout, one concern a module: the decisions (resume, exit statuses, progress line) are
sans-IO, in L{netsuite.client._get_session}; L{netsuite.client._get_agent} connects (TLS
policy, endpoints, redirects); L{netsuite.client._get_download} runs one transfer on any
L{IAgent}; L{netsuite.client._get_output} writes the body and the progress bar; here are
the arguments, and L{run}, which wires them to the reactor.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import Any

from netsuite.client._common import (
    INSECURE_WARNING,
    add_tls_arguments,
    check_tls_arguments,
    positive_int,
    positive_seconds,
    react_command,
    say,
)
from netsuite.client._get_agent import (
    DEFAULT_CONNECT_TIMEOUT,
    MAX_REDIRECTS,
    Endpoints,
    TLSPolicy,
    build_agent,
)
from netsuite.client._get_download import Download, Request, host_port
from netsuite.client._get_output import Output, ProgressLine
from netsuite.client.main import CommandLineError
from netsuite.tls._contexts import TLSConfigError

__all__ = ["MAX_REDIRECTS", "NAME", "SUMMARY", "add_arguments", "http_url", "resolve_entry", "run"]

NAME = "get"
SUMMARY = "Download a URL over HTTP or HTTPS (curl-like: -i, -o, -C, -L, --fail)."
PROG = "netsuite get"

# -- argument types ------------------------------------------------------------------------


def http_url(text: str) -> str:
    """
    An C{http://} or C{https://} URL with a host (C{host/path} alone means http://),
    returned as treq sends it: ASCII, the host IDNA-encoded, the rest percent-encoded.
    """
    import hyperlink

    if "://" not in text:
        text = "http://" + text
    if "[" in text.split("/", 3)[2]:
        # hyperlink (under treq) cannot encode an IPv6 literal; --resolve can reach one.
        raise argparse.ArgumentTypeError(
            f"{text!r}: IPv6 address literals are not supported; use a name and "
            "--resolve NAME:PORT:[ADDRESS]"
        )
    try:
        url = hyperlink.URL.from_text(text)
        url = url.replace(scheme=url.scheme.lower())
        uri = url.to_uri()
        port = url.port
    except (ValueError, UnicodeError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a URL") from None
    if url.scheme not in ("http", "https"):
        raise argparse.ArgumentTypeError(f"{text!r}: only http:// and https:// URLs are supported")
    if not url.host:
        raise argparse.ArgumentTypeError(f"{text!r} is not a URL (no host)")
    if port is None or not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: {port} is not a port (1-65535)")
    return str(uri.to_text())


def resolve_entry(text: str) -> tuple[str, int, str]:
    """C{HOST:PORT:ADDRESS} (C{--resolve}); an IPv6 address may be in brackets."""
    host, sep1, rest = text.partition(":")
    port_text, sep2, address = rest.partition(":")
    address = address.strip("[]")
    if not (sep1 and sep2 and host and address):
        raise argparse.ArgumentTypeError(f"{text!r}: expected HOST:PORT:ADDRESS")
    try:
        port = int(port_text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: {port_text!r} is not a port") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: {port} is not a port (1-65535)")
    return host.lower(), port, address


# -- the command -----------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of C{netsuite get}."""
    parser.add_argument(
        "url", metavar="URL", type=http_url, help="http:// or https:// URL (host/path: http)"
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write the body to FILE (default: stdout)"
    )
    parser.add_argument(
        "-C",
        "--continue",
        dest="resume",
        action="store_true",
        help="resume -o FILE: ask for the bytes after those it holds (Range)",
    )
    parser.add_argument(
        "-i", "--include", action="store_true", help="print the status line and headers first"
    )
    parser.add_argument(
        "-I", "--head", action="store_true", help="ask for the headers only (HEAD) and print them"
    )
    parser.add_argument(
        "-f",
        "--fail",
        action="store_true",
        help="on an HTTP error (status >= 400) write no body and exit 22",
    )
    parser.add_argument("-L", "--location", action="store_true", help="follow redirects")
    parser.add_argument(
        "--max-redirs",
        metavar="N",
        type=positive_int,
        default=MAX_REDIRECTS,
        help="most redirects -L follows (default %(default)s; more: exit 47)",
    )
    parser.add_argument(
        "-m",
        "--max-time",
        metavar="SECONDS",
        type=positive_seconds,
        help="give up on the whole transfer after SECONDS (exit 28)",
    )
    parser.add_argument(
        "--connect-timeout",
        metavar="SECONDS",
        type=positive_seconds,
        default=DEFAULT_CONNECT_TIMEOUT,
        help="to resolve and connect (default %(default)g; exit 28)",
    )
    parser.add_argument(
        "--compressed",
        action="store_true",
        help="ask for gzip and unpack it (the default asks for the bytes as they are)",
    )
    parser.add_argument(
        "-s", "--silent", action="store_true", help="no progress bar, no notes; errors only"
    )
    parser.add_argument(
        "--resolve",
        metavar="HOST:PORT:ADDRESS",
        type=resolve_entry,
        action="append",
        default=[],
        help="connect to ADDRESS for HOST:PORT (the certificate must still name HOST)",
    )
    tls = parser.add_argument_group("TLS (https:// URLs)")
    add_tls_arguments(tls, "https://")


def _validate(args: argparse.Namespace) -> None:
    """Refuse combinations argparse cannot express, before anything connects."""
    # TLS settings stay meaningful for http:// URLs: -L may lead to https.
    check_tls_arguments(args, True, "https://")
    output = None if args.output in (None, "-") else args.output
    if args.resume and output is None:
        raise CommandLineError("--continue needs -o FILE (it resumes a file)")
    if args.head and args.resume:
        raise CommandLineError("--head fetches no body: --continue has nothing to resume")
    if args.head and output is not None:
        raise CommandLineError("--head prints headers on stdout: -o FILE would stay empty")
    if args.resume and args.compressed:
        raise CommandLineError(
            "--compressed unpacks gzip: --continue's offset would not count the server's bytes"
        )
    if args.max_redirs != MAX_REDIRECTS and not args.location:
        raise CommandLineError("--max-redirs: only meaningful with -L")


def _show_progress(args: argparse.Namespace, output: str | None) -> bool:
    """A bar on stderr when it is a terminal, the body does not go there, and not -s."""
    if args.silent or args.head:
        return False
    try:
        if not os.isatty(sys.stderr.fileno()):
            return False
        return output is not None or not os.isatty(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        return False


def _terminal_width() -> int:
    try:
        columns = os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError):
        columns = 0
    return max(20, columns - 1) if columns else 79


def _quiet_stdout() -> None:
    """stdout's reader went away: point it at /dev/null so the exit flush is silent."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def run(args: argparse.Namespace) -> int:
    """Run C{netsuite get} with parsed C{args}; returns the exit status."""
    import time

    from treq.client import HTTPClient

    _validate(args)
    output_path = None if args.output in (None, "-") else args.output
    policy = TLSPolicy(args.ca, args.cert, args.key, insecure=args.insecure)
    host, port = host_port(args.url)
    if args.ca or args.cert:
        try:  # read the files now: a bad one is a usage error, before connecting
            policy.creatorForNetloc(host.encode("ascii"), port)
        except TLSConfigError as e:
            raise CommandLineError(str(e)) from None
    if args.insecure:
        say(PROG, INSECURE_WARNING)
    resolve = {(h, p): a for h, p, a in args.resolve}
    request = Request(
        url=args.url,
        head=args.head,
        include=args.include or args.head,
        fail=args.fail,
        resume=args.resume,
        max_time=args.max_time,
        max_redirects=args.max_redirs,
    )
    output = Output(output_path, sys.stdout.buffer)

    def note(line: str) -> None:
        if not args.silent:
            say(PROG, line)

    async def main(reactor: Any) -> int:
        endpoints = Endpoints(reactor, policy, args.connect_timeout, resolve)
        agent = build_agent(
            reactor,
            endpoints,
            follow=args.location,
            max_redirects=args.max_redirs,
            compressed=args.compressed,
        )
        progress = None
        if _show_progress(args, output_path):
            progress = ProgressLine(sys.stderr, time.monotonic, _terminal_width())
        download = Download(
            HTTPClient(agent),
            request,
            output,
            reactor,
            say=lambda line: say(PROG, line),
            inform=note,
            progress=progress,
            where=lambda: endpoints.last,
            peer_chain=policy.peer_chain,
            ca=args.ca,
        )
        return await download.run()

    code = react_command(PROG, main)
    if output.broken_pipe:
        _quiet_stdout()
    return code
