"""The TOML config: every problem at once with its line, sections onto options, overrides."""

from __future__ import annotations

import contextlib
import io
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat import tap as chat_tap
from netsuite.echo import tap as echo_tap
from netsuite.suite import tap as suite_tap
from netsuite.testing import TLSFiles
from netsuite.twistd._config import (
    SUBSECTIONS,
    ConfigError,
    apply_tls_defaults,
    dump_toml,
    find_lines,
    load,
    option_specs,
)
from netsuite.web import tap as web_tap

SERVICES: dict[str, type[usage.Options]] = {
    "echo": echo_tap.Options,
    "chat": chat_tap.Options,
    "web": web_tap.Options,
}

BROKEN = """\
[echo]
max_per_ip = "eight"
listen = ["tcp:7107:interface=127.0.0.1"]

[chat]
histroy = 5
flood_rate = 0
listen = ["tcp:7107:interface=127.0.0.1"]

[chat.irc]
listen = ["bogus:1"]

[web]
path = "/nonexistent/netsuite-www"

[tls]
cert = "/nonexistent/netsuite.pem"

[log]
format = "xml"

[wbe]
"""


def where(errors: list[ConfigError]) -> list[tuple[int | None, str | None, str | None]]:
    return [(e.line, e.section, e.key) for e in errors]


class LoadTests(SynchronousTestCase):
    def test_every_problem_at_once(self) -> None:
        """One error per problem, each at its line, none hiding another."""
        config = load(BROKEN, "broken.toml", SERVICES)
        self.assertEqual(
            where(config.errors),
            [
                (2, "echo", "max_per_ip"),
                (6, "chat", "histroy"),
                (7, "chat", "flood_rate"),
                (8, "chat", "listen"),
                (11, "chat.irc", "listen"),
                (14, "web", "path"),
                (17, "tls", "cert"),
                (20, "log", "format"),
                (22, "wbe", None),
            ],
        )
        text = [str(e) for e in config.errors]
        self.assertEqual(
            text[0],
            "broken.toml:2: [echo] max_per_ip: expected an integer, got a string ('eight')",
        )
        self.assertEqual(
            text[1], "broken.toml:6: [chat] histroy: unknown key; did you mean 'history'?"
        )
        self.assertEqual(text[2], "broken.toml:7: [chat] flood_rate: expected more than 0, got 0")
        self.assertIn("expected one door per port", text[3])
        self.assertIn("'tcp:7107:interface=127.0.0.1' ([echo] listen)", text[3])
        self.assertIn("expected a listen description, got 'bogus:1'", text[4])
        self.assertIn("expected an existing directory", text[5])
        self.assertIn("expected a readable file", text[6])
        self.assertIn('expected "text" or "json"', text[7])
        self.assertEqual(text[8], "broken.toml:22: [wbe]: unknown section; did you mean 'web'?")

    def test_good_values(self) -> None:
        config = load(
            "[echo]\nmax_per_ip = 8\nidle_timeout = 5\nudp_deny_privileged = true\n",
            "f.toml",
            SERVICES,
        )
        self.assertEqual(config.errors, [])
        self.assertEqual(
            config.values["echo"],
            {"max-per-ip": 8, "idle-timeout": 5, "udp-deny-privileged": True},
        )

    def test_subsections(self) -> None:
        """[S.X] key is --X-key; a dotted key in [S] is the same option."""
        config = load(
            '[chat.irc]\nlisten = ["tcp:0:interface=127.0.0.1"]\n'
            '[web.api]\nclient = ["ops.example.net"]\nnick = "bot"\n'
            "[web]\nws.ping_interval = 5\n",
            "f.toml",
            SERVICES,
        )
        self.assertEqual(config.errors, [])
        self.assertEqual(config.values["chat"], {"irc-listen": ["tcp:0:interface=127.0.0.1"]})
        self.assertEqual(
            config.values["web"],
            {"api-client": ["ops.example.net"], "api-nick": "bot", "ws-ping-interval": 5},
        )

    def test_unknown_subsection_key(self) -> None:
        config = load('[chat.irc]\nlisen = ["tcp:0"]\n', "f.toml", SERVICES)
        self.assertEqual(
            [str(e) for e in config.errors],
            ["f.toml:2: [chat.irc] lisen: unknown key; did you mean 'listen'?"],
        )

    def test_syntax_error_names_its_line(self) -> None:
        config = load("[echo]\nmax_per_ip = 8\nlisten = [\n", "f.toml", SERVICES)
        self.assertEqual(len(config.errors), 1)
        self.assertIn("not valid TOML", str(config.errors[0]))
        self.assertTrue(str(config.errors[0]).startswith("f.toml:"))

    def test_stream_only_door(self) -> None:
        config = load('[web]\nlisten = ["udp:0:interface=127.0.0.1"]\n', "f.toml", SERVICES)
        self.assertEqual(where(config.errors), [(2, "web", "listen")])
        self.assertIn("stream-only", str(config.errors[0]))

    def test_port_clash_with_a_default(self) -> None:
        """A door on another service's default port is a clash too (both would bind)."""
        config = load('[web]\nlisten = ["tcp:7777:interface=127.0.0.1"]\n', "f.toml", SERVICES)
        self.assertEqual(where(config.errors), [(2, "web", "listen")])

    def test_services_left_out_do_not_clash(self) -> None:
        text = '[suite]\nservices = ["web"]\n[web]\nlisten = ["tcp:7777:interface=127.0.0.1"]\n'
        config = load(text, "f.toml", SERVICES, suite_tap.Options)
        self.assertEqual(config.errors, [])

    def test_wildcard_clashes_with_any_interface(self) -> None:
        config = load('[web]\nlisten = ["tcp:7007"]\n', "f.toml", SERVICES)
        self.assertEqual(where(config.errors), [(2, "web", "listen")])

    def test_tcp_and_udp_share_a_port(self) -> None:
        config = load("", "f.toml", SERVICES)  # echo's defaults: tcp and udp on 7007
        self.assertEqual(config.errors, [])

    def test_suite_section(self) -> None:
        config = load(
            '[suite]\nservices = ["echo", "caht"]\n', "f.toml", SERVICES, suite_tap.Options
        )
        self.assertEqual(where(config.errors), [(2, "suite", "services")])
        self.assertIn("did you mean 'chat'", str(config.errors[0]))


