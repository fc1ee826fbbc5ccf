"""
Where a UDP echo server's time goes under udp.py's load: CPU per datagram (user and
system), context switches and syscalls per datagram, and optionally a CPU-time cProfile.

Why a script: udp.py says how fast; this says why, per datagram, comparable between
servers and between versions of netsuite. It runs one server and one udpgen window; during
the window it attaches, if installed, C{perf stat} (syscall tracepoints) and C{py-spy
record} (Python stacks), as chat_profile.py does. C{--cprofile} runs the server under
bench/cpuprof.py instead (cProfile with a CPU-time clock); it slows Python code, so read
its output as relative costs and calls per datagram.

    /tmp/venv/bin/python bench/udp_profile.py [--server netsuite] [--duration 6]
        [--cprofile] [--top 20]
    /tmp/venv/bin/python bench/udp_profile.py --parts    # no server: each piece, in-process
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchproc import BENCH, Server, add_reactor_option, build_c
from chat_profile import proc_counters, read_perf, read_spy, start_observers
from udp import EXTRA_SERVERS, SERVERS, UDPGEN, UDPGEN_SRC, make_server

#: What chat_profile.start_observers counts, in the order printed here.
SYSCALLS = ("recvfrom", "sendto", "epoll_wait", "epoll_ctl")


def profiled(server: Server, stats: Path) -> Server:
    """The same server run under bench/cpuprof.py, which dumps C{stats} when it exits."""
    argv = server.argv[1:] if server.argv[0] == sys.executable else server.argv
    wrapped = [sys.executable, str(BENCH / "cpuprof.py"), str(stats), *argv]
    return Server(server.name, wrapped, server.port_pattern)


def run_window(server: Server, args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    """One udpgen run; /proc counters at the window's edges, perf and py-spy inside it."""
    argv = [str(UDPGEN), "--port", str(server.port), "--duration", str(args.duration)]
    argv += ["--warmup", str(args.warmup), "--window", str(args.window)]
    argv += ["--flows", str(args.flows), "--size", str(args.size)]
    observed = max(args.duration - 1.0, 1.0)
    gen = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert gen.stdout is not None
    result: dict[str, Any] = {}
    observers: list[subprocess.Popen[bytes]] = []
    deadline = time.monotonic() + args.warmup + args.duration + 30.0
    try:
        buffered = b""
        with selectors.DefaultSelector() as sel:
            sel.register(gen.stdout.fileno(), selectors.EVENT_READ)
            while "echoed" not in result and time.monotonic() < deadline:  # bounded
                if not sel.select(max(deadline - time.monotonic(), 0.0)):
                    continue
                chunk = os.read(gen.stdout.fileno(), 65536)
                if not chunk:
                    break
                *lines, buffered = (buffered + chunk).split(b"\n")
                for line in lines:
                    message = json.loads(line)
                    if message.get("event") == "measuring":
                        result["before"] = proc_counters(server.pid)
                        if not args.cprofile:  # cProfile's own overhead would dominate
                            observers = start_observers(server.pid, observed, scratch)
                    elif message.get("event") == "window_end":
                        result["after"] = proc_counters(server.pid)
                    elif "event" not in message:
                        result.update(message)
        for obs in observers:
            obs.wait(30)
    finally:
        if gen.poll() is None:
            gen.send_signal(signal.SIGKILL)
        gen.wait(10)
        gen.stdout.close()
    result["perf"] = read_perf(scratch / "perf.csv")
    result["observed_s"] = observed
    return result


