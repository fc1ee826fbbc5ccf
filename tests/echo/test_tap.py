"""twistd netsuite-echo: options and service, with no running reactor."""

from pathlib import Path

from twisted.internet.testing import MemoryReactorClock
from twisted.logger import capturedLogs
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from netsuite.echo import tap
from netsuite.echo._udp import UDPEcho
from netsuite.limits import _defaults as limits
from netsuite.testing import TLSFiles
from netsuite.twistd._config import load
from netsuite.twistd._service import ListenError


class Reactor(MemoryReactorClock):
    """MemoryReactorClock with the UDP half it lacks."""

    def __init__(self) -> None:
        super().__init__()
        self.udpPorts_: list[tuple] = []

    def listenUDP(self, port, protocol, interface="127.0.0.1", maxPacketSize=8192):  # type: ignore[no-untyped-def]
        self.udpPorts_.append((port, protocol, interface, maxPacketSize))
        return _FakeUDPPort(port, interface)


class _FakeUDPPort:
    def __init__(self, port: int, interface: str) -> None:
        self.port, self.interface = port, interface

    def getHost(self):  # type: ignore[no-untyped-def]
        from twisted.internet.address import IPv4Address

        return IPv4Address("UDP", self.interface, self.port)

    def stopListening(self) -> None:
        pass


def parse(*argv: str, reactor=None) -> tap.Options:  # type: ignore[no-untyped-def]
    options = tap.Options()
    options.reactor = reactor or Reactor()
    options.parseOptions(list(argv))
    return options


class OptionsTests(SynchronousTestCase):
    def test_defaults_loopback_only(self) -> None:
        """A bare start listens on 127.0.0.1:7007, TCP and UDP, and nowhere else."""
        options = parse()
        self.assertEqual(
            options["listen"], ["tcp:7007:interface=127.0.0.1", "udp:7007:interface=127.0.0.1"]
        )
        self.assertEqual(
            (options["max-connections"], options["max-per-ip"], options["idle-timeout"]),
            (1024, 64, 300.0),
        )

    def test_listen_repeatable(self) -> None:
        options = parse(
            "--listen",
            "tcp:1:interface=127.0.0.1",
            "--listen",
            "udp:2:interface=127.0.0.1",
            "--listen",
            "unix:/tmp/x",
        )
        self.assertEqual(
            [d for d, _, _ in options["endpoints"]],
            ["tcp:1:interface=127.0.0.1", "udp:2:interface=127.0.0.1", "unix:/tmp/x"],
        )
        self.assertEqual([g for _, _, g in options["endpoints"]], [False, True, False])

    def test_bad_values_name_the_option(self) -> None:
        for argv, message in (
            (["--listen", "tcp:x"], "--listen 'tcp:x'"),
            (["--listen", "nstls:1"], "needs cert="),
            (["--max-per-ip", "-1"], "--max-per-ip must be 0 or more"),
            (["--idle-timeout", "-5"], "--idle-timeout"),
            (["--udp-deny-ports", "7,x"], "--udp-deny-ports '7,x'"),
            (["--udp-rate", "0"], "--udp-rate must be more than 0"),
        ):
            with self.assertRaises(usage.UsageError) as e:
                parse(*argv)
            self.assertIn(message, str(e.exception))

    def test_help_documents_grammar(self) -> None:
        text = tap.Options().getUsage()
        for word in (
            "nstls:PORT",
            "verifyClient",
            "udp:PORT",
            "type=stream|dgram",
            "[default: 64]",
        ):
            self.assertIn(word, text)


