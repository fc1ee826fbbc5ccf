"""
C{netsuite doctor}'s checks, each finding provoked once on a temporary directory: a
plugin module that fails to import, a stale and an unwritable plugin cache, stale pid
files, expired, mismatched and foreign certificates, a held port (a fake C{/proc}).
No real process, no real socket.
"""

from __future__ import annotations

import argparse
import datetime
import errno
import io
import os
import sys
import tempfile
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netsuite.client import _doctor
from netsuite.client._doctor_checks import (
    EXPECTED_PLUGINS,
    REFRESH_COMMAND,
    CertSpec,
    Finding,
    PortSpec,
    check_ca_hint,
    check_certificates,
    check_configured,
    check_pidfile,
    check_plugins,
    check_ports,
    parse_port,
    parse_proc_net,
    snapshot_cache,
)
from netsuite.client.main import CommandLineError, build_parser
from netsuite.tls._pki import create_ca, issue

PLUGIN_SOURCE = """\
from twisted.application.service import ServiceMaker

netsuite = ServiceMaker("netsuite", "netsuite.suite.tap", "suite", "netsuite")
netsuiteEcho = ServiceMaker("netsuite echo", "netsuite.echo.tap", "echo", "netsuite-echo")
netsuiteChat = ServiceMaker("netsuite chat", "netsuite.chat.tap", "chat", "netsuite-chat")
netsuiteWeb = ServiceMaker("netsuite web", "netsuite.web.tap", "web", "netsuite-web")
"""

ALL_LISTED = {
    "netsuite": "netsuite.suite.tap",
    "netsuite-echo": "netsuite.echo.tap",
    "netsuite-chat": "netsuite.chat.tap",
    "netsuite-web": "netsuite.web.tap",
}


def levels(findings: list[Finding]) -> list[str]:
    return [f.level for f in findings]


def problems(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.level == "problem"]


def no_import(name: str) -> object:
    """A stand-in for importlib.import_module: the tap modules are not the subject here."""
    return object()


class Scratch(SynchronousTestCase):
    def setUp(self) -> None:
        scratch = tempfile.TemporaryDirectory(prefix="netsuite-doctor-test-")
        self.addCleanup(scratch.cleanup)
        self.root = Path(scratch.name)


