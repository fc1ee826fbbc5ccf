"""
The unit files in docs/systemd: `systemd-analyze verify` accepts them (no warning at
all), and every `systemd:` description in the service's ExecStart finds its socket in
the socket units, by name and type, as netsuite resolves them at start-up.
"""

from __future__ import annotations

import itertools
import re
import shlex
import socket
import subprocess
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import require_tool, twistd_command
from netsuite.twistd._endpoints import InheritedSockets, SocketKind, is_datagram

UNITS = Path(__file__).resolve().parents[2] / "docs" / "systemd"
SOCKETS = ("netsuite.socket", "netsuite-web.socket")
#: Where the documented service expects netsuite's twistd (a venv under /opt).
INSTALLED_TWISTD = "/opt/netsuite/bin/twistd"


def unit_lines(text: str) -> list[tuple[str, str]]:
    """The C{key=value} lines of a unit file, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, _, value = line.partition("=")
            out.append((key.strip(), value.strip()))
    return out


def exec_start() -> list[str]:
    service = (UNITS / "netsuite.service").read_text()
    (command,) = [v for k, v in unit_lines(service) if k == "ExecStart"]
    return shlex.split(command)


def listen_descriptions(argv: list[str]) -> list[str]:
    """Every --listen description inside the suite's --SERVICE-args options."""
    out = []
    for flag, value in itertools.pairwise(argv):
        if flag.endswith("-args"):
            inner = shlex.split(value)
            out += [d for f, d in itertools.pairwise(inner) if f == "--listen"]
    return out


def inherited_from_units() -> InheritedSockets:
    """What systemd would hand netsuite.service: each socket unit's sockets and name."""
    kinds: list[SocketKind] = []
    names: list[str] = []
    for unit in SOCKETS:
        lines = unit_lines((UNITS / unit).read_text())
        name = dict(lines).get("FileDescriptorName", unit.removesuffix(".socket"))
        for key, value in lines:
            if key in ("ListenStream", "ListenDatagram"):
                family = socket.AF_INET6 if value.startswith("[") else socket.AF_INET
                kind = socket.SOCK_STREAM if key == "ListenStream" else socket.SOCK_DGRAM
                kinds.append((family, kind))
                names.append(name)
    table = dict(enumerate(kinds, start=3))
    environ = {"LISTEN_PID": "1", "LISTEN_FDS": str(len(kinds)), "LISTEN_FDNAMES": ":".join(names)}
    return InheritedSockets.from_environ(environ, 1, inspect=table.get)


class UnitTests(SynchronousTestCase):
    def test_systemd_analyze_verify(self) -> None:
        tool = require_tool("systemd-analyze")
        directory = Path(self.mktemp())
        directory.mkdir()
        # verify checks that ExecStart is executable: point it at this environment's.
        service = (UNITS / "netsuite.service").read_text()
        self.assertIn(INSTALLED_TWISTD, service)
        (directory / "netsuite.service").write_text(
            service.replace(INSTALLED_TWISTD, twistd_command()[0])
        )
        for unit in SOCKETS:
            (directory / unit).write_text((UNITS / unit).read_text())
        paths = [str(directory / u) for u in ("netsuite.service", *SOCKETS)]
        done = subprocess.run(
            [tool, "verify", "--man=no", *paths], capture_output=True, text=True, timeout=60
        )
        # verify exits 0 on unknown keys and bad values (it only warns): no output at all.
        self.assertEqual((done.returncode, done.stdout + done.stderr), (0, ""))

    def test_every_description_finds_its_socket(self) -> None:
        argv = exec_start()
        self.assertEqual(argv[0], INSTALLED_TWISTD)
        self.assertIn("--nodaemon", argv)
        descriptions = listen_descriptions(argv)
        self.assertEqual(len(descriptions), 3, argv)
        fds = inherited_from_units()
        chosen = set()
        for description in descriptions:
            kwargs = dict(part.split("=", 1) for part in description.split(":")[1:])
            kind = "dgram" if is_datagram(description) else "stream"
            chosen.add(fds.select(kwargs["domain"], kind, kwargs.get("index"), kwargs.get("name")))
        self.assertEqual(chosen, set(fds.fds))  # every socket used, none twice

    def test_hardening(self) -> None:
        settings = dict(unit_lines((UNITS / "netsuite.service").read_text()))
        for key, value in (
            ("Type", "notify"),
            ("DynamicUser", "yes"),
            ("ProtectSystem", "strict"),
            ("NoNewPrivileges", "yes"),
            ("CapabilityBoundingSet", ""),
        ):
            self.assertEqual(settings.get(key), value, key)
