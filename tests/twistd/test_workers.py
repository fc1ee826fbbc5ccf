"""
C{--workers N}: the restart backoff, the worker's view of its environment, the command a
worker is started with, the supervisor on a clock, the parent's services and options.
The supervisor spawns through an injected C{spawn}: here a recorder of fake processes
(the real processes are in tests/e2e/test_workers.py).
"""

from __future__ import annotations

import json
import os
import socket
import sys
from typing import Any

from twisted.internet import error
from twisted.internet.endpoints import AdoptedStreamServerEndpoint
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import capturedLogs
from twisted.python import usage
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from netsuite.echo import tap as echo_tap
from netsuite.suite import tap as suite_tap
from netsuite.twistd._endpoints import AdoptedDatagramEndpoint, UDPServerEndpoint
from netsuite.twistd._options import ServiceOptions
from netsuite.twistd._workers import (
    COUNT_ENV,
    FDS_ENV,
    STATS_ENV,
    WORKER_ENV,
    AdoptedDTLSEndpoint,
    Backoff,
    WorkerSupervisor,
    inherited_endpoint,
    listen_key,
    worker_environ,
    worker_index,
)
from netsuite.twistd._workers_service import (
    DRAIN_GRACE,
    SharedSocket,
    WorkersService,
    supervise,
    worker_command,
)


class BackoffTests(SynchronousTestCase):
    def test_doubles_from_initial_up_to_the_cap(self) -> None:
        backoff = Backoff(initial=1.0, cap=30.0)
        self.assertEqual([backoff.delay(n) for n in range(1, 8)], [1, 2, 4, 8, 16, 30, 30])

    def test_cap_at_n_and_n_plus_one(self) -> None:
        """The cap is reached exactly (16 = cap at the 5th exit), never passed."""
        backoff = Backoff(initial=1.0, cap=16.0)
        self.assertEqual(backoff.delay(5), 16.0)
        self.assertEqual(backoff.delay(6), 16.0)
        self.assertEqual(backoff.delay(4), 8.0)


class EnvironmentTests(SynchronousTestCase):
    def test_worker_index(self) -> None:
        self.assertIsNone(worker_index({}))
        self.assertEqual(worker_index({WORKER_ENV: "3"}), 3)

    def test_parent_only_names_are_not_inherited(self) -> None:
        env = {"PATH": "/bin", "LISTEN_FDS": "1", "LISTEN_PID": "9", "NOTIFY_SOCKET": "/x"}
        self.assertEqual(worker_environ(env), {"PATH": "/bin"})

    def test_listen_key_keeps_the_suites_services_apart(self) -> None:
        self.assertEqual(listen_key("echo", "listen"), "echo:listen")
        self.assertEqual(listen_key("chat", "irc-listen"), "chat:irc-listen")
        self.assertNotEqual(listen_key("web", "listen"), listen_key("echo", "listen"))


def fds_env(entries: dict[str, list[list[Any]]], index: int = 0) -> dict[str, str]:
    return {FDS_ENV: json.dumps(entries), WORKER_ENV: str(index)}


