"""twistd netsuite: every service in one process, one hub."""

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


class SuiteServiceTests(SynchronousTestCase):
    def test_one_hub_for_every_chat_door(self) -> None:
        options = parse()
        root = tap.makeService(options)
        listeners = [s for sub in root for s in sub if isinstance(s, ListenerService)]
        labels = sorted(s.label for s in listeners)
        self.assertEqual(labels, ["chat/irc", "chat/line", "echo/tcp", "echo/udp", "web/http"])
        hubs = {id(s.target.hub) for s in listeners if s.label.startswith("chat/")}
        self.assertEqual(hubs, {id(root.hub)})
        web = next(s for s in listeners if s.label == "web/http")
        self.assertIs(web.target.hub, root.hub)

    def test_one_stats_registry(self) -> None:
        root = tap.makeService(parse())
        self.assertEqual(
            sorted(s.name for s in root.stats), ["chat", "chat/ws", "echo", "echo/udp", "web"]
        )
        snapshot = root.stats.snapshot()
        self.assertEqual(snapshot["services"]["chat"]["connections"]["open"], 0)
