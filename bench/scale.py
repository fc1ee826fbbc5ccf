"""
Chat fan-out across processes: deliveries per second of one hub spread over 1, 2 and 3
netsuite-chat processes joined by the Redis backbone, against the single in-memory hub,
in one run, with the CPU per delivery of the chat processes and of redis-server.

Why this shape: the backbone's price is the Redis round trip and one more pass over
each message per process (every process, the sender's included, delivers a room
message from the room's stream), its gain is that the members' sockets, the costly part
of a fan-out, are written by several processes. The load is chat.py's (one sender, a
bounded window, every member reads and checks every message in order); chatgen's
--ports puts member i on process i mod N, the sender on the first.

    .venv/bin/python bench/scale.py [--duration 8] [--rounds 3] [--members 500]
        [--setups memory,backbone-1,backbone-2,backbone-3]

Each run starts a fresh redis-server (Debian's, loopback, persistence off, through
netsuite.testing.RedisServer) and fresh chat processes. Writes bench/out/scale.json;
exits 1 if a receiver missed, reordered or got a changed message.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from benchproc import (
    OUT,
    Server,
    build_c,
    rotations,
    run_windowed,
    twistd_command,
    window_options,
)
from chat import CHAT_PORT, CHATGEN, CHATGEN_SRC, NETSUITE_OPTIONS

from netsuite.testing.redisserver import RedisServer

SETUPS = ("memory", "backbone-1", "backbone-2", "backbone-3")


def processes(setup: str) -> int:
    """How many chat processes a setup runs (the in-memory hub: one)."""
    return 1 if setup == "memory" else int(setup.rsplit("-", 1)[1])


def start_setup(setup: str) -> tuple[list[Server], RedisServer | None]:
    """The chat processes of C{setup}, started, and its redis-server (None in memory)."""
    redis = None
    extra: list[str] = []
    if setup != "memory":
        redis = RedisServer().start()
        extra = ["--backbone", redis.url]
    servers: list[Server] = []
    try:
        for k in range(processes(setup)):
            argv = [*twistd_command(), "-n", "--pidfile=", "netsuite-chat"]
            server = Server(f"{setup}/{k}", [*argv, *NETSUITE_OPTIONS, *extra], CHAT_PORT)
            server.start()
            servers.append(server)
    except BaseException:
        stop_setup(servers, redis)
        raise
    return servers, redis


def stop_setup(servers: list[Server], redis: RedisServer | None) -> None:
    """SIGTERM every chat process, then stop redis-server."""
    for server in servers:
        server.stop()
    if redis is not None:
        redis.stop()


def run_load(
    servers: list[Server], redis: RedisServer | None, args: argparse.Namespace
) -> dict[str, Any]:
    """One chatgen run over C{servers}; CPU of the chat processes and of Redis."""
    ports = ",".join(str(s.port) for s in servers)
    argv = [str(CHATGEN), "--ports", ports, "--members", str(args.members)]
    argv += ["--size", str(args.size), "--window", str(args.window)]
    argv += ["--duration", str(args.duration), "--warmup", str(args.warmup)]
    others = {}
    if redis is not None and redis.process is not None:
        others["redis"] = redis.process.pid
    timeout = args.warmup + args.duration + 120.0
    result, status = run_windowed(argv, [s.pid for s in servers], timeout, None, others)
    if result is None:
        tails = "\n".join(line for s in servers for line in s.tail)
        raise RuntimeError(f"chatgen gave no result (exit {status})\n{tails}")
    deliveries = max(result["deliveries"], 1)
    messages = max(result["sent"], 1)
    redis_cpu = result.get("redis_cpu_s", 0.0)
    window = result["duration_s"] or 1.0
    result["server_cpu_util"] = result["server_cpu_s"] / window
    result["redis_cpu_util"] = redis_cpu / window
    result["machine_busy_util"] = result["machine_busy_s"] / window
    result["server_cpu_us_per_delivery"] = 1e6 * result["server_cpu_s"] / deliveries
    result["redis_cpu_us_per_delivery"] = 1e6 * redis_cpu / deliveries
    result["total_cpu_us_per_delivery"] = 1e6 * (result["server_cpu_s"] + redis_cpu) / deliveries
    result["redis_cpu_us_per_msg"] = 1e6 * redis_cpu / messages
    return result


FIGURES = (
    "deliveries_per_s",
    "msgs_per_s",
    "server_cpu_util",
    "redis_cpu_util",
    "machine_busy_util",
    "server_cpu_us_per_delivery",
    "redis_cpu_us_per_delivery",
    "total_cpu_us_per_delivery",
    "redis_cpu_us_per_msg",
)


def summarize(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Median of each figure per setup, with the spread of deliveries/s."""
    medians: dict[str, dict[str, float]] = {}
    for setup in dict.fromkeys(r["setup"] for r in runs):
        chosen = [r for r in runs if r["setup"] == setup]
        summary = {f: statistics.median(r[f] for r in chosen) for f in FIGURES}
        summary["deliveries_per_s_min"] = min(r["deliveries_per_s"] for r in chosen)
        summary["deliveries_per_s_max"] = max(r["deliveries_per_s"] for r in chosen)
        medians[setup] = summary
    return medians