class PluginTests(Scratch):
    def plugin_dir(self, source: str = PLUGIN_SOURCE, cache_age: float = -10) -> Path:
        """A plugin directory with the module and a cache C{cache_age} s newer than it."""
        directory = self.root / "plugins"
        directory.mkdir()
        module = directory / "netsuite_plugins.py"
        module.write_text(source)
        cache = directory / "dropin.cache"
        cache.write_bytes(b"")
        base = 1_700_000_000.0
        os.utime(module, (base, base))
        os.utime(cache, (base - cache_age, base - cache_age))
        return directory

    def test_all_listed(self) -> None:
        findings = check_plugins(
            snapshot_cache(self.plugin_dir()), ALL_LISTED, import_module=no_import
        )
        self.assertEqual(levels(findings), ["ok"] * 5)
        self.assertIn("fresh", findings[0].message)

    def test_import_error_in_plugin_module(self) -> None:
        """The exception and the line of the plugin module that raised it."""
        source = PLUGIN_SOURCE + "import netsuite_no_such_module\n"
        findings = check_plugins(snapshot_cache(self.plugin_dir(source)), {})
        (problem,) = problems(findings)
        self.assertIn("ModuleNotFoundError", problem.message)
        self.assertIn("netsuite_no_such_module", problem.message)
        self.assertIn("netsuite_plugins.py line 7", problem.message)
        for name in EXPECTED_PLUGINS:
            self.assertIn(name, problem.message)
        self.assertIn(REFRESH_COMMAND, problem.fix or "")

    def test_syntax_error_in_plugin_module(self) -> None:
        findings = check_plugins(snapshot_cache(self.plugin_dir("x = (\n")), {})
        (problem,) = problems(findings)
        self.assertIn("SyntaxError", problem.message)
        self.assertIn("line 1", problem.message)

    def test_module_missing(self) -> None:
        directory = self.root / "empty"
        directory.mkdir()
        (problem,) = problems(check_plugins(snapshot_cache(directory), {}))
        self.assertIn("does not exist", problem.message)

    def test_undeclared_plugin(self) -> None:
        """An older netsuite_plugins.py without the web plugin."""
        source = "\n".join(line for line in PLUGIN_SOURCE.splitlines() if "web" not in line)
        listed = {k: v for k, v in ALL_LISTED.items() if k != "netsuite-web"}
        findings = check_plugins(
            snapshot_cache(self.plugin_dir(source)), listed, import_module=no_import
        )
        (problem,) = problems(findings)
        self.assertIn("netsuite-web", problem.message)
        self.assertIn("does not declare", problem.message)

    def test_stale_cache(self) -> None:
        """The module is newer than the cache, and Twisted did not list the plugin."""
        listed = {k: v for k, v in ALL_LISTED.items() if k != "netsuite-chat"}
        state = snapshot_cache(self.plugin_dir(cache_age=10))
        self.assertTrue(state.stale)
        findings = check_plugins(state, listed, import_module=no_import)
        self.assertEqual(findings[0].level, "warning")
        self.assertIn("older than", findings[0].message)
        self.assertEqual(findings[0].fix, REFRESH_COMMAND)
        (problem,) = problems(findings)
        self.assertIn("netsuite-chat declared", problem.message)
        self.assertIn("is stale", problem.message)
        self.assertEqual(problem.fix, REFRESH_COMMAND)

    def test_stale_cache_unwritable_directory(self) -> None:
        """Injected: root may write anywhere, so a mode bit would not provoke it."""
        state = snapshot_cache(self.plugin_dir(cache_age=10))
        findings = check_plugins(state, {}, writable=lambda path: False, import_module=no_import)
        self.assertEqual(findings[0].level, "warning")
        self.assertIn("not writable", findings[0].message)
        self.assertIn("Unable to write to plugin cache", findings[0].message)
        (problem,) = problems(findings)
        self.assertIn("not writable", problem.message)
        self.assertIn("as the user who installed netsuite", problem.fix or "")

    def test_fresh_cache_from_an_older_copy(self) -> None:
        """Declared, cache newer than the module, yet not listed: remove the cache."""
        state = snapshot_cache(self.plugin_dir())
        (problem,) = problems(check_plugins(state, {}, import_module=no_import))
        self.assertIn("written from an older copy", problem.message)
        self.assertIn(f"rm {state.cache}", problem.fix or "")

    def test_tap_module_fails_to_import(self) -> None:
        listed = {**ALL_LISTED, "netsuite-echo": "netsuite_doctor_no_such_tap"}
        findings = check_plugins(snapshot_cache(self.plugin_dir()), listed)
        (problem,) = problems(findings)
        self.assertIn("netsuite-echo is listed but", problem.message)
        self.assertIn("netsuite_doctor_no_such_tap", problem.message)


