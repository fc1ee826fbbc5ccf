"""
Where a chat server's time goes under chat.py's load: syscalls, context switches and
CPU per delivery, and (with py-spy) the Python lines the samples land on.

Why a script: chat.py says how fast; this says why, with numbers per delivery that can
be compared between servers and between versions of netsuite. It runs one server and
one chatgen window, and during that window (after the warm-up) it attaches, if present:
C{perf stat} (syscall tracepoints: sends, reads, epoll calls) and C{py-spy record}
(Python stacks; C{/tmp/venv/bin/pip install py-spy}). Neither slows the server much,
unlike cProfile. Context switches and user/system CPU come from /proc, always.

    /tmp/venv/bin/python bench/chat_profile.py [--server netsuite] [--members 50]
        [--duration 6] [--window 32]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchproc import CLOCK_TICKS, build_c
from chat import CHATGEN, CHATGEN_SRC, EXPERIMENTS, SERVERS, make_server

SYSCALLS = ("sendto", "recvfrom", "epoll_wait", "epoll_ctl")


def proc_counters(pid: int) -> dict[str, float]:
    """User and system CPU seconds and context switches of every thread of C{pid}."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    fields = stat[stat.rindex(b")") + 2 :].split()
    out = {"user_s": int(fields[11]) / CLOCK_TICKS, "sys_s": int(fields[12]) / CLOCK_TICKS}
    out["voluntary"] = out["involuntary"] = 0.0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status", "rb") as f:
                for line in f:
                    if line.startswith(b"voluntary_ctxt_switches:"):
                        out["voluntary"] += int(line.split()[1])
                    elif line.startswith(b"nonvoluntary_ctxt_switches:"):
                        out["involuntary"] += int(line.split()[1])
        except FileNotFoundError:  # a thread ended meanwhile
            continue
    return out