class LineTests(SynchronousTestCase):
    def test_find_lines(self) -> None:
        lines = find_lines('# c\n[chat]\nhistory = 1\n\n[ chat.irc ]\nlisten = []\n"a" = 1\n')
        self.assertEqual(lines[("chat", None)], 2)
        self.assertEqual(lines[("chat", "history")], 3)
        self.assertEqual(lines[("chat.irc", None)], 5)
        self.assertEqual(lines[("chat.irc", "listen")], 6)
        self.assertEqual(lines[("chat.irc", "a")], 7)


class SpecTests(SynchronousTestCase):
    def test_introspection(self) -> None:
        specs = option_specs(web_tap.Options)
        self.assertEqual(specs["max-body"].kind, "param")
        self.assertIs(specs["max-body"].coerce, int)
        self.assertEqual(specs["no-listing"].kind, "flag")
        self.assertEqual(specs["api-client"].kind, "list")
        self.assertEqual(specs["listen"].default, ["tcp:8080:interface=127.0.0.1"])
        self.assertNotIn("config", specs)
        self.assertNotIn("check", specs)
        chat = option_specs(chat_tap.Options)
        self.assertEqual(chat["irc-listen"].default, ["tcp:6667:interface=127.0.0.1"])
        self.assertEqual(chat["flood-rate"].least, 0)
        self.assertTrue(chat["flood-rate"].strict)