class PidfileTests(Scratch):
    def setUp(self) -> None:
        super().setUp()
        self.pidfile = self.root / "twistd.pid"
        self.proc = self.root / "proc"

    def process(self, pid: int, *argv: str) -> None:
        (self.proc / str(pid)).mkdir(parents=True)
        (self.proc / str(pid) / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv))

    def check(self, alive: bool) -> list[Finding]:
        return check_pidfile(self.pidfile, lambda pid: alive, self.proc)

    def test_no_pidfile(self) -> None:
        self.assertEqual(levels(self.check(alive=False)), ["ok"])

    def test_stale_pid_not_running(self) -> None:
        self.pidfile.write_text("4242\n")
        (finding,) = self.check(alive=False)
        self.assertEqual(finding.level, "warning")
        self.assertIn("pid 4242 is not running", finding.message)
        self.assertEqual(finding.fix, f"rm {self.pidfile}")

    def test_pid_running_but_not_twistd(self) -> None:
        self.pidfile.write_text("4242")
        self.process(4242, "/usr/sbin/sshd", "-D")
        (finding,) = self.check(alive=True)
        self.assertEqual(finding.level, "problem")
        self.assertIn("not twistd (/usr/sbin/sshd -D)", finding.message)

    def test_twistd_running(self) -> None:
        self.pidfile.write_text("4242")
        self.process(4242, "/usr/bin/python3", "/venv/bin/twistd", "netsuite")
        (finding,) = self.check(alive=True)
        self.assertEqual(finding.level, "ok")
        self.assertIn("twistd is running as pid 4242", finding.message)

    def test_python_m_twisted(self) -> None:
        self.pidfile.write_text("7")
        self.process(7, "python3", "-m", "twisted", "netsuite")
        self.assertEqual(levels(self.check(alive=True)), ["ok"])

    def test_garbage(self) -> None:
        self.pidfile.write_text("hello")
        (finding,) = self.check(alive=True)
        self.assertEqual(finding.level, "problem")
        self.assertIn("holds no pid", finding.message)


class CertificateTests(Scratch):
    def setUp(self) -> None:
        super().setUp()
        self.ca = create_ca()
        self.leaf = issue(self.ca, ["localhost", "127.0.0.1"])
        self.cert, self.key = self.root / "leaf.pem", self.root / "leaf.key"
        self.leaf.write(self.cert, self.key)
        self.ca_path = self.root / "ca.pem"
        self.ca_path.write_bytes(self.ca.cert_pem)

    def test_healthy(self) -> None:
        findings = check_certificates([CertSpec(self.cert, self.key)], [self.ca_path])
        self.assertEqual(levels(findings), ["ok"] * 5)
        messages = " | ".join(f.message for f in findings)
        self.assertIn("matches", messages)
        self.assertIn("chains to", messages)
        self.assertIn("names: localhost, 127.0.0.1", messages)

    def test_expired(self) -> None:
        later = self.leaf.cert.not_valid_after_utc + datetime.timedelta(days=3)
        findings = check_certificates([CertSpec(self.cert, self.key)], now=later)
        (problem,) = problems(findings)
        self.assertIn("expired on", problem.message)
        self.assertIn("3 days ago", problem.message)

    def test_expires_soon(self) -> None:
        soon = self.leaf.cert.not_valid_after_utc - datetime.timedelta(days=10)
        findings = check_certificates([CertSpec(self.cert, self.key)], now=soon)
        self.assertEqual(levels(findings), ["ok", "ok", "warning"])
        self.assertIn("10 days left", findings[-1].message)

    def test_key_mismatch(self) -> None:
        other = self.root / "other.key"
        other.write_bytes(issue(self.ca, ["other"]).key_pem)
        (problem,) = problems(check_certificates([CertSpec(self.cert, other)]))
        self.assertIn("does not match", problem.message)
        self.assertTrue(problem.check.endswith("leaf.pem"))

    def test_wrong_chain(self) -> None:
        stranger = self.root / "stranger.pem"
        stranger.write_bytes(create_ca("another CA").cert_pem)
        (problem,) = problems(check_certificates([CertSpec(self.cert, self.key)], [stranger]))
        self.assertIn("does not chain", problem.message)

    def test_unreadable_and_not_pem(self) -> None:
        junk = self.root / "junk.pem"
        junk.write_text("not a certificate")
        findings = check_certificates([CertSpec(self.root / "missing.pem"), CertSpec(junk)])
        self.assertEqual(levels(findings), ["problem", "problem"])
        self.assertIn("cannot read", findings[0].message)
        self.assertIn("no PEM certificate", findings[1].message)

    def test_key_in_cert_file(self) -> None:
        both = self.root / "both.pem"
        self.leaf.write(both)
        findings = check_certificates([CertSpec(both)])
        self.assertIn(f"key {both} matches", findings[0].message)