class InheritedEndpointTests(SynchronousTestCase):
    """What a worker listens on: the parent's descriptor, adopted."""

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()

    def test_no_worker_keeps_the_endpoint(self) -> None:
        endpoint = object()
        self.assertIs(inherited_endpoint(self.reactor, "echo:listen", 0, endpoint, False, {}),
                      endpoint)  # fmt: skip

    def test_stream_is_adopted(self) -> None:
        env = fds_env({"echo:listen": [[7, int(socket.AF_INET), None], [9, 10, None]]})
        got = inherited_endpoint(self.reactor, "echo:listen", 1, object(), False, env)
        self.assertIsInstance(got, AdoptedStreamServerEndpoint)
        self.assertEqual((got.fileno, got.addressFamily), (9, socket.AF_INET6))

    def test_datagram_keeps_its_packet_size(self) -> None:
        env = fds_env({"echo:listen": [[5, int(socket.AF_INET), None]]})
        udp = UDPServerEndpoint(self.reactor, 0, "127.0.0.1", 1500)
        got = inherited_endpoint(self.reactor, "echo:listen", 0, udp, True, env)
        self.assertIsInstance(got, AdoptedDatagramEndpoint)
        self.assertEqual((got.fileno, got.max_packet_size), (5, 1500))

    def test_systemd_datagram_without_endpoint(self) -> None:
        """A worker parses no systemd: description: the socket is the parent's."""
        env = fds_env({"echo:listen": [[4, int(socket.AF_INET), None]]})
        got = inherited_endpoint(self.reactor, "echo:listen", 0, None, True, env)
        self.assertIsInstance(got, AdoptedDatagramEndpoint)

    def test_nstls_keeps_its_tls_and_adopts_its_tcp(self) -> None:
        class NSTLS:
            tls = "the context"
            _tcp: Any = "bind me"

        env = fds_env({"echo:listen": [[8, int(socket.AF_INET), None]]})
        endpoint = NSTLS()
        got = inherited_endpoint(self.reactor, "echo:listen", 0, endpoint, False, env)
        self.assertIs(got, endpoint)
        self.assertIsInstance(endpoint._tcp, AdoptedStreamServerEndpoint)
        self.assertEqual(endpoint._tcp.fileno, 8)

    def test_dtls_is_wrapped(self) -> None:
        class DTLS:
            certificates = ["c"]

            def wrap(self, protocol: Any) -> Any:
                return protocol

        env = fds_env({"echo:listen": [[6, int(socket.AF_INET), 0]]})
        got = inherited_endpoint(self.reactor, "echo:listen", 0, DTLS(), True, env)
        self.assertIsInstance(got, AdoptedDTLSEndpoint)
        self.assertEqual(got.certificates, ["c"])  # the DTLS endpoint's, for the log

    def test_another_workers_socket_is_closed_and_skipped(self) -> None:
        """A dtls: socket is worker 0's: worker 1 closes its copy and does not listen."""
        read, write = os.pipe()
        self.addCleanup(os.close, write)
        env = fds_env({"echo:listen": [[read, int(socket.AF_INET), 0]]}, index=1)
        self.assertIsNone(inherited_endpoint(self.reactor, "echo:listen", 0, None, True, env))
        with self.assertRaises(OSError):
            os.fstat(read)  # closed


class Epoll:
    """Stands for a reactor whose type lives where twistd's epoll reactor does."""


Epoll.__module__ = "twisted.internet.epollreactor"


class CommandTests(SynchronousTestCase):
    def test_same_plugin_arguments_and_reactor(self) -> None:
        command = worker_command("netsuite-echo", ["--listen", "tcp:0"], Epoll())
        self.assertEqual(command[:3], [sys.executable, "-m", "netsuite.twistd._worker"])
        self.assertIn("--nodaemon", command)
        self.assertIn("--pidfile=", command)
        self.assertEqual(command[command.index("--reactor") + 1], "epoll")
        self.assertEqual(command[-3:], ["netsuite-echo", "--listen", "tcp:0"])

    def test_unknown_reactor_is_not_named(self) -> None:
        self.assertNotIn("--reactor", worker_command("netsuite-web", [], object()))


class FakeProcess:
    """A spawned worker: its pid and the signals it was sent."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.signals: list[str] = []
        self.ended = False

    def signalProcess(self, name: str) -> None:
        if self.ended:
            raise error.ProcessExitedAlready()
        self.signals.append(name)


class Spawner:
    """C{reactor.spawnProcess}'s shape: records each call, returns a L{FakeProcess}."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, proto: Any, executable: str, args: list[str], env: Any,
                 childFDs: Any) -> FakeProcess:  # fmt: skip
        process = FakeProcess(1000 + len(self.calls))
        self.calls.append({"protocol": proto, "args": args, "env": env, "fds": childFDs,
                           "process": process})  # fmt: skip
        return process

    def end(self, call: int, reason: Exception) -> None:
        """The call-th spawned process exits with C{reason}."""
        entry = self.calls[call]
        entry["process"].ended = True
        entry["protocol"].processEnded(Failure(reason))