class TLSDefaultTests(SynchronousTestCase):
    def test_description_without_cert_gets_the_tls_section(self) -> None:
        tls = {"cert": "/c:1.pem", "key": "/k.pem", "client_ca": "/ca.pem"}
        self.assertEqual(
            apply_tls_defaults("nstls:443:verifyClient=optional", tls),
            "nstls:443:verifyClient=optional:cert=/c\\:1.pem:key=/k.pem:clientCA=/ca.pem",
        )
        self.assertEqual(
            apply_tls_defaults("nstls:443:cert=/own.pem", tls), "nstls:443:cert=/own.pem"
        )
        self.assertEqual(apply_tls_defaults("tcp:80", tls), "tcp:80")
        self.assertEqual(apply_tls_defaults("dtls:7443", {})[:9], "dtls:7443")

    def test_tls_section_serves_the_doors(self) -> None:
        files = TLSFiles(Path(self.mktemp()))
        text = (
            f'[tls]\ncert = "{files.cert_path}"\nkey = "{files.key_path}"\n'
            '[echo]\nlisten = ["nstls:0:interface=127.0.0.1"]\n'
        )
        config = load(text, "f.toml", SERVICES)
        self.assertEqual(config.errors, [])
        self.assertIn(f"cert={files.cert_path}", config.values["echo"]["listen"][0])


