"""twistd netsuite-web: options and service, with no running reactor."""

from __future__ import annotations

from pathlib import Path

from twisted.internet.testing import MemoryReactorClock
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

import netsuite.web
from netsuite.base._metrics import Counters
from netsuite.chat._hub import Hub
from netsuite.testing import TLSFiles
from netsuite.web import StatsRegistry, tap
from netsuite.web._site import WebSite


def parse(*argv: str, reactor: MemoryReactorClock | None = None) -> tap.Options:
    options = tap.Options()
    options.reactor = reactor or MemoryReactorClock()
    options.parseOptions(list(argv))
    return options


class OptionsTests(SynchronousTestCase):
    def test_defaults(self) -> None:
        options = parse()
        self.assertEqual(options["listen"], ["tcp:8080:interface=127.0.0.1"])
        config = options["config"]
        self.assertIsNone(config.static_root)
        self.assertIsNone(config.api_token)
        limits = config.limits
        self.assertEqual((limits.max_body, limits.max_headers, limits.max_header_bytes,
                          limits.header_timeout, limits.body_timeout, limits.idle_timeout),
                         (1 << 20, 100, 16384, 10.0, 60.0, 60.0))  # fmt: skip
        self.assertTrue(config.access_log and config.listings)

    def test_help_shows_every_default(self) -> None:
        text = str(tap.Options())
        for option, default in (("max-body", "1048576"), ("header-timeout", "10.0"),
                                ("idle-timeout", "60.0"), ("max-headers", "100"),
                                ("max-header-bytes", "16384"), ("cache-size", "67108864"),
                                ("hsts-max-age", "31536000"), ("gzip-min", "1024")):  # fmt: skip
            flat = " ".join(text.split())
            self.assertRegex(flat, rf"--{option}= [^\[]*\[default: {default}\]")
        self.assertIn("nstls:PORT", text)

    def test_tls_gets_h2_by_default(self) -> None:
        files = TLSFiles(Path(self.mktemp()))
        options = parse("--listen", files.nstls(0))
        self.assertTrue(options["listen"][0].endswith(f":alpn={tap.DEFAULT_ALPN}"))
        self.assertIn("h2", tap.DEFAULT_ALPN)
        endpoint = options["endpoints"][0][1]
        self.assertEqual(endpoint.settings.alpn, ("h2", "http/1.1"))

    def test_explicit_alpn_is_kept(self) -> None:
        files = TLSFiles(Path(self.mktemp()))
        options = parse("--listen", files.nstls(0, alpn="http/1.1"))
        self.assertEqual(options["endpoints"][0][1].settings.alpn, ("http/1.1",))

    def test_default_alpn_leaves_other_descriptions_alone(self) -> None:
        for description in (
            "tcp:80:interface=127.0.0.1",
            "unix:/tmp/x:mode=600",
            "ssl:443:privateKey=k",
        ):
            self.assertEqual(tap.with_default_alpn(description), description)

    def test_tls_cert_adds_the_8443_listener(self) -> None:
        files = TLSFiles(Path(self.mktemp()))
        options = parse("--tls-cert", files.cert_path, "--tls-key", files.key_path)
        self.assertEqual(options["listen"][0], "tcp:8080:interface=127.0.0.1")
        tls = options["listen"][1]
        self.assertTrue(tls.startswith("nstls:8443:interface=127.0.0.1:cert="), tls)
        self.assertIn(f"alpn={tap.DEFAULT_ALPN}", tls)
        self.assertEqual(len(options["endpoints"]), 2)

    def test_options_build_the_config(self) -> None:
        root = Path(self.mktemp())
        root.mkdir()
        token_file = root / "token"
        token_file.write_text("file-token-0123456789\n")
        options = parse(
            "--path", str(root), "--cors", "https://a.example", "--cors", "*",
            "--add-header", "X-Frame-Options: DENY", "--api-token-file", str(token_file),
            "--max-body", "10", "--no-listing", "--no-access-log", "--hsts-max-age", "0",
        )  # fmt: skip
        config = options["config"]
        self.assertEqual(config.static_root, str(root))
        self.assertEqual(config.cors_origins, ("https://a.example", "*"))
        self.assertEqual(config.extra_headers, (("X-Frame-Options", "DENY"),))
        self.assertEqual(config.api_token, "file-token-0123456789")
        self.assertEqual(config.limits.max_body, 10)
        self.assertFalse(config.listings or config.access_log)
        self.assertEqual(config.hsts_max_age, 0)

    def test_bad_values_name_the_option(self) -> None:
        for argv, message in (
            (["--path", "/nonexistent/dir"], "--path '/nonexistent/dir'"),
            (["--cors", "evil"], "--cors 'evil'"),
            (["--add-header", "Bad Name: x"], "--add-header"),
            (["--api-token", "short"], "at least 16 characters"),
            (["--api-token", "a" * 20, "--api-token-file", "/x"], "not both"),
            (["--api-token-file", "/nonexistent"], "--api-token-file"),
            (["--max-body", "-1"], "--max-body must be 0 or more"),
            (["--max-headers", "0"], "--max-headers"),
            (["--header-timeout", "-1"], "--header-timeout"),
            (["--api-nick", "bad nick"], "--api-nick"),
            (["--tls-key", "k.pem"], "--tls-key needs --tls-cert"),
            (["--listen", "udp:1"], "stream-only"),
        ):
            with self.assertRaises(usage.UsageError, msg=argv) as e:
                parse(*argv)
            self.assertIn(message, str(e.exception))