PROC_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5555 1
   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000        0 6666 1
"""
PROC_TCP6 = """\
  sl  local_address                         remote_address                        st tx_queue
   0: 00000000000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  0 0 7777 1
"""  # noqa: E501


class PortTests(Scratch):
    def setUp(self) -> None:
        super().setUp()
        self.proc = self.root / "proc"
        (self.proc / "net").mkdir(parents=True)
        (self.proc / "net" / "tcp").write_text(PROC_TCP)
        (self.proc / "net" / "tcp6").write_text(PROC_TCP6)
        fd = self.proc / "321" / "fd"
        fd.mkdir(parents=True)
        os.symlink("socket:[5555]", fd / "3")
        os.symlink("/dev/null", fd / "0")
        (self.proc / "321" / "comm").write_text("twistd\n")

    def test_parse_port(self) -> None:
        self.assertEqual(parse_port("8080"), PortSpec(8080))
        self.assertEqual(parse_port("127.0.0.1:7/udp"), PortSpec(7, "127.0.0.1", True))
        self.assertEqual(parse_port("[::1]:443"), PortSpec(443, "::1"))
        self.assertEqual(str(parse_port("[::1]:443")), "[::1]:443/tcp")
        for bad in ("0", "70000", "x", "1.2.3:4", "[::1]443", "80/sctp"):
            self.assertRaises(ValueError, parse_port, bad)

    def test_parse_proc_net(self) -> None:
        sockets = parse_proc_net(PROC_TCP) + parse_proc_net(PROC_TCP6)
        self.assertEqual(
            [(s.address, s.port, s.state, s.inode) for s in sockets],
            [("127.0.0.1", 8080, 10, 5555), ("127.0.0.1", 8080, 1, 6666), ("::1", 8081, 10, 7777)],
        )

    def test_held_by_a_process(self) -> None:
        """The listening socket's inode, found among pid 321's descriptors."""
        in_use = OSError(errno.EADDRINUSE, "Address already in use")
        (finding,) = check_ports([PortSpec(8080)], lambda spec: in_use, self.proc)
        self.assertEqual(finding.level, "problem")
        self.assertEqual(finding.check, "port *:8080/tcp")
        self.assertIn("in use by pid 321 (twistd) on 127.0.0.1", finding.message)

    def test_held_by_an_unknown_process(self) -> None:
        in_use = OSError(errno.EADDRINUSE, "Address already in use")
        (finding,) = check_ports([parse_port("[::1]:8081")], lambda spec: in_use, self.proc)
        self.assertIn("in use by an unknown process on ::1", finding.message)
        (finding,) = check_ports([PortSpec(9)], lambda spec: in_use, self.proc)
        self.assertIn("in use by an unknown process", finding.message)

    def test_free_and_privileged(self) -> None:
        findings = check_ports(
            [PortSpec(8082), PortSpec(80)],
            lambda spec: OSError(errno.EACCES, "denied") if spec.port == 80 else None,
            self.proc,
        )
        self.assertEqual(levels(findings), ["ok", "problem"])
        self.assertIn("CAP_NET_BIND_SERVICE", findings[1].fix or "")

    def test_configured_seam(self) -> None:
        """Certificates and ports as plain lists: what a config file will hand over."""
        findings = check_configured(
            [CertSpec(self.root / "none.pem")], [PortSpec(8082)], probe=lambda spec: None
        )
        self.assertEqual(levels(findings), ["problem", "ok"])


class CommandTests(Scratch):
    def test_ca_hint(self) -> None:
        path = self.root / "ca.pem"
        (finding,) = check_ca_hint(path, exists=True)
        self.assertIn(f"--ca {path}", finding.message)
        self.assertIn(f"curl --cacert {path}", finding.message)
        self.assertIn("netsuite certs init", check_ca_hint(path, exists=False)[0].message)

    def test_line(self) -> None:
        self.assertEqual(Finding("ok", "pidfile", "none").line(), "ok pidfile: none")
        self.assertEqual(
            Finding("problem", "port *:7/tcp", "in use", "stop it").line(),
            "problem port *:7/tcp: in use -- fix: stop it",
        )

    def args(self, *argv: str) -> argparse.Namespace:
        return build_parser().parse_args(["doctor", *argv])

    def test_registered(self) -> None:
        args = self.args("--port", "127.0.0.1:80/udp", "--cert", "a.pem", "--cert", "b.pem")
        self.assertEqual(args._command, _doctor)
        self.assertEqual(args.port, [PortSpec(80, "127.0.0.1", True)])
        self.assertEqual(args.cert, [Path("a.pem"), Path("b.pem")])
        self.assertEqual(args.pidfile, Path("twistd.pid"))

    def test_more_keys_than_certs(self) -> None:
        self.assertRaises(CommandLineError, _doctor.gather, self.args("--key", "a.key"))

    def test_exit_status(self) -> None:
        """1 when any finding is a problem, 0 with warnings only; one line each."""
        stdout, stderr = io.StringIO(), io.StringIO()
        self.patch(sys, "stdout", stdout)
        self.patch(sys, "stderr", stderr)
        warning = [Finding("ok", "a", "fine"), Finding("warning", "b", "hm", "do x")]
        self.patch(_doctor, "gather", lambda args: warning)
        self.assertEqual(_doctor.run(self.args()), 0)
        self.patch(_doctor, "gather", lambda args: [*warning, Finding("problem", "c", "bad")])
        self.assertEqual(_doctor.run(self.args()), 1)
        self.assertEqual(
            stdout.getvalue().splitlines()[-3:],
            ["ok a: fine", "warning b: hm -- fix: do x", "problem c: bad"],
        )
        self.assertIn("1 problem(s), 1 warning(s)", stderr.getvalue())


class ConfigFileTests(SynchronousTestCase):
    """C{netsuite doctor --config}: the file's problems, and the doors it opens."""

    def setUp(self) -> None:
        state = os.path.abspath(self.mktemp())  # throw-away certificates for nstls: doors
        self.patch(os, "environ", {**os.environ, "NETSUITE_STATE_DIR": state})

    def write(self, text: str) -> Path:
        path = Path(self.mktemp())
        path.write_text(text)
        return path

    def test_doors_ports_and_certificates(self) -> None:
        from netsuite.client._doctor import from_config

        path = self.write(
            '[suite]\nservices = ["echo"]\n[echo]\nlisten = ["tcp:7107:interface=127.0.0.1",'
            ' "udp:7107:interface=127.0.0.1", "nstls:7543:interface=127.0.0.1"]\n'
        )
        findings, certs, ports = from_config(path)
        self.assertEqual([f.level for f in findings], ["ok"])
        self.assertEqual(
            ports,
            [PortSpec(7107, "127.0.0.1"), PortSpec(7107, "127.0.0.1", udp=True),
             PortSpec(7543, "127.0.0.1")],
        )  # fmt: skip
        self.assertEqual(len(certs), 1)
        self.assertTrue(certs[0].cert.exists())

    def test_every_problem_of_the_file(self) -> None:
        from netsuite.client._doctor import from_config

        findings, certs, ports = from_config(self.write("[echo]\nlisten = 5\nmax_per_ipp = 3\n"))
        self.assertEqual([f.level for f in findings], ["problem", "problem"])
        self.assertIn(":2: [echo] listen: expected a list of strings", findings[0].message)
        self.assertIn("did you mean 'max_per_ip'?", findings[1].message)
        self.assertEqual((certs, ports), ([], []))