def run_options(options: usage.Options, arguments: list[str]) -> tuple[int | None, str, str]:
    """Parse; return (exit code or None, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            options.parseOptions(arguments)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
            if not isinstance(e.code, int):
                err.write(str(e.code))
    return code, out.getvalue(), err.getvalue()


class OptionsTests(SynchronousTestCase):
    def write(self, text: str) -> str:
        path = Path(self.mktemp())
        path.write_text(text)
        return str(path)

    def test_file_then_command_line(self) -> None:
        path = self.write(
            '[chat]\nhistory = 5\nmax_per_ip = 3\nlisten = ["tcp:0:interface=127.0.0.1"]\n'
            '[chat.irc]\nlisten = ["none"]\n'
        )
        options = chat_tap.Options()
        options.parseOptions(["--config", path, "--history", "7"])
        self.assertEqual(options["history"], 7)
        self.assertEqual(options["max-per-ip"], 3)
        self.assertEqual(options["listen"], ["tcp:0:interface=127.0.0.1"])
        self.assertEqual(options["endpoints:irc-listen"], [])

    def test_command_line_listen_replaces_the_files(self) -> None:
        path = self.write('[echo]\nlisten = ["tcp:0:interface=127.0.0.1"]\n')
        options = echo_tap.Options()
        options.parseOptions(["--listen", "udp:0:interface=127.0.0.1", "--config", path])
        self.assertEqual(options["listen"], ["udp:0:interface=127.0.0.1"])

    def test_errors_exit_before_anything(self) -> None:
        path = self.write("[echo]\nmax_per_ip = -1\nlisten = 3\n")
        code, out, err = run_options(echo_tap.Options(), ["--config", path])
        self.assertEqual(code, 1)
        self.assertEqual(
            err.splitlines(),
            [
                f"{path}:2: [echo] max_per_ip: expected at least 0, got -1",
                f"{path}:3: [echo] listen: expected a list of strings, got an integer (3)",
            ],
        )

    def test_service_own_check_names_the_line(self) -> None:
        """A check only the tap makes (web's max-headers) still points at the key."""
        path = self.write("[web]\n\nmax_headers = 0\n")
        code, _, err = run_options(web_tap.Options(), ["--config", path, "--check"])
        self.assertEqual(code, 1)
        self.assertEqual(
            err.strip(), f"{path}:3: [web] max_headers: --max-headers must be 1 or more"
        )

    def test_missing_file(self) -> None:
        code, _, err = run_options(echo_tap.Options(), ["--config", "/nonexistent/n.toml"])
        self.assertEqual(code, 1)
        self.assertIn("/nonexistent/n.toml: cannot read the config file", err)

    def test_check_prints_the_plan(self) -> None:
        path = self.write('[echo]\nmax_per_ip = 8\nlisten = ["tcp:7107:interface=127.0.0.1"]\n')
        code, out, _ = run_options(echo_tap.Options(), ["--config", path, "--check"])
        self.assertEqual(code, 0)
        self.assertIn("echo/tcp  tcp 127.0.0.1:7107  TLS off", out)
        self.assertIn("max_per_ip = 8 (default 64)", out)

    def test_without_config_unchanged(self) -> None:
        options = echo_tap.Options()
        options.parseOptions([])
        self.assertEqual(len(options["endpoints"]), 2)


class RoundTripTests(SynchronousTestCase):
    def print_config(self, options: usage.Options, arguments: list[str]) -> str:
        code, out, err = run_options(options, [*arguments, "--print-config"])
        self.assertEqual((code, err), (0, ""))
        return out

    def test_print_config_reads_back(self) -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write('[chat]\nhistory = 5\n[chat.irc]\nlisten = ["tcp:0:interface=127.0.0.1"]\n')
        self.addCleanup(Path(f.name).unlink)
        first = self.print_config(chat_tap.Options(), ["--config", f.name, "--max-line", "99"])
        data = tomllib.loads(first)
        self.assertEqual(data["chat"]["history"], 5)
        self.assertEqual(data["chat"]["max_line"], 99)
        self.assertEqual(data["chat"]["irc"]["listen"], ["tcp:0:interface=127.0.0.1"])
        again = Path(self.mktemp())
        again.write_text(first)
        self.assertEqual(self.print_config(chat_tap.Options(), ["--config", str(again)]), first)

    def test_suite_print_config_reads_back(self) -> None:
        first = self.print_config(suite_tap.Options(), ["--chat-args", "--history 9"])
        data = tomllib.loads(first)
        self.assertEqual(data["suite"]["services"], ["echo", "chat", "web"])
        self.assertEqual(data["chat"]["history"], 9)
        again = Path(self.mktemp())
        again.write_text(first)
        self.assertEqual(self.print_config(suite_tap.Options(), ["--config", str(again)]), first)

    def test_dump_toml(self) -> None:
        tables: dict[str, dict[str, Any]] = {
            "chat": {"motd": 'say "hi"\\\n\tnow é', "history": 0, "irc-listen": ["a:b", "c"]},
            "echo": {"flag": True, "rate": 1.5, "none": None},
        }
        data = tomllib.loads(dump_toml(tables))
        self.assertEqual(
            data,
            {
                "chat": {
                    "motd": 'say "hi"\\\n\tnow é',
                    "history": 0,
                    "irc": {"listen": ["a:b", "c"]},
                },
                "echo": {"flag": True, "rate": 1.5},
            },
        )
        self.assertIn("irc", SUBSECTIONS["chat"])


class SuiteTests(SynchronousTestCase):
    def test_sections_go_to_their_services(self) -> None:
        path = Path(self.mktemp())
        path.write_text(
            '[suite]\nservices = ["echo", "chat"]\n[echo]\nmax_per_ip = 4\n'
            "[chat]\nhistory = 3\nmax_line = 100\n"
        )
        options = suite_tap.Options()
        options.parseOptions(["--config", str(path), "--chat-args", "--history 6"])
        self.assertEqual(sorted(options.services), ["chat", "echo"])
        self.assertEqual(options.services["echo"]["max-per-ip"], 4)
        self.assertEqual(options.services["chat"]["history"], 6)
        self.assertEqual(options.services["chat"]["max-line"], 100)

    def test_service_usage_error_names_the_line(self) -> None:
        path = Path(self.mktemp())
        path.write_text("[web]\nmax_header_bytes = 10\n")
        code, _, err = run_options(suite_tap.Options(), ["--config", str(path)])
        self.assertEqual(code, 1)
        self.assertEqual(
            err.strip(),
            f"{path}:2: [web] max_header_bytes: --max-header-bytes must be 256 or more",
        )
