"""
Memory per idle connection: netsuite-echo (twistd, every protection on) over plain TCP
and over TLS, against the Twisted tutorial echo and an asyncio echo (and their TLS
versions), each as echo.py and tls.py start them.

Why this shape: issue #15 asks for no regression in what an idle TCP or TLS connection
costs; a server that holds thousands of quiet connections (chat, IRC) is bounded by that
figure, not by throughput. Each round starts every server afresh, reads its memory, opens
N connections from this process (TLS: the handshake done, trusting the run's test CA),
sends nothing, waits until the server holds all N and its memory stops moving, reads its
memory again and closes them: (after - before) / N, median over the rounds.

    /tmp/venv/bin/python bench/memory.py [--conns 1000] [--rounds 3] [--reactor netsuite]

Memory is VmRSS (/proc/PID/status), and Pss and Private_Clean + Private_Dirty
(/proc/PID/smaps_rollup) where readable. A few connections are opened and closed before
the first reading (--warmup-conns), so one-time costs of the first connection (lazy
imports, the first TLS context use, log buffers) are not charged to the N.

netsuite's --max-per-ip (64) would refuse N connections from 127.0.0.1 and
--max-connections (1024) any N above it: each is raised to N only when its default would
refuse them; every other protection (idle timeout 300 s, handshake deadline,
backpressure) stays at its default.

Writes bench/out/memory.json; exits 1 if a server did not hold the N connections.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import socket
import ssl
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from benchproc import (
    OUT,
    STOCK_ROW,
    Server,
    add_reactor_option,
    cpu_seconds,
    print_reactors,
    reactor_rows,
    rotations,
    rss_kib,
)
from echo import make_server as make_tcp_server
from tls import make_server as make_tls_server

from netsuite.testing import TLSFiles

SERVERS = ("netsuite", "plain-twisted", "asyncio")
#: Not run by default: netsuite on Twisted's stock epoll reactor (benchproc.STOCK_ROW).
EXTRA_SERVERS = tuple(STOCK_ROW)
TRANSPORTS = ("tcp", "tls")
#: netsuite-echo's connection caps and their defaults (twistd netsuite-echo --help).
CAPS = {"--max-per-ip": 64, "--max-connections": 1024}
#: The memory figures, in KiB as /proc gives them; each is reported in bytes.
FIGURES = ("rss", "pss", "private")


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS of C{pid}, and its Pss and private memory from smaps_rollup when readable."""
    found = {"rss": rss_kib(pid)}
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            rollup = {k.rstrip(b":"): int(v) for k, v, *_ in (line.split() for line in f)
                      if k.endswith(b":") and v.isdigit()}  # fmt: skip
    except OSError:
        return found
    found["pss"] = rollup[b"Pss"]
    found["private"] = rollup[b"Private_Clean"] + rollup[b"Private_Dirty"]
    return found


def fd_count(pid: int) -> int:
    """Open file descriptors of C{pid}: its listening sockets, pipes and connections."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def make_server(name: str, transport: str, n: int, certs: TLSFiles, reactor: str) -> Server:
    """
    The named server for C{transport}, started as echo.py (tcp) or tls.py (tls) starts
    it; netsuite with each connection cap raised to C{n} where its default would refuse.
    """
    if transport == "tcp":
        server = make_tcp_server(name, reactor)
    else:
        server = make_tls_server(name, certs, reactor)
    if name == "netsuite" or name in STOCK_ROW:
        raised = [[cap, str(n)] for cap, default in CAPS.items() if n > default]
        at = server.argv.index("netsuite-echo") + 1  # plugin options follow its name
        server.argv[at:at] = [word for pair in raised for word in pair]
    return server


def open_conns(port: int, n: int, context: ssl.SSLContext | None) -> list[socket.socket]:
    """C{n} connections to 127.0.0.1:C{port}; with C{context}, each one's handshake done."""
    conns: list[socket.socket] = []
    try:
        for _ in range(n):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10.0)
            if context is not None:
                sock = context.wrap_socket(sock, server_hostname="127.0.0.1")
            conns.append(sock)
    except BaseException:
        close_all(conns)
        raise
    return conns


def close_all(conns: list[socket.socket]) -> None:
    """Close every connection (TLS ones without close_notify: the server sees EOF)."""
    for sock in conns:
        sock.close()