def print_cprofile(stats: Path, echoed_total: int, top: int) -> None:
    """The functions with most CPU time, with calls and microseconds per echoed datagram."""
    if not stats.exists():
        print("(no cProfile statistics were written)")
        return
    st = pstats.Stats(str(stats))
    rows = []
    total = 0.0
    for (file, line, name), (_, calls, tottime, cumtime, _) in st.stats.items():  # type: ignore[attr-defined]
        total += tottime
        rows.append((tottime, cumtime, calls, f"{name} ({Path(file).name}:{line})"))
    rows.sort(reverse=True)
    n = max(echoed_total, 1)
    print(f"\ncProfile (CPU time, whole run, {echoed_total:,} datagrams echoed); per datagram:")
    print(f"{'own %':>6} {'own us':>7} {'cum us':>7} {'calls':>6}  function")
    for tottime, cumtime, calls, where in rows[:top]:
        print(
            f"{100 * tottime / max(total, 1e-9):5.1f}% {1e6 * tottime / n:7.2f}"
            f" {1e6 * cumtime / n:7.2f} {calls / n:6.2f}  {where}"
        )


def time_parts(batches: int, batch: int = 200) -> dict[str, float]:
    """
    Nanoseconds per call of each piece of an echo's path, in this process, without a
    load generator: the best batch of C{batches} (each C{batch} calls), so a neighbour's
    burst on the machine does not count. Real sockets: the echoes go to a sink socket on
    127.0.0.1, drained between batches (so its queue never drops), never to the network.

    Why: under load the server's CPU per datagram moves by 1.5x between windows here;
    the best batch of each piece is steady enough to say where netsuite's extra cost is.
    """
    import socket

    from twisted.internet import reactor, udp

    from netsuite.base._metrics import Counters
    from netsuite.echo._udp import DatagramGuard, UDPEcho
    from netsuite.limits._policy import SourceBuckets, TokenBucket
    from netsuite.twistd._options import GlobalReactor

    sys.path.insert(0, str(BENCH / "peers"))
    from naive_twisted_udp import Echo
    from netsuite_udp_whatif import datagram_received_direct

    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.setblocking(False)
    addr = sink.getsockname()
    data = bytes(64)

    def drain() -> None:
        for _ in range(batch * 2):  # bounded: at most what one batch sent, twice
            try:
                sink.recv(2048)
            except BlockingIOError:
                return

    def listening(protocol: Any) -> Any:
        port = udp.Port(0, protocol, interface="127.0.0.1", reactor=reactor)
        port.startListening()  # registers with the reactor, which never runs here
        return port

    naive = Echo()
    naive_port = listening(naive)

    def guard() -> DatagramGuard:
        return DatagramGuard(rate=1e12, burst=1e12, counters=Counters("echo/udp"))

    proxied = UDPEcho(guard(), GlobalReactor())  # what twistd netsuite-echo builds
    direct = UDPEcho(guard(), reactor)  # the clock resolved once
    whatif = UDPEcho(guard(), reactor)  # peers/netsuite_udp_whatif.py --variant direct
    ports = [listening(proxied), listening(direct), listening(whatif)]
    whatif._seconds = reactor.seconds  # type: ignore[attr-defined]
    whatif._sendto = ports[2].socket.sendto  # type: ignore[attr-defined]
    lone_guard = guard()
    proxy = GlobalReactor()
    buckets = SourceBuckets(1e12, 1e12)
    bucket = TokenBucket(1e12, 1e12)
    counters = Counters("x")

    def bump() -> None:
        counters["received"] += 1

    pieces: dict[str, tuple[Any, bool]] = {
        "naive Echo.datagramReceived (write + sendto)": (
            lambda: naive.datagramReceived(data, addr),
            True,
        ),
        "netsuite UDPEcho.datagramReceived, clock = GlobalReactor (as twistd)": (
            lambda: proxied.datagramReceived(data, addr),
            True,
        ),
        "netsuite UDPEcho.datagramReceived, clock = the reactor": (
            lambda: direct.datagramReceived(data, addr),
            True,
        ),
        "what-if netsuite-direct (bound clock, socket.sendto; same guard)": (
            lambda: datagram_received_direct(whatif, data, addr),
            True,
        ),
        "  udp.Port.write (isIPAddress x2, isIPv6Address, sendto)": (
            lambda: naive_port.write(data, addr),
            True,
        ),
        "  socket.sendto alone": (lambda: naive_port.socket.sendto(data, addr), True),
        "  DatagramGuard.check": (lambda: lone_guard.check("127.0.0.1", 40000, 64, 1.0), False),
        "    SourceBuckets.entry (OrderedDict get + move_to_end)": (
            lambda: buckets.entry("127.0.0.1", 1.0),
            False,
        ),
        "    TokenBucket.take": (lambda: bucket.take(92, 1.0), False),
        "    one Counter update (check does 6 when echoing)": (bump, False),
        "  GlobalReactor().seconds()": (lambda: proxy.seconds(), False),
        "  reactor.seconds()": (lambda: reactor.seconds(), False),
        "  empty call (lambda)": (lambda: None, False),
    }
    best: dict[str, float] = {}
    for _ in range(batches):  # rotate the pieces, so a noisy moment hits them all alike
        for name, (call, sends) in pieces.items():
            start = time.perf_counter_ns()
            for _ in range(batch):
                call()
            elapsed = (time.perf_counter_ns() - start) / batch
            best[name] = min(best.get(name, elapsed), elapsed)
            if sends:
                drain()
    for port in (naive_port, *ports):
        port.socket.close()
    sink.close()
    return best