def start_observers(pid: int, seconds: float, scratch: Path) -> list[subprocess.Popen[bytes]]:
    """perf stat and py-spy on C{pid} for C{seconds}, each only if installed."""
    observers = []
    perf = shutil.which("perf")
    if perf:
        events = ",".join(f"syscalls:sys_enter_{name}" for name in SYSCALLS)
        argv = [perf, "stat", "-x", ",", "-e", events, "-p", str(pid), "-o"]
        argv += [str(scratch / "perf.csv"), "--", "sleep", f"{seconds:g}"]
        observers.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL))
    spy = Path(sys.executable).with_name("py-spy")
    if spy.exists():
        argv = [str(spy), "record", "-p", str(pid), "-d", f"{seconds:g}", "-r", "500"]
        argv += ["-f", "raw", "-o", str(scratch / "spy.raw")]
        observers.append(
            subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
    return observers


def read_perf(path: Path) -> dict[str, float]:
    """Syscall counts from perf stat's CSV output (empty if perf did not run)."""
    counts: dict[str, float] = {}
    if not path.exists():
        return counts
    for line in path.read_text().splitlines():
        parts = line.split(",")
        if len(parts) > 2 and parts[2].startswith("syscalls:sys_enter_"):
            try:
                counts[parts[2].removeprefix("syscalls:sys_enter_")] = float(parts[0])
            except ValueError:  # "<not supported>"
                continue
    return counts


def read_spy(path: Path, top: int) -> list[str]:
    """py-spy's raw stacks: the lines taking most samples, by self and inclusive."""
    if not path.exists():
        return ["(py-spy not installed: /tmp/venv/bin/pip install py-spy)"]
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = stack.split(";")
        total += n
        own[frames[-1]] += n
        # Functions (not lines) for the inclusive view: "name (file:line)" -> "name (file)".
        for name in {f.rsplit(":", 1)[0] for f in frames}:
            inclusive[name] += n
    if not total:
        return ["(py-spy took no samples)"]
    out = [f"py-spy, {total} samples; self (the line a sample was on):"]
    out += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    out.append("inclusive (a sample anywhere below the function), server code only:")
    chosen = [(f, n) for f, n in inclusive.most_common() if "netsuite/" in f or "_chat.py" in f]
    out += [f"  {100 * n / total:5.1f}%  {frame})" for frame, n in chosen[:top]]
    return out


def main() -> int:
    """Run one profiled window and print the per-delivery figures."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--server", default="netsuite", choices=SERVERS + EXPERIMENTS)
    p.add_argument("--members", type=int, default=50)
    p.add_argument("--duration", type=float, default=6.0)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--window", type=int, default=32)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--peer-nagle", action="store_true")
    p.add_argument("--top", type=int, default=12)
    args = p.parse_args()
    build_c(CHATGEN_SRC, CHATGEN)
    server = make_server(args.server, args.peer_nagle)
    server.start()
    scratch = Path(tempfile.mkdtemp(prefix="chat_profile."))
    argv = [str(CHATGEN), "--port", str(server.port), "--members", str(args.members)]
    argv += ["--size", str(args.size), "--window", str(args.window)]
    argv += ["--duration", str(args.duration), "--warmup", str(args.warmup)]
    observed = max(args.duration - 1.0, 1.0)  # inside the window, whatever the start-up
    result: dict[str, Any] | None = None
    before = after = {}
    observers: list[subprocess.Popen[bytes]] = []
    gen = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert gen.stdout is not None
    deadline = time.monotonic() + args.warmup + args.duration + 120.0
    try:
        buffered = b""
        with selectors.DefaultSelector() as sel:
            sel.register(gen.stdout.fileno(), selectors.EVENT_READ)
            while result is None and time.monotonic() < deadline:  # bounded
                if not sel.select(max(deadline - time.monotonic(), 0.0)):
                    continue
                chunk = os.read(gen.stdout.fileno(), 65536)
                if not chunk:
                    break
                *lines, buffered = (buffered + chunk).split(b"\n")
                for line in lines:
                    message = json.loads(line)
                    if message.get("event") == "measuring":
                        before = proc_counters(server.pid)
                        observers = start_observers(server.pid, observed, scratch)
                    elif message.get("event") == "window_end":
                        after = proc_counters(server.pid)
                    elif "event" not in message:
                        result = message
        for obs in observers:
            obs.wait(30)
    finally:
        if gen.poll() is None:
            gen.send_signal(signal.SIGKILL)
        gen.wait(10)
        server.stop()
    if result is None or not before or not after:
        print("no result from chatgen\n" + "\n".join(server.tail))
        return 1
    deliveries = max(result["deliveries"], 1)
    rate = result["deliveries_per_s"]
    print(
        f"{args.server}, {args.members} members, window {args.window}:"
        f" {rate:,.0f} deliveries/s, {result['msgs_per_s']:,.0f} msgs/s,"
        f" errors {result['errors']}"
    )
    user = after["user_s"] - before["user_s"]
    system = after["sys_s"] - before["sys_s"]
    print(
        f"server CPU per delivery {1e6 * (user + system) / deliveries:.2f} us"
        f" (user {1e6 * user / deliveries:.2f}, system {1e6 * system / deliveries:.2f});"
        f" {(user + system) / result['duration_s']:.0%} of a core"
    )
    for kind in ("voluntary", "involuntary"):
        switches = after[kind] - before[kind]
        print(
            f"{kind} context switches: {switches / deliveries:.3f} per delivery,"
            f" {switches / max(result['msgs'], 1):.2f} per message"
        )
    counts = read_perf(scratch / "perf.csv")
    if counts:
        # perf watched `observed` seconds of the window: scale by the window's rate.
        watched = rate * observed
        msgs = result["msgs_per_s"] * observed
        print(f"syscalls (perf stat, {observed:g} s of the window):")
        for name in SYSCALLS:
            n = counts.get(name, 0.0)
            print(
                f"  {name:<11} {n / max(watched, 1):8.3f} per delivery"
                f" {n / max(msgs, 1):9.2f} per message"
            )
    else:
        print("(perf not available: no syscall counts)")
    print("\n".join(read_spy(scratch / "spy.raw", args.top)))
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