def killed() -> Exception:
    return error.ProcessTerminated(signal=9)


class SupervisorTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.spawn = Spawner()
        self.supervisor = WorkerSupervisor(
            clock=self.clock, spawn=self.spawn, command=["python", "-m", "x"], count=2,
            child_fds={5: 5}, environ={"A": "1"}, backoff=Backoff(1.0, 8.0, 30.0),
        )  # fmt: skip

    def test_starts_count_workers_numbered(self) -> None:
        self.supervisor.start()
        self.assertEqual([c["env"][WORKER_ENV] for c in self.spawn.calls], ["0", "1"])
        self.assertEqual(self.spawn.calls[0]["env"]["A"], "1")
        self.assertEqual(self.spawn.calls[0]["fds"][5], 5)
        self.assertEqual(self.supervisor.running(), [0, 1])

    def test_restart_after_backoff_doubling_and_logged(self) -> None:
        self.supervisor.start()
        with capturedLogs() as events:
            self.spawn.end(1, killed())
        self.assertEqual(self.supervisor.running(), [0])
        text = [e["log_format"].format(**e) for e in events if "how" in e]
        self.assertIn("worker 1 (pid 1001) was killed by signal 9", text[0])
        self.assertIn("restarting it in 1s", text[0])
        self.clock.advance(0.99)
        self.assertEqual(len(self.spawn.calls), 2)
        self.clock.advance(0.01)
        self.assertEqual(len(self.spawn.calls), 3)  # worker 1 again
        self.assertEqual(self.spawn.calls[2]["env"][WORKER_ENV], "1")
        self.spawn.end(2, error.ProcessTerminated(exitCode=1))  # at once again: 2 s
        self.clock.advance(1.99)
        self.assertEqual(len(self.spawn.calls), 3)
        self.clock.advance(0.01)
        self.assertEqual(len(self.spawn.calls), 4)

    def test_delays_capped(self) -> None:
        self.supervisor.start()
        delays = []
        for n in range(6):
            call = len(self.spawn.calls) - 1 if n else 1
            self.spawn.end(call, killed())
            pending = self.supervisor.workers[1].restart
            delays.append(pending.getTime() - self.clock.seconds())
            self.clock.advance(delays[-1])
        self.assertEqual(delays, [1, 2, 4, 8, 8, 8])

    def test_a_stable_worker_starts_over(self) -> None:
        self.supervisor.start()
        self.spawn.end(1, killed())
        self.clock.advance(1)
        self.spawn.end(2, killed())  # 2 exits in a row: 2 s
        self.clock.advance(2)
        self.clock.advance(30)  # ran 30 s: healthy
        self.spawn.end(3, killed())
        restart = self.supervisor.workers[1].restart
        self.assertEqual(restart.getTime() - self.clock.seconds(), 1.0)

    def test_drain_terms_every_worker_and_fires_when_all_exited(self) -> None:
        self.supervisor.start()
        done = self.supervisor.drain(10.0)
        self.assertEqual([c["process"].signals for c in self.spawn.calls], [["TERM"], ["TERM"]])
        self.spawn.end(0, error.ProcessDone(0))
        self.assertNoResult(done)
        self.spawn.end(1, error.ProcessDone(0))
        self.successResultOf(done)
        self.clock.advance(100)
        self.assertEqual(len(self.spawn.calls), 2)  # no restart while stopping

    def test_drain_cancels_a_pending_restart(self) -> None:
        self.supervisor.start()
        self.spawn.end(0, killed())
        done = self.supervisor.drain(10.0)
        self.spawn.end(1, error.ProcessDone(0))
        self.successResultOf(done)
        self.clock.advance(60)
        self.assertEqual(len(self.spawn.calls), 2)

    def test_overdue_workers_are_killed(self) -> None:
        self.supervisor.start()
        done = self.supervisor.drain(5.0)
        self.clock.advance(4.9)
        self.assertEqual(self.spawn.calls[0]["process"].signals, ["TERM"])
        self.clock.advance(0.1)
        self.assertEqual(self.spawn.calls[0]["process"].signals, ["TERM", "KILL"])
        self.spawn.end(0, killed())
        self.spawn.end(1, killed())
        self.successResultOf(done)

    def test_relay_prefixes_and_drops_the_workers_timestamp(self) -> None:
        self.supervisor.start()
        proto = self.spawn.calls[0]["protocol"]
        with capturedLogs() as events:
            proto.childDataReceived(1, b"2026-12-03T08:34:18+0000 [x] echo ready\npart")
            proto.childDataReceived(1, b"ial\n")
        lines = [e["line"] for e in events]
        self.assertEqual(lines, ["[x] echo ready", "partial"])
        self.assertEqual(events[0]["index"], 0)