def main() -> int:
    """Run one window against one server and print the per-datagram figures."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--server", default="netsuite", choices=SERVERS + EXTRA_SERVERS)
    p.add_argument("--duration", type=float, default=6.0)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--window", type=int, default=32)
    p.add_argument("--flows", type=int, default=4)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--cprofile", action="store_true", help="run the server under cpuprof.py")
    p.add_argument("--top", type=int, default=20)
    add_reactor_option(p)
    p.add_argument(
        "--parts",
        action="store_true",
        help="no server: time each piece of the echo path in this process (best batch)",
    )
    p.add_argument("--batches", type=int, default=400, help="--parts: batches of 200 calls")
    args = p.parse_args()
    if args.parts:
        best = time_parts(args.batches)
        print(f"best of {args.batches} batches of 200 calls, ns per call:")
        for name, ns in best.items():
            print(f"  {ns:8.0f}  {name}")
        return 0
    build_c(UDPGEN_SRC, UDPGEN)
    scratch = Path(tempfile.mkdtemp(prefix="udp_profile."))
    stats = scratch / "server.prof"
    server = make_server(args.server, args.reactor)
    if args.cprofile:
        server = profiled(server, stats)
    server.start()
    try:
        result = run_window(server, args, scratch)
    finally:
        server.stop(timeout=30)
    if "echoed" not in result or "before" not in result or "after" not in result:
        print("no result from udpgen\n" + "\n".join(server.tail))
        return 1
    echoed = max(result["echoed"], 1)
    before, after = result["before"], result["after"]
    user = after["user_s"] - before["user_s"]
    system = after["sys_s"] - before["sys_s"]
    print(
        f"{args.server}{' (cProfile)' if args.cprofile else ''}: {result['dgrams_per_s']:,.0f}"
        f" dgrams/s, lost {result['lost']}, errors {result['errors']}; udpgen"
        f" {1e6 * (result['cpu_user_s'] + result['cpu_sys_s']) / echoed:.2f} us/dgram"
    )
    print(
        f"server CPU per datagram {1e6 * (user + system) / echoed:.2f} us"
        f" (user {1e6 * user / echoed:.2f}, system {1e6 * system / echoed:.2f});"
        f" {(user + system) / result['duration_s']:.0%} of a core"
    )
    for kind in ("voluntary", "involuntary"):
        switches = after[kind] - before[kind]
        print(f"{kind} context switches: {switches / echoed:.3f} per datagram")
    counts = result["perf"]
    if counts:
        watched = result["dgrams_per_s"] * result["observed_s"]
        print(f"syscalls per datagram (perf stat, {result['observed_s']:g} s of the window):")
        for name in SYSCALLS:
            print(f"  {name:<11} {counts.get(name, 0.0) / max(watched, 1):7.3f}")
    if args.cprofile:
        print_cprofile(stats, result["echoed_total"], args.top)
    else:
        print("\n".join(read_spy(scratch / "spy.raw", args.top)))
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
