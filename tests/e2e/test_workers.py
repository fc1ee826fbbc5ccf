"""
End to end: the real C{twistd -n netsuite-echo --workers 2} (and the web plugin, and the
suite): connections spread over both workers, a worker killed with SIGKILL is restarted
while the other keeps serving, SIGTERM drains all and exits 0, and C{/api/stats} and
C{/metrics} answer for every worker.

Which worker served a connection: each worker's lines are relayed into the parent's log
as C{worker N (pid P): ...}, and the echo door logs each connection with its peer, so a
client's own port names the worker; C{/api/stats} says C{worker}.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import time
import urllib.request
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TwistdProcess
from netsuite.testing.redisserver import RedisServer

from .chatclient import LineClient

TCP = "tcp:0:interface=127.0.0.1"
#: Connections tried before giving up on seeing both workers serve (each is one of two).
MOST_TRIES = 200
ENV = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))}  # fmt: skip


def echo_once(address: tuple[str, int], payload: bytes) -> tuple[int, bytes]:
    """One connection: C{(our port, the echo)}."""
    with socket.create_connection(address, timeout=10) as s:
        port = s.getsockname()[1]
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
        return port, b"".join(chunks)


def both_ready(process: TwistdProcess, name: str) -> dict[int, int]:
    """Wait for both workers' "ready" lines; their pids by number."""
    pids = {}
    for index in (0, 1):
        m = process.wait_for_line(rf"worker {index} \(pid (\d+)\): .*{name} ready")
        pids[index] = int(m.group(1))
    return pids


def served_by(process: TwistdProcess, port: int) -> int:
    """The worker whose log has the connection from our C{port}."""
    m = process.wait_for_line(rf"worker (\d) \(pid \d+\): .*127\.0\.0\.1:{port}: connected")
    return int(m.group(1))


class EchoWorkersTests(SynchronousTestCase):
    def start(self) -> TwistdProcess:
        process = TwistdProcess(
            "netsuite-echo", ["--workers", "2", "--listen", TCP, "--drain-timeout", "2"],
            env=ENV, timeout=30,
        )  # fmt: skip
        process.start()
        self.addCleanup(process.stop)
        return process

    def test_spread_kill_restart_and_term(self) -> None:
        process = self.start()
        address = process.address("echo/tcp")
        pids = both_ready(process, "netsuite-echo")
        self.assertEqual(len(process.listeners["echo/tcp"]) >= 1, True)

        # Spread: open connections until both workers served some (bounded).
        served: set[int] = set()
        for n in range(MOST_TRIES):
            port, echoed = echo_once(address, b"ping %d\n" % n)
            self.assertEqual(echoed, b"ping %d\n" % n)
            served.add(served_by(process, port))
            if served == {0, 1}:
                break
        self.assertEqual(served, {0, 1}, f"one worker served {MOST_TRIES} connections")

        # kill -9 worker 1: the parent logs it and restarts it; worker 0 serves meanwhile.
        since = len(process.lines)
        os.kill(pids[1], signal.SIGKILL)
        process.wait_for_line(
            rf"worker 1 \(pid {pids[1]}\) was killed by signal 9 .*restarting it in 1s",
            since=since,
        )
        for n in range(5):
            port, echoed = echo_once(address, b"still %d" % n)
            self.assertEqual(echoed, b"still %d" % n)
        m = process.wait_for_line(r"worker 1 started \(pid (\d+)\)", since=since)
        self.assertNotEqual(int(m.group(1)), pids[1])
        process.wait_for_line(r"worker 1 \(pid \d+\): .*netsuite-echo ready", since=since)

        # SIGTERM: every worker drains, the parent exits 0 within the drain time.
        started = time.monotonic()
        code = process.stop(timeout=20)
        took = time.monotonic() - started
        self.assertEqual(code, 0, process.log())
        self.assertLess(took, 2 + 5, process.log())  # --drain-timeout plus the grace
        self.assertIn("every worker has exited", process.log())
        self.assertEqual(len(re.findall(r"worker \d \(pid \d+\) exited with status 0",
                                        process.log())), 2)  # fmt: skip


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def get_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