class WorkersOptionTests(SynchronousTestCase):
    def parse(self, *argv: str) -> echo_tap.Options:
        options = echo_tap.Options()
        options.reactor = MemoryReactorClock()
        options.parseOptions(list(argv))
        return options

    def test_default_one(self) -> None:
        self.assertEqual(self.parse()["workers"], 1)

    def test_least_one(self) -> None:
        self.assertEqual(self.parse("--workers", "1")["workers"], 1)
        with self.assertRaises(usage.UsageError) as e:
            self.parse("--workers", "0")
        self.assertIn("--workers must be 1 or more", str(e.exception))

    def test_arguments_kept_for_the_workers(self) -> None:
        argv = ["--workers", "2", "--listen", "tcp:0:interface=127.0.0.1"]
        self.assertEqual(self.parse(*argv).arguments, argv)

    def test_workers_require(self) -> None:
        """A service that shares state names the option more workers need."""

        class Shared(ServiceOptions):
            workers_require = "backbone"
            optParameters = [["backbone", None, None, "the backbone"]]

        def parse(*argv: str) -> None:
            options = Shared()
            options.reactor = MemoryReactorClock()
            options.parseOptions(list(argv))

        parse("--workers", "1")
        parse("--workers", "2", "--backbone", "redis://127.0.0.1:6379/0")
        with self.assertRaises(usage.UsageError) as e:
            parse("--workers", "2")
        self.assertIn("--workers 2 needs --backbone", str(e.exception))


