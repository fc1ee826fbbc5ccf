"""
End to end: `twistd netsuite --config FILE --check` in a real process, like `nginx -t`.

A broken file gives one precise line per problem, a non-zero exit and no bound port;
the example configs in tap/ check clean. production.toml names the host's files under
/etc/netsuite/: the test checks a copy whose paths point at test certificates instead
(the file's own paths are asserted to be the only thing changed).
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TLSFiles, TwistdProcess, twistd_command

TAP = Path(__file__).parents[2] / "tap"
ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def assert_free(port: int, kind: int = socket.SOCK_STREAM) -> None:
    """Binding works, so the checked process left the port alone."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", port))


def twistd(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*twistd_command(), *arguments],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


class CheckTests(SynchronousTestCase):
    def test_broken_config(self) -> None:
        one, two, three = free_port(), free_port(), free_port()
        config = Path(self.mktemp())
        config.write_text(
            "[echo]\n"
            f'listen = ["tcp:{one}:interface=127.0.0.1", "udp:{two}:interface=127.0.0.1"]\n'
            "max_per_ip = 8\n"
            "\n"
            "[chat]\n"
            f'listen = ["tcp:{one}:interface=127.0.0.1"]\n'
            'history = "lots"\n'
            "flood_rat = 2\n"
            "\n"
            "[chat.irc]\n"
            f'listen = ["nstls:{three}:interface=127.0.0.1:cert=/nonexistent/irc.pem"]\n'
            "\n"
            "[web]\n"
            f'listen = ["tcp:{three}:interface=127.0.0.1:backlog=x:nonsense"]\n'
        )
        result = twistd("netsuite", "--config", str(config), "--check")
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertEqual(result.stdout, "")
        lines = result.stderr.splitlines()
        self.assertEqual(
            [line.split(": ", 2)[:2] for line in lines],
            [
                [f"{config}:6", "[chat] listen"],
                [f"{config}:7", "[chat] history"],
                [f"{config}:8", "[chat] flood_rat"],
                [f"{config}:11", "[chat.irc] listen"],
                [f"{config}:14", "[web] listen"],
            ],
            result.stderr,
        )
        self.assertIn(f"expected one door per port, got 'tcp:{one}:", lines[0])
        self.assertIn("expected an integer, got a string ('lots')", lines[1])
        self.assertIn("unknown key; did you mean 'flood_rate'?", lines[2])
        self.assertIn("cert: cannot read '/nonexistent/irc.pem'", lines[3])
        self.assertIn("expected a listen description", lines[4])
        for port in (one, three):
            assert_free(port)
        assert_free(two, socket.SOCK_DGRAM)

    def test_without_check_exits_before_listening(self) -> None:
        port = free_port()
        config = Path(self.mktemp())
        config.write_text(
            f'[echo]\nlisten = ["tcp:{port}:interface=127.0.0.1"]\nmax_per_ip = -2\n'
        )
        result = twistd("-n", "--pidfile=", "netsuite-echo", "--config", str(config))
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"{config}:3: [echo] max_per_ip: expected at least 0, got -2", result.stderr)
        assert_free(port)

    def test_development_example(self) -> None:
        result = twistd("netsuite", "--config", str(TAP / "development.toml"), "--check")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("the config is good; nothing was opened", result.stdout)
        doors = "echo/tcp echo/udp echo/tls echo/dtls chat/line chat/line-tls chat/irc"
        for door in (*doors.split(), "chat/irc-tls", "web/http", "web/https"):
            self.assertIn(f"  {door}  ", result.stdout)
        self.assertIn("alpn=h2,http/1.1", result.stdout)

    def test_production_example(self) -> None:
        """The production file, its /etc/netsuite/ paths pointing at test files."""
        directory = Path(self.mktemp())
        files = TLSFiles(directory / "pki")
        (directory / "tls").mkdir()
        (directory / "tls" / "fullchain.pem").write_bytes(Path(files.cert_path).read_bytes())
        (directory / "tls" / "privkey.pem").write_bytes(Path(files.key_path).read_bytes())
        (directory / "tls" / "clients-ca.pem").write_bytes(Path(files.ca_path).read_bytes())
        (directory / "api-token").write_text("a-long-enough-api-token\n")
        original = (TAP / "production.toml").read_text()
        copy = directory / "production.toml"
        copy.write_text(original.replace("/etc/netsuite/", f"{directory}/"))
        result = twistd("netsuite", "--config", str(copy), "--check")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("client-cert=optional (CA ", result.stdout)
        self.assertIn("log: format=json", result.stdout)
        self.assertNotIn("TLS off", result.stdout)  # TLS on every door
        # Unchanged, the file fails on exactly its four host paths, nothing else.
        result = twistd("netsuite", "--config", str(TAP / "production.toml"), "--check")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(
            [line.split(": ")[1] for line in result.stderr.splitlines()],
            ["[tls] cert", "[tls] key", "[tls] client_ca", "[web.api] token_file"],
        )


class TacTests(SynchronousTestCase):
    def test_netsuite_config(self) -> None:
        """tap/netsuite.tac reads NETSUITE_CONFIG."""
        config = Path(self.mktemp())
        config.write_text(
            '[suite]\nservices = ["echo"]\n[echo]\nlisten = ["tcp:0:interface=127.0.0.1"]\n'
        )
        server = TwistdProcess(
            "",
            twistd_args=["-y", str(TAP / "netsuite.tac")],
            env={**ENV, "NETSUITE_CONFIG": str(config)},
            expect=1,
        )
        with server:
            with socket.create_connection(server.address("echo/tcp"), timeout=10) as s:
                s.sendall(b"tac")
                self.assertEqual(s.recv(10), b"tac")
            self.assertEqual(list(server.listeners), ["echo/tcp"])