class ServiceTests(SynchronousTestCase):
    def test_listeners(self) -> None:
        """Stream descriptions get the TCP echo factory, datagram ones the UDP echo."""
        reactor = Reactor()
        options = parse(
            "--listen",
            "tcp:0:interface=127.0.0.1",
            "--listen",
            "udp:0:interface=127.0.0.1",
            reactor=reactor,
        )
        service = tap.makeService(options)
        with capturedLogs() as events:
            service.privilegedStartService()
            service.startService()
        (_port, factory, _, interface) = reactor.tcpServers[0]
        self.assertIs(factory, service.factory)
        self.assertEqual(interface, "127.0.0.1")
        (_uport, proto, _, size) = reactor.udpPorts_[0]
        self.assertIsInstance(proto, UDPEcho)
        self.assertEqual(size, 65535)
        said = [e.get("address") for e in events if "address" in e]
        self.assertEqual(said[1], "udp 127.0.0.1:0")
        # MemoryReactor's fake TCP port answers getHost() with the wildcard address
        # whatever the interface (the listener's interface is checked above).
        self.assertRegex(said[0], r"^tcp [0-9.]+:0$")
        service.stopService()

    def test_limits_applied(self) -> None:
        options = parse("--max-connections", "5", "--max-per-ip", "2", "--idle-timeout", "9")
        factory = tap.makeService(options).factory
        self.assertEqual((factory.gate.max_total, factory.gate.max_per_peer), (5, 2))
        self.assertEqual(factory.idle_timeout, 9)

    def test_tls_label_and_certificate_logged(self) -> None:
        files = TLSFiles(Path(self.mktemp()))
        options = parse("--listen", files.nstls(0))
        service = tap.makeService(options)
        with capturedLogs() as events:
            service.privilegedStartService()
        labels = {e.get("label") for e in events}
        self.assertEqual(labels, {"echo/tls"})
        summary = next(e for e in events if "summary" in e)
        self.assertIn("sha256=", summary["summary"])
        self.assertIn("expires=", summary["summary"])

    def test_bind_failure_stops_with_message(self) -> None:
        """A port that cannot be bound stops start-up with the description in the message."""
        from twisted.internet.testing import RaisingMemoryReactor

        class Failing(RaisingMemoryReactor):
            def seconds(self) -> float:
                return 0.0

        options = parse(
            "--listen", "tcp:7007:interface=127.0.0.1", reactor=Failing(OSError("Address in use"))
        )
        service = tap.makeService(options)
        with self.assertRaises(ListenError) as e:
            service.privilegedStartService()
        self.assertIn(
            "echo/tcp: cannot listen on 'tcp:7007:interface=127.0.0.1'", str(e.exception)
        )


class UDPBudgetOptionsTests(SynchronousTestCase):
    """The UDP budgets and loop damping: options, config keys, the guard they build."""

    NEW = {
        "udp-source-packets": ("source_packets", 7.0),
        "udp-source-bytes": ("source_bytes", 70000.0),
        "udp-global-packets": ("global_packets", 700.0),
        "udp-global-bytes": ("global_bytes", 7000000.0),
        "udp-loop-rate": ("loop_rate", 2.0),
        "udp-loop-quiet": ("loop_quiet", 9.0),
    }

    def test_defaults(self) -> None:
        options = parse()
        self.assertEqual(options["udp-source-packets"], limits.UDP_SOURCE_PACKETS)
        self.assertEqual(options["udp-source-bytes"], limits.UDP_SOURCE_BYTES)
        self.assertEqual(options["udp-global-packets"], limits.UDP_GLOBAL_PACKETS)
        self.assertEqual(options["udp-global-bytes"], limits.UDP_GLOBAL_BYTES)
        self.assertEqual(options["udp-loop-rate"], limits.UDP_LOOP_RATE)
        self.assertEqual(options["udp-loop-quiet"], limits.UDP_LOOP_QUIET)

    def test_applied_to_the_guard(self) -> None:
        argv = [f"--{name}={value}" for name, (_, value) in self.NEW.items()]
        guard = tap.makeService(parse(*argv)).guard
        self.assertEqual(guard.flows.packets, 7.0)
        self.assertEqual(guard.flows.octets, 70000.0)
        self.assertEqual(guard.global_packets.rate, 700.0)
        self.assertEqual(guard.global_bytes.rate, 7000000.0)
        self.assertEqual(guard.flows.repeats, 2.0)
        self.assertEqual(guard.loop_quiet, 9.0)
        # And the guard enforces them: 7 datagrams from one address:port, not 8.
        answered = [guard.check("192.0.2.1", 4000, 1, 0.0) for _ in range(8)]
        self.assertEqual(answered, [None] * 7 + ["source_packets"])

    def test_bounds(self) -> None:
        """Each must be more than 0 (a rate of 0 would be a switch, not a budget)."""
        for name in self.NEW:
            with self.assertRaises(usage.UsageError) as e:
                parse(f"--{name}", "0")
            self.assertIn(f"--{name} must be more than 0", str(e.exception))
            parse(f"--{name}", "0.5")

    def test_config_keys(self) -> None:
        """Each option is a key of [echo] (config keys come from the options)."""
        text = "[echo]\n" + "".join(
            f"{name.replace('-', '_')} = {value}\n" for name, (_, value) in self.NEW.items()
        )
        config = load(text, "f.toml", {"echo": tap.Options})
        self.assertEqual(config.errors, [])
        self.assertEqual(config.values["echo"], {n: v for n, (_, v) in self.NEW.items()})
        bad = load("[echo]\nudp_loop_rate = 0\n", "f.toml", {"echo": tap.Options})
        self.assertEqual(len(bad.errors), 1)
        self.assertIn("udp_loop_rate", str(bad.errors[0]))