def until(condition: Any, timeout: float = 15.0) -> Any:
    """Ask C{condition()} again until it answers something true (no fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found or time.monotonic() > deadline:
            return found


class WebWorkersTests(SynchronousTestCase):
    def test_stats_and_metrics_per_worker_and_total(self) -> None:
        process = TwistdProcess(
            "netsuite-web", ["--workers", "2", "--listen", TCP, "--no-access-log"],
            env=ENV, timeout=30,
        )  # fmt: skip
        process.start()
        self.addCleanup(process.stop)
        host, port = process.address("web/http")
        base = f"http://{host}:{port}"
        both_ready(process, "netsuite-web")

        answered: set[int] = set()
        for _ in range(MOST_TRIES):
            answered.add(get_json(base + "/api/stats")["worker"])
            if answered == {0, 1}:
                break
        self.assertEqual(answered, {0, 1})

        def both_reported() -> Any:
            """Both workers in the answer, each with the requests it served (a sibling's
            file is rewritten every second)."""
            stats = get_json(base + "/api/stats")
            workers = stats["workers"]
            if set(workers) != {"0", "1"}:
                return None
            counts = [workers[w]["services"]["web"]["counters"].get("requests", 0)
                      for w in ("0", "1")]  # fmt: skip
            return stats if all(counts) else None

        stats = until(both_reported)
        self.assertTrue(stats, "a worker's requests never reached the other's answer")
        per_worker = [stats["workers"][w]["services"]["web"]["counters"]["requests"]
                      for w in ("0", "1")]  # fmt: skip
        self.assertEqual(stats["services"]["web"]["counters"]["requests"], sum(per_worker))

        metrics = get_text(base + "/metrics")
        for worker in ("0", "1", "all"):
            self.assertRegex(
                metrics, rf'netsuite_messages_total\{{service="web",worker="{worker}"\}} \d'
            )
        self.assertEqual(process.stop(), 0, process.log())


class SuiteWorkersTests(SynchronousTestCase):
    def test_the_suite_in_two_workers(self) -> None:
        process = TwistdProcess(
            "netsuite",
            ["--workers", "2", "--no-chat", "--no-tls", "--echo-args", f"--listen {TCP}",
             "--web-args", f"--listen {TCP} --no-access-log"],
            expect=2, env=ENV, timeout=30,
        )  # fmt: skip
        process.start()
        self.addCleanup(process.stop)
        both_ready(process, "netsuite")
        _, echoed = echo_once(process.address("echo/tcp"), b"suite")
        self.assertEqual(echoed, b"suite")
        host, port = process.address("web/http")

        def counted() -> Any:
            s = get_json(f"http://{host}:{port}/api/stats")
            both = set(s["workers"]) == {"0", "1"}
            return s if both and s["services"]["echo"]["connections"]["accepted"] == 1 else None

        self.assertTrue(until(counted), "the echo's connection never reached the total")
        self.assertEqual(process.stop(), 0, process.log())


class ChatWorkersTests(SynchronousTestCase):
    """
    C{netsuite-chat --workers 2 --backbone redis://...}: each worker is a full chat
    process joined through the backbone, so members of both are in one room.
    """

    def test_members_of_both_workers_share_a_room(self) -> None:
        redis = RedisServer().start()
        self.addCleanup(redis.stop)
        process = TwistdProcess(
            "netsuite-chat",
            ["--workers", "2", "--listen", TCP, "--irc-listen", "none",
             "--backbone", redis.url, "--drain-timeout", "2"],
            env=ENV, timeout=30,
        )  # fmt: skip
        process.start()
        self.addCleanup(process.stop)
        both_ready(process, "netsuite-chat")
        for index in (0, 1):
            process.wait_for_line(rf"worker {index} \(pid \d+\): .*joined the shared hub")
        address = process.address("chat/line")
        members: dict[int, list[LineClient]] = {0: [], 1: []}
        for _ in range(MOST_TRIES):  # bounded: each connection lands on one of two
            client = LineClient(address)
            self.addCleanup(client.close)
            members[served_by(process, client.sock.getsockname()[1])].append(client)
            if members[0] and members[1]:
                break
        self.assertTrue(members[0] and members[1], "one worker served every connection")
        sender, receiver = members[0][0], members[1][0]
        sender.send("/nick w0")
        receiver.expect("is now known as w0")  # the rename crossed to the other worker
        sender.send("hello from worker 0")
        for client in members[0] + members[1]:
            client.expect("<w0> hello from worker 0")
        self.assertEqual(process.stop(), 0, process.log())