def print_table(medians: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    """One line per setup, with the ratio to the in-memory hub and Redis's share."""
    print()
    print(
        f"chat fan-out across processes: {args.members} members (member i on process"
        f" i mod N), 1 sender, {args.size} B lines, window {args.window};"
        f" {args.duration:g} s windows, median of {args.rounds} rounds; {os.cpu_count()} CPUs"
    )
    print(
        f"{'setup':<12} {'deliveries/s':>13} {'min..max':>19} {'msgs/s':>8} {'x memory':>9}"
        f" {'chat CPU':>9} {'redis CPU':>10} {'chat us/dlv':>12} {'redis us/dlv':>13}"
        f" {'redis us/msg':>13} {'busy':>6}"
    )
    base = medians.get("memory", {}).get("deliveries_per_s")
    for setup, fig in medians.items():
        ratio = f"{fig['deliveries_per_s'] / base:.2f}x" if base else "-"
        spread = f"{fig['deliveries_per_s_min']:,.0f}..{fig['deliveries_per_s_max']:,.0f}"
        print(
            f"{setup:<12} {fig['deliveries_per_s']:>13,.0f} {spread:>19}"
            f" {fig['msgs_per_s']:>8,.0f} {ratio:>9} {fig['server_cpu_util']:>9.0%}"
            f" {fig['redis_cpu_util']:>10.0%} {fig['server_cpu_us_per_delivery']:>12.2f}"
            f" {fig['redis_cpu_us_per_delivery']:>13.3f} {fig['redis_cpu_us_per_msg']:>13.1f}"
            f" {fig['machine_busy_util']:>6.0%}"
        )
    print("(CPU: CPU-seconds per second of the window, 100% = one core; chat = all chat")
    print(" processes together; us/dlv = CPU microseconds per delivery; busy = the machine)")
    for setup, fig in medians.items():
        if fig["redis_cpu_us_per_msg"] > 0:
            carried = 1e6 / fig["redis_cpu_us_per_msg"]
            print(
                f"{setup}: one Redis core at this cost carries about {carried:,.0f}"
                f" room messages/s read by {processes(setup)} process(es)"
            )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line: windows, rounds, members, setups and the message shape."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    window_options(p, duration=8.0, warmup=1.0, what="setups")
    p.add_argument("--members", type=int, default=500, help="members over all processes")
    p.add_argument("--setups", default=",".join(SETUPS), help=f"of {', '.join(SETUPS)}")
    p.add_argument("--size", type=int, default=64, help="bytes per line sent, CRLF included")
    p.add_argument("--window", type=int, default=32, help="messages beyond the slowest receiver")
    p.add_argument("--json", type=Path, default=OUT / "scale.json")
    args = p.parse_args(argv)
    args.setups = [s for s in args.setups.split(",") if s]
    if set(args.setups) - set(SETUPS) or args.rounds < 1 or args.members < 2:
        p.error(f"bad --setups/--rounds/--members (setups: {', '.join(SETUPS)})")
    return args


def main() -> int:
    """Build chatgen, run every round (fresh processes per run), print and save medians."""
    args = parse_args()
    began = time.monotonic()
    build_c(CHATGEN_SRC, CHATGEN)
    runs: list[dict[str, Any]] = []
    for rnd, order in rotations(args.setups, args.rounds):
        for setup in order:
            servers, redis = start_setup(setup)
            try:
                result = run_load(servers, redis, args)
                dead = [s.name for s in servers if not s.alive()]
                if dead:
                    raise RuntimeError(f"died: {dead}")
            finally:
                stop_setup(servers, redis)
            result.update(setup=setup, round=rnd)
            runs.append(result)
            print(
                f"round {rnd} {setup:<12} {result['deliveries_per_s']:>11,.0f} deliveries/s"
                f"  CPU s: chat {result['server_cpu_s']:.2f}"
                f" redis {result.get('redis_cpu_s', 0.0):.2f}"
                f" busy {result['machine_busy_s']:.2f}  errors {result['errors']}",
                flush=True,
            )
    medians = summarize(runs)
    print_table(medians, args)
    errors = sum(r["errors"] for r in runs)
    report = {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "machine": {
            "cpus": os.cpu_count(),
            "kernel": platform.release(),
            "python": platform.python_version(),
            "twisted": metadata.version("twisted"),
            "txredisapi": metadata.version("txredisapi"),
            "netsuite": metadata.version("netsuite"),
        },
        "medians": medians,
        "errors": errors,
        "elapsed_s": round(time.monotonic() - began, 1),
        "runs": runs,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nerrors: {errors}; results in {args.json}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
