"""
End to end, the reactor matrix: the whole suite (`twistd -n --reactor R netsuite`) under
each reactor we support, every door reached by a real client on 127.0.0.1.

Why a matrix: the code is written against Twisted's interfaces, but the reactors differ
underneath (how UDP errors surface, how signals and threads reach the loop, asyncio's own
loop), so "it works under epoll" says little about the others. One process per reactor,
a few seconds each: echo over TCP, UDP and nstls:, a line crossing from the line door to
the IRC door and back, HTTP with curl, a DTLS ping with `netsuite ping --dtls`, then
SIGTERM and exit 0 with no traceback in the log.

The whole e2e tier can also run under one reactor: `NETSUITE_REACTOR=poll pytest tests/e2e`.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TLSFiles, TwistdProcess, require_tool, twistd_command

from .chatclient import LineClient

TCP = "tcp:0:interface=127.0.0.1"
UDP = "udp:0:interface=127.0.0.1"

#: twistd's name for each reactor, and the class its "reactor class:" line names.
REACTORS = {
    "epoll": "twisted.internet.epollreactor.EPollReactor",
    "poll": "twisted.internet.pollreactor.PollReactor",
    "select": "twisted.internet.selectreactor.SelectReactor",
    "asyncio": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    "netsuite": "netsuite._twisted.reactor.NetsuiteReactor",
}


def netsuite_client() -> list[str]:
    """The C{netsuite} console script of this environment, else the package as a module."""
    beside = Path(sys.executable).with_name("netsuite")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "netsuite.client"]


def irc_until(irc: socket.socket, needle: bytes, seen: bytes = b"") -> bytes:
    """Read the IRC socket until C{needle} shows up (its timeout bounds each read)."""
    while needle not in seen:
        chunk = irc.recv(65536)
        if not chunk:
            raise AssertionError(f"IRC door closed before {needle!r}:\n{seen.decode()}")
        seen += chunk
    return seen


class ReactorMatrixMixin:
    """Every door of one suite process under C{reactor}; a subclass per reactor."""

    reactor: str

    def test_every_door(self) -> None:
        case: SynchronousTestCase = self  # type: ignore[assignment]  # mixed into one
        curl = require_tool("curl")
        files = TLSFiles(Path(case.mktemp()))
        dtls = f"dtls:0:interface=127.0.0.1:cert={files.cert_path}:key={files.key_path}"
        server = TwistdProcess(
            "netsuite",
            [
                "--echo-args", f"--listen {TCP} --listen {UDP} --listen {files.nstls(0)}"
                f" --listen {dtls}",
                "--chat-args", f"--listen {TCP} --irc-listen {TCP}",
                "--web-args", f"--listen {TCP}",
            ],
            expect=7,
            reactor=self.reactor,
        )  # fmt: skip
        with server:
            case.assertIn(f"reactor class: {REACTORS[self.reactor]}.", server.log())

            with socket.create_connection(server.address("echo/tcp"), timeout=10) as s:
                s.sendall(b"tcp " + self.reactor.encode())
                case.assertEqual(s.recv(100), b"tcp " + self.reactor.encode())

            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.settimeout(10)
                u.sendto(b"udp datagram", server.address("echo/udp"))
                case.assertEqual(u.recvfrom(100)[0], b"udp datagram")

            context = ssl.create_default_context(cafile=files.ca_path)
            with (
                socket.create_connection(server.address("echo/tls"), timeout=10) as raw,
                context.wrap_socket(raw, server_hostname="localhost") as t,
            ):
                t.sendall(b"over tls")
                case.assertEqual(t.recv(100), b"over tls")

            irc = socket.create_connection(server.address("chat/irc"), timeout=10)
            case.addCleanup(irc.close)
            irc.sendall(b"NICK ircer\r\nUSER ircer 0 * :I\r\nJOIN #lobby\r\n")
            seen = irc_until(irc, b" 366 ")  # end of NAMES: joined
            line = LineClient(server.address("chat/line"), timeout=10)
            case.addCleanup(line.close)
            line.send("line to irc")
            irc_until(irc, b"PRIVMSG #lobby :line to irc", seen)
            irc.sendall(b"PRIVMSG #lobby :irc to line\r\n")
            line.expect("irc to line")

            host, port = server.address("web/http")
            out = subprocess.run(
                [curl, "-sS", "--max-time", "10", f"http://{host}:{port}/api/health"],
                capture_output=True,
                text=True,
                timeout=20,
            )
            case.assertEqual(out.returncode, 0, out.stderr)
            case.assertEqual(json.loads(out.stdout)["status"], "ok")

            ping = subprocess.run(
                [
                    *netsuite_client(), "ping", "--dtls", "--ca", files.ca_path, "--json",
                    "--count", "3", "--interval", "0.05",
                    "localhost", str(server.address("echo/dtls")[1]),
                ],
                capture_output=True,
                text=True,
                timeout=30,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
            case.assertEqual(ping.returncode, 0, ping.stdout + ping.stderr)
            summary = json.loads(ping.stdout)
            case.assertEqual((summary["sent"], summary["received"]), (3, 3), summary)

        case.assertEqual(server.process and server.process.returncode, 0, server.log())
        for bad in ("Traceback", "Unhandled Error"):
            case.assertNotIn(bad, server.log())


#: Import every service and parse options with listen descriptions, then pick a reactor.
LATE_CHOICE = """
import sys
import netsuite.client, netsuite.suite.tap
options = netsuite.suite.tap.Options()
options.parseOptions(["--echo-args", "--listen tcp:0:interface=127.0.0.1 --listen udp:0"])
assert "twisted.internet.reactor" not in sys.modules, "a reactor was installed too early"
from twisted.internet import asyncioreactor
asyncioreactor.install()
netsuite.suite.tap.makeService(options)
from twisted.internet import reactor
print(type(reactor).__name__)
"""


class LateChoiceTests(SynchronousTestCase):
    def test_importing_and_parsing_install_no_reactor(self) -> None:
        """
        Importing netsuite and parsing its options leave the reactor unchosen (the
        L{netsuite.base._reactor.GlobalReactor} proxy), so a program or C{.tac} can
        still install asyncio's afterwards.
        """
        out = subprocess.run(
            [sys.executable, "-c", LATE_CHOICE], capture_output=True, text=True, timeout=60
        )
        self.assertEqual(
            (out.returncode, out.stdout.strip()), (0, "AsyncioSelectorReactor"), out.stderr
        )


class EnvironmentTests(SynchronousTestCase):
    """C{NETSUITE_REACTOR} reaches every twistd the helpers start; an explicit one wins."""

    def test_environment_names_the_reactor(self) -> None:
        self.patch(os, "environ", {**os.environ, "NETSUITE_REACTOR": "poll"})
        self.assertEqual(twistd_command()[-2:], ["--reactor", "poll"])
        self.assertEqual(twistd_command("select")[-2:], ["--reactor", "select"])
        with TwistdProcess("netsuite-echo", ["--listen", TCP]) as server:
            self.assertIn(f"reactor class: {REACTORS['poll']}.", server.log())

    def test_unset_is_twistds_default(self) -> None:
        self.patch(os, "environ", {k: v for k, v in os.environ.items() if k != "NETSUITE_REACTOR"})
        self.assertNotIn("--reactor", twistd_command())


class EPollTests(ReactorMatrixMixin, SynchronousTestCase):
    reactor = "epoll"


class PollTests(ReactorMatrixMixin, SynchronousTestCase):
    reactor = "poll"


class SelectTests(ReactorMatrixMixin, SynchronousTestCase):
    reactor = "select"


class AsyncioTests(ReactorMatrixMixin, SynchronousTestCase):
    reactor = "asyncio"


class NetsuiteReactorTests(ReactorMatrixMixin, SynchronousTestCase):
    reactor = "netsuite"
