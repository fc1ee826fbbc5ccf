"""
Chat fan-out: deliveries per second of netsuite-chat against a naive Twisted broadcast
and the tutorial's thread-per-client chat room, measured by one C load generator
(chatgen.c) in one run.

Why this shape: a chat server's cost is the fan-out (one message, M writes), so the
figure is deliveries/s = messages completed x receivers / s, at M = 50 and M = 500. One
member sends with a bounded window (a message is complete when the slowest receiver has
it), every member reads and checks every message in order. Servers are alternated
across rounds and medians taken, as in echo.py, so a noisy neighbour hurts all alike.

    /tmp/venv/bin/python bench/chat.py [--duration 8] [--rounds 3] [--members 50,500]

Writes bench/out/chat.json; exits 1 if a receiver missed, reordered or got a changed
message, or a connection failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
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
    PolledServer,
    Server,
    add_reactor_option,
    build_c,
    print_reactors,
    reactor_rows,
    rotations,
    run_windowed,
    twistd_command,
    window_options,
    with_reactor,
)

SERVERS = ("netsuite", "naive-twisted", "threaded", "ncat")
#: Servers that relay a line to everyone but its sender (chatgen --sender-receives 0).
NOT_TO_SENDER = ("ncat",)
#: ncat 7.93's broker does not take 500 members here: some never get a line (chatgen:
#: "only 435 of 499 receivers joined"), whatever the probe interval; it runs up to this.
NCAT_MAX_MEMBERS = 100
#: Not run by default: peers/netsuite_corked_chat.py, a what-if experiment (see there);
#: netsuite on Twisted's stock epoll reactor (benchproc.STOCK_ROW; netsuite runs on
#: --reactor, default its own).
EXPERIMENTS = ("netsuite-corked", *STOCK_ROW)
CHATGEN_SRC = BENCH / "chatgen.c"
CHATGEN = OUT / "chatgen"

# "... chat/line listening on tcp 127.0.0.1:37053" (netsuite.twistd._service.ListenerService)
CHAT_PORT = re.compile(rb"chat/line listening on tcp 127\.0\.0\.1:(\d+)")

#: What netsuite-chat runs with. Only the flood limit is raised (one member sends
#: ~10^4 messages/s here, the default is 5/s); max-per-ip is raised from 64 because
#: every member comes from 127.0.0.1. Everything else stays on at its default:
#: the 1 MiB send-queue bound per member, max-connections 1024, the idle timeout.
#: backlog=512 (Twisted's default is 50) only keeps 500 connects from overflowing the
#: accept queue during setup; all three servers get it.
NETSUITE_OPTIONS = (
    "--listen", "tcp:0:interface=127.0.0.1:backlog=512",
    "--irc-listen", "none",
    "--flood-rate", "1000000",
    "--flood-burst", "1000000",
    "--max-per-ip", "1000",
)  # fmt: skip


class NcatBroker(PolledServer):
    """
    C{ncat --broker} (Debian's nmap ncat), the limit row: C code relaying each line to
    every other client, as C{ncat --chat} does without its nick prefix. Up to 2,000
    connections (its default cap is 100).
    """

    open_stdin = True

    def __init__(self) -> None:
        super().__init__("ncat")

    def command(self, port: int) -> list[str]:
        ncat = shutil.which("ncat")
        if ncat is None:
            raise RuntimeError("ncat not found: apt-get install -y ncat")
        return [ncat, "--broker", "--listen", "--max-conns", "2000", "127.0.0.1", str(port)]


def make_server(name: str, nagle: bool, reactor: str = "") -> Server:
    """
    The named server, not yet started (peers get TCP_NODELAY unless C{nagle}); netsuite
    under C{twistd --reactor REACTOR}.
    """
    if name == "ncat":
        return NcatBroker()
    if name == "netsuite" or name in STOCK_ROW:
        argv = [*twistd_command(), "-n", "--pidfile=", "netsuite-chat", *NETSUITE_OPTIONS]
        return Server(name, with_reactor(argv, STOCK_ROW.get(name, reactor)), CHAT_PORT)
    if name == "netsuite-corked":
        argv = [sys.executable, str(BENCH / "peers" / "netsuite_corked_chat.py")]
        return Server(name, argv + list(NETSUITE_OPTIONS), CHAT_PORT)
    peer = {"naive-twisted": "naive_twisted_chat.py", "threaded": "threaded_chat.py"}[name]
    argv = [sys.executable, str(BENCH / "peers" / peer)] + ([] if nagle else ["--nodelay"])
    return Server(name, argv, BARE_PORT)


def run_load(server: Server, members: int, args: argparse.Namespace) -> dict[str, Any]:
    """One chatgen run against C{server}; server and machine CPU cover its window."""
    argv = [str(CHATGEN), "--port", str(server.port), "--members", str(members)]
    argv += ["--size", str(args.size), "--window", str(args.window)]
    argv += ["--duration", str(args.duration), "--warmup", str(args.warmup)]
    if server.name in NOT_TO_SENDER:
        argv += ["--sender-receives", "0"]
    # Setup (connects, joins) is bounded by chatgen itself (30 s + 60 s); + drain 5 s.
    timeout = args.warmup + args.duration + 120.0
    result, status = run_windowed(argv, server.pid, timeout, args.pin[1] if args.pin else None)
    if result is None:
        raise RuntimeError(
            f"chatgen against {server.name} ({members} members) gave no result"
            f" (exit {status})\n" + "\n".join(server.tail)
        )
    window = result["duration_s"] or 1.0
    result["loadgen_cpu_s"] = result["cpu_user_s"] + result["cpu_sys_s"]
    result["server_cpu_util"] = result["server_cpu_s"] / window
    result["loadgen_cpu_util"] = result["loadgen_cpu_s"] / window
    result["softirq_util"] = result["softirq_s"] / window
    result["machine_busy_util"] = result["machine_busy_s"] / window
    # CPU per delivery: steadier than throughput on a shared machine.
    deliveries = max(result["deliveries"], 1)
    result["server_cpu_us_per_delivery"] = 1e6 * result["server_cpu_s"] / deliveries
    result["loadgen_cpu_us_per_delivery"] = 1e6 * result["loadgen_cpu_s"] / deliveries
    return result


FIGURES = (
    "deliveries_per_s",
    "msgs_per_s",
    "server_cpu_util",
    "loadgen_cpu_util",
    "softirq_util",
    "machine_busy_util",
    "server_cpu_us_per_delivery",
    "loadgen_cpu_us_per_delivery",
    "setup_s",
)


def summarize(runs: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """Median of each figure per server and member count, plus the throughput spread."""
    medians: dict[str, dict[str, dict[str, float]]] = {}
    for run in runs:
        medians.setdefault(run["server"], {}).setdefault(str(run["members"]), {})
    for server, sizes in medians.items():
        for m in sizes:
            chosen = [r for r in runs if r["server"] == server and str(r["members"]) == m]
            summary = {f: statistics.median(r[f] for r in chosen) for f in FIGURES}
            summary["deliveries_per_s_min"] = min(r["deliveries_per_s"] for r in chosen)
            summary["deliveries_per_s_max"] = max(r["deliveries_per_s"] for r in chosen)
            sizes[m] = summary
    return medians


def ratios(medians: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """
    netsuite (and the corked experiment, when run) over each peer, per member count:
    deliveries/s (the target is >= 1.0 over naive Twisted) and server-CPU efficiency
    (the peer's CPU per delivery over netsuite's; above 1 means netsuite is cheaper).
    """
    out: dict[str, dict[str, float]] = {}
    for mine in ("netsuite", *EXPERIMENTS):
        ns = medians.get(mine)
        if ns is None:
            continue
        for peer in ("naive-twisted", "threaded"):
            other = medians.get(peer)
            if other is None:
                continue
            for m in ns:
                if m not in other:
                    continue
                out.setdefault(f"{mine}/{peer}", {})[m] = (
                    ns[m]["deliveries_per_s"] / other[m]["deliveries_per_s"]
                )
                out.setdefault(f"{mine}/{peer} cpu efficiency", {})[m] = (
                    other[m]["server_cpu_us_per_delivery"] / ns[m]["server_cpu_us_per_delivery"]
                )
    return out


def print_table(
    medians: dict[str, dict[str, dict[str, float]]], runs: list[dict[str, Any]],
    args: argparse.Namespace,
) -> None:  # fmt: skip
    """Medians per server and member count, the ratios, and the CPU comparison."""
    print()
    size = args.size
    print(
        f"chat fan-out: 1 sender, {size} B lines (netsuite delivers them with a"
        f" '[#lobby] <guestN> ' prefix, ~{size + 18} B), at most {args.window} messages"
        f" beyond the slowest receiver;"
    )
    print(
        f"every member (the sender included) receives and checks every message;"
        f" {args.duration:g} s windows, median of {args.rounds} rounds"
    )
    if any(name.startswith("netsuite") for name in args.servers):
        print(
            "netsuite-chat: flood limit raised (--flood-rate/--flood-burst 1000000),"
            " --max-per-ip 1000 (all members are 127.0.0.1);"
        )
        print("  send-queue bound 1 MiB, max-connections 1024, idle timeout: defaults, on.")
    print_reactors(args.servers, args.reactor)
    print(
        "peers: textbook, Nagle on (--peer-nagle)"
        if args.peer_nagle
        else "peers: TCP_NODELAY, as netsuite (--peer-nagle: textbook)"
    )
    print(
        f"{'server':<16} {'members':>7} {'deliveries/s':>13} {'msgs/s':>9} {'srv CPU':>8}"
        f" {'gen CPU':>8} {'srv us/dlv':>11} {'gen us/dlv':>11} {'setup s':>8}"
    )
    for server, sizes in medians.items():
        for m, fig in sizes.items():
            print(
                f"{server:<16} {m:>7} {fig['deliveries_per_s']:>13,.0f}"
                f" {fig['msgs_per_s']:>9,.0f} {fig['server_cpu_util']:>8.0%}"
                f" {fig['loadgen_cpu_util']:>8.0%} {fig['server_cpu_us_per_delivery']:>11.2f}"
                f" {fig['loadgen_cpu_us_per_delivery']:>11.2f} {fig['setup_s']:>8.1f}"
            )
    print("(CPU: CPU-seconds per second of the window, 100% = one core; srv = server,")
    print(" gen = chatgen; us/dlv = CPU microseconds per delivery; setup = connect + join)")
    for server, sizes in medians.items():
        for m, fig in sizes.items():
            print(
                f"spread {server:<16} {m:>4} members: {fig['deliveries_per_s_min']:,.0f}"
                f"..{fig['deliveries_per_s_max']:,.0f} deliveries/s; softirq"
                f" {fig['softirq_util']:.0%}, machine busy {fig['machine_busy_util']:.0%}"
                f" of {os.cpu_count()}00%"
            )
    found = ratios(medians)
    if found:
        print()
        for key, per_m in found.items():
            for m, value in per_m.items():
                verdict = ""
                if key.endswith("/naive-twisted"):
                    verdict = "  ok (>= 1.0)" if value >= 1.0 else "  BELOW 1.0"
                print(f"{key:<47} {m:>4} members {value:7.3f}x{verdict}")
    print()
    for server, sizes in medians.items():
        for m, fig in sizes.items():
            relation = "<" if fig["loadgen_cpu_util"] < fig["server_cpu_util"] else ">="
            print(
                f"{server:<16} {m:>4} members: chatgen CPU {fig['loadgen_cpu_util']:.0%}"
                f" {relation} server CPU {fig['server_cpu_util']:.0%}"
            )
    errors = sum(r["errors"] for r in runs)
    checked = sum(r["sent"] * r["receivers"] for r in runs)
    print(
        f"\nverification: {checked:,} deliveries checked (sequence and bytes), errors"
        f" {errors} (gaps {sum(r['gaps'] for r in runs)}, changed"
        f" {sum(r['content_errors'] for r in runs)}, missing at the end"
        f" {sum(r['missing_at_end'] for r in runs)}, connections"
        f" {sum(r['conn_errors'] for r in runs)})"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line: windows, rounds, member counts and the message shape."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    window_options(p, duration=8.0, warmup=1.0)
    p.add_argument(
        "--servers",
        default=",".join(SERVERS),
        help=f"comma-separated, of {', '.join(SERVERS + EXPERIMENTS)}",
    )
    p.add_argument("--members", default="50,500", help="member counts, comma-separated")
    p.add_argument("--size", type=int, default=64, help="bytes per line sent, CRLF included")
    p.add_argument("--window", type=int, default=32, help="messages beyond the slowest receiver")
    p.add_argument(
        "--peer-nagle",
        action="store_true",
        help="run the peers textbook (Nagle on) instead of with TCP_NODELAY",
    )
    p.add_argument(
        "--pin",
        default="",
        help="SERVER_CPU,LOADGEN_CPU: pin each to one CPU (e.g. 0,1); default: no pinning",
    )
    add_reactor_option(p)
    p.add_argument("--json", type=Path, default=OUT / "chat.json")
    args = p.parse_args(argv)
    args.pin = [int(c) for c in args.pin.split(",")] if args.pin else []
    args.servers = [s for s in args.servers.split(",") if s]
    args.members = [int(m) for m in args.members.split(",") if m]
    unknown = set(args.servers) - set(SERVERS) - set(EXPERIMENTS)
    if unknown or args.rounds < 1 or args.duration <= 0 or any(m < 2 for m in args.members):
        p.error(f"bad --servers/--rounds/--duration/--members ({sorted(unknown)})")
    return args


def main() -> int:
    """Build chatgen, run every round (a fresh server per run), print and save medians."""
    args = parse_args()
    began = time.monotonic()
    build_c(CHATGEN_SRC, CHATGEN)
    runs: list[dict[str, Any]] = []
    for rnd, order in rotations(args.servers, args.rounds):
        for name in order:
            for members in args.members:
                if name == "ncat" and members > NCAT_MAX_MEMBERS:
                    if rnd == 0:
                        print(f"ncat left out at {members} members (above {NCAT_MAX_MEMBERS})")
                    continue
                # A fresh server per run: no history replay or leftover quits from the
                # previous member count in the next measurement.
                server = make_server(name, args.peer_nagle, args.reactor)
                server.start()
                if args.pin:
                    os.sched_setaffinity(server.pid, {args.pin[0]})
                try:
                    result = run_load(server, members, args)
                    if not server.alive():
                        raise RuntimeError(f"{name} died:\n" + "\n".join(server.tail))
                finally:
                    server.stop()
                setup = result["connect_s"] + result["sync_s"]
                result.update(server=name, round=rnd, setup_s=setup)
                runs.append(result)
                print(
                    f"round {rnd} {name:<16} {members:>4} members"
                    f" {result['deliveries_per_s']:>11,.0f} deliveries/s"
                    f" ({result['msgs_per_s']:,.0f} msgs/s)  CPU s: server"
                    f" {result['server_cpu_s']:.2f} chatgen {result['loadgen_cpu_s']:.2f}"
                    f" softirq {result['softirq_s']:.2f} busy {result['machine_busy_s']:.2f}"
                    f"  setup {result['setup_s']:.1f} s  errors {result['errors']}",
                    flush=True,
                )
    medians = summarize(runs)
    print_table(medians, runs, args)
    errors = sum(r["errors"] for r in runs)
    elapsed = time.monotonic() - began
    report = {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "netsuite_command": with_reactor(
            ["twistd", "-n", "--pidfile=", "netsuite-chat", *NETSUITE_OPTIONS], args.reactor, 1
        ),
        "reactors": reactor_rows(args.servers, args.reactor),
        "machine": {
            "cpus": os.cpu_count(),
            "kernel": platform.release(),
            "python": platform.python_version(),
            "twisted": metadata.version("twisted"),
            "netsuite": metadata.version("netsuite"),
        },
        "medians": medians,
        "ratios": ratios(medians),
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