def settle(server: Server, fds: int, timeout: float) -> tuple[dict[str, int], bool]:
    """
    Wait until C{server} holds C{fds} descriptors and its RSS stays put for 4 readings
    50 ms apart; return its memory then, and whether it settled within C{timeout}.

    Why fds first: a kernel-completed connect() is not yet accepted; an accepted socket is
    not yet a transport and protocol (asyncio builds those a loop turn later); the TLS
    server finishes its side after the client's handshake returns. Bounded by C{timeout}.
    """
    deadline = time.monotonic() + timeout
    last, steady = memory_kib(server.pid), 0
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(f"{server.name} died:\n" + "\n".join(server.tail))
        time.sleep(0.05)  # polling /proc: the server says nothing when it has caught up
        now = memory_kib(server.pid)
        if fd_count(server.pid) == fds and now["rss"] == last["rss"]:
            steady += 1
            if steady >= 4:
                return now, True
        else:
            steady = 0
        last = now
    return last, False


def measure(
    name: str, transport: str, args: argparse.Namespace, certs: TLSFiles, client: ssl.SSLContext
) -> dict[str, Any]:
    """One fresh server: memory before and after N idle connections, and their cost."""
    server = make_server(name, transport, args.conns, certs, args.reactor)
    server.start()
    context = client if transport == "tls" else None
    try:
        base = fd_count(server.pid)
        close_all(open_conns(server.port, args.warmup_conns, context))
        before, calm = settle(server, base, args.settle_timeout)
        cpu = cpu_seconds(server.pid)
        conns = open_conns(server.port, args.conns, context)
        try:
            after, settled = settle(server, base + args.conns, args.settle_timeout)
            cpu = cpu_seconds(server.pid) - cpu
            held = fd_count(server.pid) - base
        finally:
            close_all(conns)
        if not server.alive():
            raise RuntimeError(f"{name} died:\n" + "\n".join(server.tail))
    finally:
        server.stop()
    result: dict[str, Any] = {"server": name, "transport": transport, "conns": args.conns}
    for fig in FIGURES:
        if fig in before and fig in after:
            result[f"{fig}_before"] = before[fig] * 1024
            result[f"{fig}_after"] = after[fig] * 1024
    result["bytes_per_conn"] = (result["rss_after"] - result["rss_before"]) / args.conns
    if "pss_before" in result:
        result["pss_bytes_per_conn"] = (result["pss_after"] - result["pss_before"]) / args.conns
        grown = result["private_after"] - result["private_before"]
        result["private_bytes_per_conn"] = grown / args.conns
    # Server CPU to accept them (and, over TLS, to do their handshakes), per connection.
    result["server_cpu_us_per_conn"] = 1e6 * cpu / args.conns
    result.update(held=held, settled=settled and calm)
    return result


def summarize(runs: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """Median of each figure per server and transport, plus the per-connection spread."""
    medians: dict[str, dict[str, dict[str, float]]] = {}
    for run in runs:
        medians.setdefault(run["server"], {}).setdefault(run["transport"], {})
    for server, transports in medians.items():
        for transport in transports:
            chosen = [r for r in runs if r["server"] == server and r["transport"] == transport]
            keys = [k for k in chosen[0] if isinstance(chosen[0][k], float | int)]
            keys = [k for k in keys if k not in ("conns", "held", "settled", "round")]
            summary = {k: statistics.median(r[k] for r in chosen) for k in keys}
            summary["bytes_per_conn_min"] = min(r["bytes_per_conn"] for r in chosen)
            summary["bytes_per_conn_max"] = max(r["bytes_per_conn"] for r in chosen)
            transports[transport] = summary
    return medians


def print_table(medians: dict[str, dict[str, dict[str, float]]], args: argparse.Namespace) -> None:
    """One line per server and transport: memory before and after, and per connection."""
    mib = 1024 * 1024
    print()
    print(
        f"{args.conns} idle connections (after {args.warmup_conns} opened and closed),"
        f" one fresh server per round, median of {args.rounds} rounds"
    )
    print_reactors(args.servers, args.reactor)
    print(
        f"{'server':<14} {'transport':<9} {'conns':>6} {'RSS before':>11} {'after':>9}"
        f" {'KiB/conn':>9} {'spread':>13} {'PSS KiB/conn':>13} {'priv KiB/conn':>14}"
        f" {'srv us/conn':>12}"
    )
    for server, transports in medians.items():
        for transport, fig in transports.items():
            pss = fig.get("pss_bytes_per_conn")
            priv = fig.get("private_bytes_per_conn")
            lo, hi = fig["bytes_per_conn_min"], fig["bytes_per_conn_max"]
            print(
                f"{server:<14} {transport:<9} {args.conns:>6}"
                f" {fig['rss_before'] / mib:>7.1f} MiB {fig['rss_after'] / mib:>5.1f} MiB"
                f" {fig['bytes_per_conn'] / 1024:>9.1f}"
                f" {lo / 1024:>6.1f}..{hi / 1024:<5.1f}"
                + (f" {pss / 1024:>13.1f}" if pss is not None else f" {'-':>13}")
                + (f" {priv / 1024:>14.1f}" if priv is not None else f" {'-':>14}")
                + f" {fig['server_cpu_us_per_conn']:>12.0f}"
            )
    print(
        "(KiB/conn: (VmRSS after - before) / conns; spread: min..max over the rounds;"
        " PSS, priv:\n the same from smaps_rollup; srv us/conn: server CPU to accept each"
        " connection, TLS: and its handshake)"
    )
    ns = medians.get("netsuite", {})
    for other in medians:
        if other == "netsuite":
            continue
        for transport, fig in medians[other].items():
            if transport in ns and ns[transport]["bytes_per_conn"] > 0:
                ratio = ns[transport]["bytes_per_conn"] / fig["bytes_per_conn"]
                print(f"netsuite / {other:<13} {transport}: {ratio:.2f}x the memory a connection")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line: connections, rounds, servers, transports."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--conns", type=int, default=1000, help="idle connections per server")
    p.add_argument("--rounds", type=int, default=3, help="rounds (servers alternate)")
    p.add_argument(
        "--warmup-conns",
        type=int,
        default=10,
        help="connections opened and closed before the first reading",
    )
    p.add_argument(
        "--settle-timeout",
        type=float,
        default=20.0,
        help="most seconds to wait for a server to hold the connections and its RSS to stop",
    )
    p.add_argument(
        "--servers",
        default=",".join(SERVERS),
        help=f"comma-separated, of {', '.join(SERVERS + EXTRA_SERVERS)}",
    )
    p.add_argument(
        "--transports",
        default=",".join(TRANSPORTS),
        help=f"comma-separated, of {', '.join(TRANSPORTS)}",
    )
    p.add_argument(
        "--duration",
        type=float,
        help="ignored: nothing here is a timed window (python -m bench passes it)",
    )
    add_reactor_option(p)
    p.add_argument("--json", type=Path, default=OUT / "memory.json")
    args = p.parse_args(argv)
    args.servers = [s for s in args.servers.split(",") if s]
    args.transports = [t for t in args.transports.split(",") if t]
    unknown = set(args.servers) - set(SERVERS + EXTRA_SERVERS)
    unknown |= set(args.transports) - set(TRANSPORTS)
    if unknown or args.rounds < 1 or args.conns < 1 or args.warmup_conns < 0:
        p.error(f"bad --servers/--transports/--rounds/--conns ({sorted(unknown)})")
    return args


