"""
Echo throughput: netsuite-echo (twistd, every default limit on) against the Twisted
tutorial echo and an asyncio echo, measured by the same C load generator in one run.

Why this shape: one run, servers alternated across rounds and medians taken, so a
noisy neighbour on the machine hurts every server alike instead of the one that happened
to run during it; server and load-generator CPU are both recorded, so the table shows
the server (not the client) was the bottleneck.

    /tmp/venv/bin/python bench/echo.py [--duration 10] [--rounds 3] [--reactor netsuite]

netsuite runs under its own reactor (--reactor netsuite, docs/reactors.md) unless
--reactor says otherwise; the server "netsuite-epoll" (not run by default) is netsuite on
Twisted's stock epoll reactor, so the reactor's gain shows in one run. "uvloop" is the
asyncio peer on uvloop's loop; left out, with a line saying so, when uvloop is missing.

Writes bench/out/echo.json; exits 1 if any echoed byte was wrong or a connection failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import selectors
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from benchproc import (
    BARE_PORT,
    BENCH,
    OUT,
    STOCK_ROW,
    TWISTD_PORT,
    Server,
    add_reactor_option,
    build_loadgen,
    drop_missing_uvloop,
    machine_cpu_seconds,
    netsuite_echo_command,
    print_reactors,
    reactor_gain,
    reactor_rows,
    tree_cpu_seconds,
    with_reactor,
)

SERVERS = ("netsuite", "plain-twisted", "asyncio", "uvloop", "netsuite-workers")
#: netsuite-echo --workers 2 (the scale-out option: one process per core sharing the
#: listener), its own row: never in a ratio, which is one process against one process.
WORKERS = 2
#: Not run by default: netsuite on Twisted's stock epoll reactor (benchproc.STOCK_ROW).
EXTRA_SERVERS = tuple(STOCK_ROW)
WORKLOADS = ("pipelined", "bulk")


def make_server(name: str, reactor: str = "") -> Server:
    """The named server, not yet started; netsuite under C{twistd --reactor REACTOR}."""
    if name == "netsuite" or name in STOCK_ROW:
        argv = with_reactor(netsuite_echo_command(), STOCK_ROW.get(name, reactor))
        return Server(name, argv, TWISTD_PORT)
    if name == "netsuite-workers":  # the parent logs the shared listener's port
        argv = with_reactor([*netsuite_echo_command(), "--workers", str(WORKERS)], reactor)
        return Server(name, argv, TWISTD_PORT)
    if name == "uvloop":  # the asyncio echo, unchanged, on uvloop's loop
        argv = [sys.executable, str(BENCH / "peers" / "asyncio_echo.py"), "--uvloop"]
        return Server(name, argv, BARE_PORT)
    peer = {"plain-twisted": "plain_twisted_echo.py", "asyncio": "asyncio_echo.py"}[name]
    return Server(name, [sys.executable, str(BENCH / "peers" / peer)], BARE_PORT)


def run_load(loadgen: Path, server: Server, mode: str, args: argparse.Namespace) -> dict[str, Any]:
    """
    Run one loadgen workload against C{server}; sample the server's CPU time when the
    load generator starts and ends its measurement window, so both CPU figures cover the
    same seconds.
    """
    if mode == "pipelined":
        shape = (args.conns, args.size, args.inflight, "full")
    else:
        shape = (args.bulk_conns, args.bulk_size, args.bulk_inflight, args.bulk_verify)
    argv = [str(loadgen), "--port", str(server.port), "--mode", mode]
    for key, value in zip(("--conns", "--size", "--inflight", "--verify"), shape, strict=True):
        argv += [key, str(value)]
    argv += ["--duration", str(args.duration), "--warmup", str(args.warmup)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    if args.pin:
        os.sched_setaffinity(proc.pid, {args.pin[1]})
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + args.warmup + args.duration + 30.0
    buffered = b""
    cpu_start: float | None = None
    busy_start = softirq_start = 0.0
    result: dict[str, Any] | None = None
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while result is None:  # bounded by the deadline and by loadgen's EOF
            left = deadline - time.monotonic()
            if left <= 0:
                proc.kill()
                break
            if not sel.select(left):
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            *lines, buffered = (buffered + chunk).split(b"\n")
            for line in lines:
                message = json.loads(line)
                if message.get("event") == "measuring":
                    cpu_start = sum(tree_cpu_seconds(server.pid))
                    busy_start, softirq_start = machine_cpu_seconds()
                elif "msgs_per_s" in message:
                    cpu_end = sum(tree_cpu_seconds(server.pid))
                    busy, softirq = machine_cpu_seconds()
                    result = message
                    started = cpu_start is not None
                    result["server_cpu_s"] = cpu_end - cpu_start if started else 0.0
                    result["machine_busy_s"] = busy - busy_start if started else 0.0
                    result["softirq_s"] = softirq - softirq_start if started else 0.0
    proc.wait(10)
    proc.stdout.close()
    if result is None:
        raise RuntimeError(
            f"loadgen {mode} against {server.name} gave no result (exit {proc.returncode})\n"
            + "\n".join(server.tail)
        )
    result["loadgen_cpu_s"] = result["cpu_user_s"] + result["cpu_sys_s"]
    window = result["duration_s"] or 1.0
    result["server_cpu_util"] = result["server_cpu_s"] / window
    result["loadgen_cpu_util"] = result["loadgen_cpu_s"] / window
    # Kernel network work (loopback receive runs as softirq) and the whole machine's busy
    # CPU: a window where the machine was busy well beyond server + loadgen + softirq was
    # disturbed by something else. (Not subtracted: with IRQ time accounting, part of the
    # softirq time also shows in the processes' own system time.)
    result["softirq_util"] = result["softirq_s"] / window
    result["machine_busy_util"] = result["machine_busy_s"] / window
    # Server CPU per unit of work: steadier than throughput on a shared machine.
    result["server_cpu_us_per_msg"] = 1e6 * result["server_cpu_s"] / max(result["msgs"], 1)
    return result


def summarize(runs: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """Median of each figure per server and workload, plus the throughput spread."""
    figures = (
        "msgs_per_s",
        "mb_per_s",
        "server_cpu_util",
        "loadgen_cpu_util",
        "softirq_util",
        "machine_busy_util",
        "server_cpu_us_per_msg",
    )
    medians: dict[str, dict[str, dict[str, float]]] = {}
    for run in runs:
        medians.setdefault(run["server"], {}).setdefault(run["mode"], {})
    for server, modes in medians.items():
        for mode in modes:
            chosen = [r for r in runs if r["server"] == server and r["mode"] == mode]
            summary = {f: statistics.median(r[f] for r in chosen) for f in figures}
            for f in ("msgs_per_s", "mb_per_s"):
                summary[f + "_min"] = min(r[f] for r in chosen)
                summary[f + "_max"] = max(r[f] for r in chosen)
            modes[mode] = summary
    return medians


def ratios(medians: dict[str, dict[str, dict[str, float]]]) -> dict[str, float]:
    """
    netsuite over plain Twisted: throughput (msgs/s, MB/s; >= 0.95 expected) and
    server-CPU efficiency (plain's CPU per message over netsuite's; > 1 means cheaper).
    """
    if "netsuite" not in medians or "plain-twisted" not in medians:
        return {}
    ns, tw = medians["netsuite"], medians["plain-twisted"]
    return {
        "pipelined_msgs_per_s": ns["pipelined"]["msgs_per_s"] / tw["pipelined"]["msgs_per_s"],
        "bulk_mb_per_s": ns["bulk"]["mb_per_s"] / tw["bulk"]["mb_per_s"],
        "pipelined_cpu_efficiency": tw["pipelined"]["server_cpu_us_per_msg"]
        / ns["pipelined"]["server_cpu_us_per_msg"],
        "bulk_cpu_efficiency": tw["bulk"]["server_cpu_us_per_msg"]
        / ns["bulk"]["server_cpu_us_per_msg"],
    }


def print_table(medians: dict[str, dict[str, dict[str, float]]], args: argparse.Namespace) -> None:
    """Medians per server, netsuite/plain-Twisted ratios, and the CPU comparison."""
    print()
    print(
        f"pipelined: {args.conns} conns x {args.inflight} in flight x {args.size} B;  "
        f"bulk: {args.bulk_conns} conns x {args.bulk_inflight} in flight x {args.bulk_size} B;"
        f"  {args.duration:g} s windows, median of {args.rounds} rounds;"
    )
    print_reactors(args.servers, args.reactor)
    head = (
        f"{'':<16} {'pipelined':-^52}  {'bulk':-^40}\n"
        f"{'server':<16} {'msgs/s':>10} {'MB/s':>7} {'srv CPU':>8} {'gen CPU':>8}"
        f" {'srv us/msg':>11}  {'MB/s':>7} {'srv CPU':>8} {'gen CPU':>8} {'srv us/msg':>11}"
    )
    print(head)
    for server, modes in medians.items():
        pipe, bulk = modes["pipelined"], modes["bulk"]
        print(
            f"{server:<16} {pipe['msgs_per_s']:>10,.0f} {pipe['mb_per_s']:>7.2f}"
            f" {pipe['server_cpu_util']:>8.0%} {pipe['loadgen_cpu_util']:>8.0%}"
            f" {pipe['server_cpu_us_per_msg']:>11.2f}"
            f"  {bulk['mb_per_s']:>7.1f} {bulk['server_cpu_util']:>8.0%}"
            f" {bulk['loadgen_cpu_util']:>8.0%} {bulk['server_cpu_us_per_msg']:>11.1f}"
        )
    print("(CPU: CPU-seconds per second of the window, 100% = one core; srv = server,")
    print(" gen = loadgen; srv us/msg = server CPU microseconds per echoed message)")
    for server, modes in medians.items():
        pipe, bulk = modes["pipelined"], modes["bulk"]
        print(
            f"spread {server:<16} pipelined {pipe['msgs_per_s_min']:,.0f}"
            f"..{pipe['msgs_per_s_max']:,.0f} msgs/s, bulk {bulk['mb_per_s_min']:.0f}"
            f"..{bulk['mb_per_s_max']:.0f} MB/s; softirq {pipe['softirq_util']:.0%}"
            f" / {bulk['softirq_util']:.0%}, machine busy {pipe['machine_busy_util']:.0%}"
            f" / {bulk['machine_busy_util']:.0%} of {os.cpu_count()}00%"
        )
    found = ratios(medians)
    if found:
        print()
        for key, value in found.items():
            verdict = ""
            if key in ("pipelined_msgs_per_s", "bulk_mb_per_s"):
                verdict = "  ok (>= 0.95)" if value >= 0.95 else "  BELOW 0.95"
            print(f"netsuite / plain Twisted {key:<25} {value:.3f}x{verdict}")
    if "netsuite" in medians and "netsuite-epoll" in medians:
        print()
        for mode, rate in (("pipelined", "msgs_per_s"), ("bulk", "mb_per_s")):
            gain = reactor_gain(
                medians["netsuite"][mode],
                medians["netsuite-epoll"][mode],
                rate,
                "server_cpu_us_per_msg",
            )
            print(f"{mode:<9} {gain}")
    print()
    for server, modes in medians.items():
        for mode, fig in modes.items():
            relation = "<" if fig["loadgen_cpu_util"] < fig["server_cpu_util"] else ">="
            print(
                f"{server:<16} {mode:<9}: loadgen CPU {fig['loadgen_cpu_util']:.0%} {relation}"
                f" server CPU {fig['server_cpu_util']:.0%}"
            )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line: the windows, rounds and workload shapes."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--duration", type=float, default=10.0, help="seconds measured per workload")
    p.add_argument("--warmup", type=float, default=0.5, help="seconds before measuring")
    p.add_argument("--rounds", type=int, default=3, help="rounds (servers alternate)")
    p.add_argument(
        "--servers",
        default=",".join(SERVERS),
        help=f"comma-separated, of {', '.join(SERVERS + EXTRA_SERVERS)}",
    )
    p.add_argument("--conns", type=int, default=50)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--inflight", type=int, default=16)
    p.add_argument("--bulk-conns", type=int, default=10)
    p.add_argument("--bulk-size", type=int, default=65536)
    p.add_argument("--bulk-inflight", type=int, default=2, choices=(1, 2))
    p.add_argument(
        "--bulk-verify",
        default="sample",
        choices=("sample", "full"),
        help="bulk: compare 4 KiB of each read (sample) or every byte (full)",
    )
    p.add_argument(
        "--pin",
        default="",
        help="SERVER_CPU,LOADGEN_CPU: pin each to one CPU (e.g. 0,1); default: no pinning",
    )
    add_reactor_option(p)
    p.add_argument("--json", type=Path, default=OUT / "echo.json")
    args = p.parse_args(argv)
    args.pin = [int(c) for c in args.pin.split(",")] if args.pin else []
    asked = args.servers != ",".join(SERVERS)
    args.servers = drop_missing_uvloop([s for s in args.servers.split(",") if s], asked, "echo")
    unknown = set(args.servers) - set(SERVERS + EXTRA_SERVERS)
    if unknown or args.rounds < 1 or args.duration <= 0:
        p.error(f"bad --servers/--rounds/--duration ({sorted(unknown)})")
    return args


def main() -> int:
    """Build the load generator, run every round, print and save the medians."""
    args = parse_args()
    began = time.monotonic()
    loadgen = build_loadgen()
    runs: list[dict[str, Any]] = []
    for rnd in range(args.rounds):
        order = args.servers[rnd % len(args.servers) :] + args.servers[: rnd % len(args.servers)]
        for name in order:
            server = make_server(name, args.reactor)
            server.start()
            if args.pin:
                os.sched_setaffinity(server.pid, {args.pin[0]})
            try:
                for mode in WORKLOADS:
                    result = run_load(loadgen, server, mode, args)
                    result.update(server=name, round=rnd)
                    runs.append(result)
                    print(
                        f"round {rnd} {name:<16} {mode:<9} {result['msgs_per_s']:>10,.0f} msg/s"
                        f" {result['mb_per_s']:>8.2f} MB/s  CPU s: server"
                        f" {result['server_cpu_s']:.2f} loadgen {result['loadgen_cpu_s']:.2f}"
                        f" softirq {result['softirq_s']:.2f}"
                        f" machine busy {result['machine_busy_s']:.2f}"
                        f"  errors {result['errors']}",
                        flush=True,
                    )
                if not server.alive():
                    raise RuntimeError(f"{name} died:\n" + "\n".join(server.tail))
            finally:
                server.stop()
    medians = summarize(runs)
    print_table(medians, args)
    errors = sum(r["errors"] for r in runs)
    elapsed = time.monotonic() - began
    report = {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "machine": {
            "cpus": os.cpu_count(),
            "kernel": platform.release(),
            "python": platform.python_version(),
            "twisted": metadata.version("twisted"),
            "netsuite": metadata.version("netsuite"),
        },
        "reactors": reactor_rows(args.servers, args.reactor),
        "medians": medians,
        "netsuite_over_plain_twisted": ratios(medians),
        "errors": errors,
        "elapsed_s": round(elapsed, 1),
        "runs": runs,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nerrors: {errors}; {elapsed:.0f} s; results in {args.json}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
