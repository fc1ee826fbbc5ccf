"""twistd netsuite: every service in one process, one hub."""

import os

from twisted.internet.testing import MemoryReactorClock
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from netsuite.suite import tap
from netsuite.twistd._service import ListenerService


def parse(*argv: str) -> tap.Options:
    options = tap.Options()
    options.reactor = MemoryReactorClock()
    options.parseOptions(list(argv))
    return options


class SuiteOptionsTests(SynchronousTestCase):
    def test_defaults_every_service(self) -> None:
        options = parse()
        self.assertEqual(set(options.services), set(tap.SERVICES))
        self.assertEqual(options.services["echo"]["listen"][0], "tcp:7007:interface=127.0.0.1")

    def test_service_args_and_no(self) -> None:
        options = parse("--no-echo", "--no-web", "--chat-args", "--max-per-ip 3 --irc-listen none")
        self.assertEqual(list(options.services), ["chat"])
        self.assertEqual(options.services["chat"]["max-per-ip"], 3)

    def test_errors_name_the_service(self) -> None:
        with self.assertRaises(usage.UsageError) as e:
            parse("--echo-args", "--max-per-ip=-1")
        self.assertIn("--echo-args: --max-per-ip must be 0 or more", str(e.exception))
        with self.assertRaises(usage.UsageError):
            parse(*[f"--no-{name}" for name in tap.SERVICES])


class TLSTwinTests(SynchronousTestCase):
    """Each door the suite opens by default has a TLS twin, unless told otherwise."""

    def setUp(self) -> None:
        state = os.path.abspath(self.mktemp())  # the development CA's throw-away certificates
        self.patch(os, "environ", {**os.environ, "NETSUITE_STATE_DIR": state})

    def labels(self, *argv: str) -> list[str]:
        root = tap.makeService(parse(*argv))
        return sorted(s.label for sub in root for s in sub if isinstance(s, ListenerService))

    def test_every_door_and_its_twin(self) -> None:
        self.assertEqual(
            self.labels(),
            ["chat/irc", "chat/irc-tls", "chat/line", "chat/line-tls", "echo/dtls",
             "echo/tcp", "echo/tls", "echo/udp", "web/http", "web/https"],
        )  # fmt: skip
        listen = parse().services["echo"]["listen"]
        self.assertEqual(listen[2:], ["nstls:7443:interface=127.0.0.1",
                                      "dtls:7443:interface=127.0.0.1"])  # fmt: skip

    def test_no_tls(self) -> None:
        self.assertEqual(
            self.labels("--no-tls"), ["chat/irc", "chat/line", "echo/tcp", "echo/udp", "web/http"]
        )

    def test_no_tls_in_the_config(self) -> None:
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("[suite]\nno_tls = true\n")
        self.assertEqual(len(self.labels("--config", path)), 5)

    def test_a_listen_given_has_no_twin(self) -> None:
        labels = self.labels("--echo-args", "--listen tcp:0:interface=127.0.0.1",
                             "--chat-args", "--irc-listen tcp:0:interface=127.0.0.1")  # fmt: skip
        self.assertEqual(
            labels,
            ["chat/irc", "chat/line", "chat/line-tls", "echo/tcp", "web/http", "web/https"],
        )

    def test_web_with_its_own_certificate(self) -> None:
        """--tls-cert makes the web's TLS door; the suite adds no second one on 8443."""
        from netsuite.tls._devca import DevCA

        cert, key = DevCA().throwaway()
        options = parse("--web-args", f"--tls-cert {cert} --tls-key {key}")
        tls = [d for d in options.services["web"]["listen"] if d.startswith("nstls:")]
        self.assertEqual(len(tls), 1)


class SuiteServiceTests(SynchronousTestCase):
    def test_one_hub_for_every_chat_door(self) -> None:
        options = parse("--no-tls")
        root = tap.makeService(options)
        listeners = [s for sub in root for s in sub if isinstance(s, ListenerService)]
        labels = sorted(s.label for s in listeners)
        self.assertEqual(labels, ["chat/irc", "chat/line", "echo/tcp", "echo/udp", "web/http"])
        hubs = {id(s.target.hub) for s in listeners if s.label.startswith("chat/")}
        self.assertEqual(hubs, {id(root.hub)})
        web = next(s for s in listeners if s.label == "web/http")
        self.assertIs(web.target.hub, root.hub)

    def test_irc_over_websocket_asks_what_the_irc_door_asks(self) -> None:
        """The web's /irc takes the chat's PASS, server name and MOTD: no way around them."""
        args = "--password sesame --server-name irc.example --motd hello"
        root = tap.makeService(parse("--chat-args", args))
        web = next(s for s in root if s.name == "netsuite-web")
        settings = web.irc_sockets.settings
        self.assertEqual((settings.password, settings.server_name, settings.motd),
                         ("sesame", "irc.example", "hello"))  # fmt: skip
        alone = tap.makeService(parse("--no-chat"))  # the web's own hub, as /chat/ws has
        own = next(s for s in alone if s.name == "netsuite-web").irc_sockets.settings
        self.assertEqual((own.password, own.server_name), (None, "netsuite"))

    def test_one_stats_registry(self) -> None:
        root = tap.makeService(parse())
        self.assertEqual(
            sorted(s.name for s in root.stats),
            ["chat", "chat/irc-ws", "chat/ws", "echo", "echo/udp", "web"],
        )
        snapshot = root.stats.snapshot()
        self.assertEqual(snapshot["services"]["chat"]["connections"]["open"], 0)