def raise_nofile(needed: int) -> int:
    """Raise this process's soft RLIMIT_NOFILE towards C{needed} (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        soft = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


def main() -> int:
    """Make the certificate, run every round, print and save the medians."""
    args = parse_args()
    began = time.monotonic()
    # The servers inherit the limit: they hold as many sockets as this process.
    limit = raise_nofile(args.conns + 256)
    if limit < args.conns + 64:
        sys.exit(f"memory: RLIMIT_NOFILE {limit} is too low for --conns {args.conns}")
    # One ECDSA P-256 leaf (netsuite.tls._pki via TLSFiles, as tls.py makes) served by
    # every TLS server; a directory of its own: tls.py rewrites tls-certs at each run, and
    # netsuite reloads its certificate (reloadInterval), so sharing it could swap the CA
    # under the other run's clients.
    certs = TLSFiles(OUT / "memory-certs")
    client = ssl.create_default_context(cafile=certs.ca_path)
    runs: list[dict[str, Any]] = []
    for rnd, order in rotations(args.servers, args.rounds):
        for transport in args.transports:
            for name in order:
                result = measure(name, transport, args, certs, client)
                result["round"] = rnd
                runs.append(result)
                print(
                    f"round {rnd} {name:<14} {transport:<4} {result['conns']} conns:"
                    f" RSS {result['rss_before'] / 2**20:.1f} -> {result['rss_after'] / 2**20:.1f}"
                    f" MiB, {result['bytes_per_conn'] / 1024:.1f} KiB/conn;"
                    f" held {result['held']}, settled {result['settled']}",
                    flush=True,
                )
    medians = summarize(runs)
    print_table(medians, args)
    errors = sum(1 for r in runs if r["held"] != r["conns"])
    unsettled = sum(1 for r in runs if not r["settled"])
    elapsed = time.monotonic() - began
    report = {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "machine": {
            "cpus": os.cpu_count(),
            "kernel": platform.release(),
            "python": platform.python_version(),
            "twisted": metadata.version("twisted"),
            "netsuite": metadata.version("netsuite"),
            "python_ssl_openssl": ssl.OPENSSL_VERSION,
        },
        "reactors": reactor_rows(args.servers, args.reactor),
        "medians": medians,
        "errors": errors,
        "unsettled": unsettled,
        "elapsed_s": round(elapsed, 1),
        "runs": runs,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"\nerrors (a server not holding every connection): {errors}; RSS never steady: "
        f"{unsettled}; {elapsed:.0f} s; results in {args.json}"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