class ServiceTests(SynchronousTestCase):
    def test_make_service_listens_with_one_site(self) -> None:
        reactor = MemoryReactorClock()
        files = TLSFiles(Path(self.mktemp()))
        options = parse("--listen", "tcp:0:interface=127.0.0.1", "--listen", files.nstls(0),
                        reactor=reactor)  # fmt: skip
        top = tap.makeService(options)
        labels = [s.label for s in top]
        self.assertEqual(labels, ["web/http", "web/https"])
        top.privilegedStartService()
        top.startService()
        factories = [f for _, f, *_ in reactor.tcpServers + reactor.sslServers]
        self.assertEqual(len(factories), 2)
        sites = [getattr(f, "wrappedFactory", f) for f in factories]  # TLS wraps the site
        self.assertIsInstance(sites[0], WebSite)
        self.assertIs(sites[1], sites[0])
        site = sites[0]
        self.assertEqual(site.gate.max_total, 1024)
        top.stopService()

    def test_shared_hub_and_stats(self) -> None:
        stats = StatsRegistry()
        stats.register(Counters("echo"))
        hub = Hub(clock=lambda: 0.0)
        options = parse("--listen", "tcp:0:interface=127.0.0.1")
        top = tap.makeService(options, hub=hub, stats=stats)
        self.assertIs(top.site.stats, stats)
        self.assertIs(top.site.hub, hub)
        self.assertEqual([s.name for s in stats], ["chat/irc-ws", "chat/ws", "echo", "web"])

    def test_stop_drains(self) -> None:
        options = parse("--listen", "tcp:0:interface=127.0.0.1", "--drain-timeout", "2")
        top = tap.makeService(options)
        top.startService()
        self.assertEqual(top.drain_timeout, 2.0)
        done: list[object] = []
        top.stopService().addCallback(done.append)
        self.assertEqual(len(done), 1)


class ExportTests(SynchronousTestCase):
    def test_exports(self) -> None:
        self.assertEqual(
            sorted(netsuite.web.__all__),
            ["CorsPolicy", "ServiceStats", "StaticFiles", "StatsRegistry", "WebConfig",
             "WebLimits", "WebRoot", "WebSite", "build_site"],
        )  # fmt: skip
        for name in netsuite.web.__all__:
            self.assertTrue(hasattr(netsuite.web, name), name)