class SuperviseTests(SynchronousTestCase):
    def options(self, *argv: str) -> echo_tap.Options:
        options = echo_tap.Options()
        options.reactor = MemoryReactorClock()
        options.parseOptions(list(argv))
        return options

    def supervise(self, options: Any, count: int, env: dict[str, str] | None = None) -> Any:
        return supervise("netsuite-echo", count, [options], options.arguments,
                         options.reactor, 10.0, {} if env is None else env)  # fmt: skip

    def test_one_worker_or_a_worker_builds_the_service(self) -> None:
        options = self.options("--listen", "tcp:0")
        self.assertIsNone(self.supervise(options, 1))
        self.assertIsNone(self.supervise(options, 2, {WORKER_ENV: "0"}))

    def test_parent_shares_every_listener(self) -> None:
        options = self.options("--listen", "tcp:0:interface=127.0.0.1", "--listen", "udp:0")
        top = self.supervise(options, 2)
        self.assertIsInstance(top, WorkersService)
        shared = [s for s in top if isinstance(s, SharedSocket)]
        expected = [("echo:listen", "echo/tcp", None), ("echo:listen", "echo/udp", None)]
        self.assertEqual([(s.key, s.label, s.only) for s in shared], expected)
        self.assertEqual(top.supervisor.count, 2)
        self.assertEqual(top.drain_timeout, 10.0 + DRAIN_GRACE)
        self.assertEqual(top.supervisor.command[-4:], options.arguments[-4:])

    def test_ssl_refused(self) -> None:
        from netsuite.testing import TLSFiles

        files = TLSFiles(__import__("pathlib").Path(self.mktemp()))
        description = f"ssl:0:privateKey={files.key_path}:certKey={files.cert_path}"
        with self.assertRaises(SystemExit) as e:
            self.supervise(self.options("--listen", description), 2)
        self.assertIn("use nstls:", str(e.exception))

    def test_makeservice_returns_the_parent(self) -> None:
        """The tap's makeService, decorated: the parent, not the echo service."""
        options = self.options("--workers", "2", "--listen", "tcp:0")
        if WORKER_ENV in os.environ:  # pragma: no cover - tests run in no worker
            self.skipTest("running inside a worker")
        self.assertIsInstance(echo_tap.makeService(options), WorkersService)
        self.assertIsInstance(echo_tap.makeService(self.options("--listen", "tcp:0")),
                              echo_tap.EchoService)  # fmt: skip

    def test_parent_starts_the_workers_with_the_sockets(self) -> None:
        """Started for real on loopback: the socket is bound once, its fd passed on."""
        from twisted.internet import reactor as real

        options = echo_tap.Options()
        options.parseOptions(["--listen", "tcp:0:interface=127.0.0.1"])
        top = supervise("netsuite-echo", 2, [options], options.arguments, real, 1.0, {})
        assert top is not None
        spawn = Spawner()
        top.supervisor.spawn = spawn
        calls: list[Any] = []
        top.reactor = type("R", (), {"callWhenRunning": lambda s, f: calls.append(f),
                                     "addSystemEventTrigger": lambda s, *a: None})()  # fmt: skip
        top.privilegedStartService()
        top.startService()
        self.addCleanup(lambda: [s.port.stopListening() for s in top if s.port])  # type: ignore[attr-defined]
        calls[-1]()  # the reactor runs: the workers start (after the "ready" line)
        env = spawn.calls[0]["env"]
        fds = json.loads(env[FDS_ENV])["echo:listen"]
        self.assertEqual(len(fds), 1)
        self.assertIn(fds[0][0], spawn.calls[0]["fds"])
        self.assertEqual(env[COUNT_ENV], "2")
        self.assertTrue(os.path.isdir(env[STATS_ENV]))
        top._remove_stats_dir(None)
        self.assertFalse(os.path.exists(env[STATS_ENV]))


class SuiteWorkersTests(SynchronousTestCase):
    def parse(self, *argv: str) -> suite_tap.Options:
        options = suite_tap.Options()
        options.reactor = MemoryReactorClock()
        options.parseOptions(list(argv))
        return options

    def test_every_service_gets_the_suites_count(self) -> None:
        options = self.parse("--workers", "2", "--no-chat", "--no-tls")
        self.assertEqual({s["workers"] for s in options.services.values()}, {2})

    def test_a_services_own_other_count_is_refused(self) -> None:
        with self.assertRaises(usage.UsageError) as e:
            self.parse("--workers", "2", "--no-chat", "--echo-args", "--workers 3")
        self.assertIn("--echo-args: --workers 3", str(e.exception))
        self.parse("--workers", "2", "--no-chat", "--echo-args", "--workers 2")

    def test_config_suite_workers(self) -> None:
        path = self.mktemp()
        with open(path, "w") as f:
            f.write('[suite]\nservices = ["echo", "web"]\nworkers = 3\n')
        options = self.parse("--config", path)
        self.assertEqual(options["workers"], 3)
        self.assertEqual(options.services["web"]["workers"], 3)
        self.assertEqual(self.parse("--config", path, "--workers", "1")["workers"], 1)

    def test_suite_makeservice_returns_the_parent(self) -> None:
        options = self.parse("--workers", "2", "--no-chat", "--no-tls", "--echo-args",
                             "--listen tcp:0", "--web-args", "--listen tcp:0")  # fmt: skip
        top = suite_tap.makeService(options)
        self.assertIsInstance(top, WorkersService)
        keys = sorted(s.key for s in top if isinstance(s, SharedSocket))
        self.assertEqual(keys, ["echo:listen", "web:listen"])
