"""
TLS echo: handshakes a second (full and resumed) and bulk TLS echo, netsuite's C{nstls:}
echo against Twisted's own C{ssl:} endpoint and asyncio's ssl, by one C load generator.

Why this shape: the same as echo.py (one run, servers rotated across rounds, medians, the
server's and the load generator's CPU over the same window), because TLS adds costs that
plain TCP hides (key exchange per connection, a memory BIO and two copies per chunk in
Twisted) and the question is whether netsuite's defaults (tickets, groups, a handshake
deadline, connection logging) cost or pay.

    /tmp/venv/bin/python bench/tls.py [--duration 4] [--rounds 3]

Writes bench/out/tls.json; exits 1 if any echoed byte was wrong or a connection failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import ssl
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
    Server,
    add_reactor_option,
    gen_command,
    print_reactors,
    reactor_rows,
    run_windowed,
    twistd_command,
    with_reactor,
)

from netsuite.testing import TLSFiles

SERVERS = ("netsuite", "plain-twisted", "asyncio")
#: Not run by default, for A/B profiling: netsuite with its per-connection log lines
#: dropped (peers/quiet_twistd.py), and also without its per-connection guards (handshake
#: deadline, idle timer, connection caps).
#: And netsuite on Twisted's stock epoll reactor (benchproc.STOCK_ROW).
EXTRA_SERVERS = ("netsuite-quietlog", "netsuite-bare", *STOCK_ROW)
TLSGEN_SRC = BENCH / "tlsgen.c"
TLSGEN = OUT / "tlsgen"
# "... echo/tls listening on tls 127.0.0.1:37009" (netsuite.twistd._service.ListenerService)
TLS_PORT = re.compile(rb"echo/tls listening on tls 127\.0\.0\.1:(\d+)")

#: name -> (tlsgen arguments, headline figure, what it counts)
HS, RESUME = ["--mode", "handshake", "--tls"], ["--resume", "1"]
WORKLOADS: dict[str, tuple[list[str], str, str]] = {
    "full-1.3": ([*HS, "1.3"], "cycles_per_s", "hs/s"),
    "full-1.2": ([*HS, "1.2"], "cycles_per_s", "hs/s"),
    "resume-1.3": ([*HS, "1.3", *RESUME], "cycles_per_s", "hs/s"),
    "resume-1.2": ([*HS, "1.2", *RESUME], "cycles_per_s", "hs/s"),
    "bulk": (["--mode", "bulk", "--tls", "1.3"], "mb_per_s", "MB/s"),
}
DEFAULT_WORKLOADS = ("full-1.3", "full-1.2", "resume-1.3", "bulk")
#: The workloads the issue's target (netsuite >= 1.0x plain Twisted ssl:) is about.
TARGETS = ("full-1.3", "bulk")


def build_tlsgen() -> Path:
    """Compile tlsgen.c against the system's libssl now, so the binary matches the source."""
    OUT.mkdir(parents=True, exist_ok=True)
    cmd = gen_command(TLSGEN_SRC, TLSGEN, ("-lssl", "-lcrypto"))
    try:
        subprocess.run(cmd, check=True)
    except subprocess.CalledProcessError:
        sys.exit("building tlsgen failed: libssl-dev missing? (apt-get install -y libssl-dev)")
    return TLSGEN


def make_server(name: str, certs: TLSFiles, reactor: str = "") -> Server:
    """
    The named server, not yet started, serving the run's certificate; netsuite (and its
    A/B variants) under C{twistd --reactor REACTOR}, netsuite-epoll under epoll.
    """
    cert, key = certs.cert_path, certs.key_path
    if name.startswith("netsuite"):
        launcher = twistd_command()
        if name in ("netsuite-quietlog", "netsuite-bare"):  # drop per-connection log lines
            launcher = [sys.executable, str(BENCH / "peers" / "quiet_twistd.py")]
        description = f"nstls:0:interface=127.0.0.1:cert={cert}:key={key}"
        options: list[str] = []
        if name == "netsuite-bare":  # and switch off every per-connection guard
            description += ":handshakeTimeout=0:reloadInterval=0"
            options = ["--idle-timeout", "0", "--max-connections", "0", "--max-per-ip", "0"]
        argv = [*launcher, "-n", "--pidfile=", "netsuite-echo", *options, "--listen", description]
        argv = with_reactor(argv, STOCK_ROW.get(name, reactor), len(launcher))
        return Server(name, argv, TLS_PORT)
    peer = {"plain-twisted": "twisted_ssl_echo.py", "asyncio": "asyncio_ssl_echo.py"}[name]
    return Server(name, [sys.executable, str(BENCH / "peers" / peer), cert, key], BARE_PORT)


def tlsgen_argv(workload: str, port: int, args: argparse.Namespace, ca: str) -> list[str]:
    """The tlsgen command line for one workload."""
    argv = [str(TLSGEN), "--port", str(port), *WORKLOADS[workload][0]]
    if workload == "bulk":
        argv += ["--conns", str(args.bulk_conns), "--size", str(args.bulk_size)]
        argv += ["--inflight", str(args.bulk_inflight), "--verify", args.bulk_verify]
    else:
        argv += ["--conns", str(args.hs_conns), "--size", str(args.size)]
    if args.verify_chain:
        argv += ["--ca", ca]
    return [*argv, "--duration", str(args.duration), "--warmup", str(args.warmup)]


def run_load(workload: str, server: Server, args: argparse.Namespace, ca: str) -> dict[str, Any]:
    """One tlsgen window against C{server}, with the server's CPU over the same seconds."""
    argv = tlsgen_argv(workload, server.port, args, ca)
    timeout = args.warmup + args.duration + 30.0
    result, status = run_windowed(argv, server.pid, timeout, args.pin[1] if args.pin else None)
    if result is None:
        raise RuntimeError(
            f"tlsgen {workload} against {server.name} gave no result (exit {status})\n"
            + "\n".join(server.tail)
        )
    window = result["duration_s"] or 1.0
    result["loadgen_cpu_s"] = result["cpu_user_s"] + result["cpu_sys_s"]
    result["server_cpu_util"] = result["server_cpu_s"] / window
    result["loadgen_cpu_util"] = result["loadgen_cpu_s"] / window
    result["softirq_util"] = result["softirq_s"] / window
    result["machine_busy_util"] = result["machine_busy_s"] / window
    # Server CPU per unit of work: steadier than throughput on a shared machine.
    if workload == "bulk":
        mb = max(result["mb_per_s"] * window, 1e-9)
        result["server_cpu_us_per_unit"] = 1e6 * result["server_cpu_s"] / mb  # per MB
        result["loadgen_cpu_us_per_unit"] = 1e6 * result["loadgen_cpu_s"] / mb
    else:
        done = max(result["msgs"], 1)
        result["server_cpu_us_per_unit"] = 1e6 * result["server_cpu_s"] / done  # per conn
        result["loadgen_cpu_us_per_unit"] = 1e6 * result["loadgen_cpu_s"] / done
    return result


FIGURES = (
    "cycles_per_s",
    "mb_per_s",
    "resumed_fraction",
    "hs_p50_ms",
    "hs_p99_ms",
    "cycle_p50_ms",
    "server_cpu_util",
    "loadgen_cpu_util",
    "softirq_util",
    "machine_busy_util",
    "server_cpu_us_per_unit",
    "loadgen_cpu_us_per_unit",
)


def summarize(runs: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Median of each figure per server and workload, plus the headline's spread."""
    medians: dict[str, dict[str, dict[str, Any]]] = {}
    for run in runs:
        medians.setdefault(run["server"], {}).setdefault(run["workload"], {})
    for server, loads in medians.items():
        for workload in loads:
            chosen = [r for r in runs if r["server"] == server and r["workload"] == workload]
            summary: dict[str, Any] = {f: statistics.median(r[f] for r in chosen) for f in FIGURES}
            head = WORKLOADS[workload][1]
            summary["headline"] = summary[head]
            summary["headline_min"] = min(r[head] for r in chosen)
            summary["headline_max"] = max(r[head] for r in chosen)
            for key in ("version", "cipher", "group"):
                summary[key] = chosen[-1][key]
            loads[workload] = summary
    return medians


Medians = dict[str, dict[str, dict[str, Any]]]


def ratios(medians: Medians) -> dict[str, dict[str, dict[str, float]]]:
    """
    netsuite over each other server, per workload: throughput (hs/s or MB/s) and server
    CPU efficiency (the other's CPU per unit over netsuite's; above 1: netsuite cheaper).
    """
    out: dict[str, dict[str, dict[str, float]]] = {}
    ns = medians.get("netsuite")
    if ns is None:
        return out
    for other in ("plain-twisted", "asyncio"):
        if other not in medians:
            continue
        per: dict[str, dict[str, float]] = {}
        for workload, fig in ns.items():
            theirs = medians[other].get(workload)
            if not theirs or not theirs["headline"] or not fig["server_cpu_us_per_unit"]:
                continue
            per[workload] = {
                "throughput": fig["headline"] / theirs["headline"],
                "cpu_efficiency": theirs["server_cpu_us_per_unit"] / fig["server_cpu_us_per_unit"],
            }
        out[other] = per
    return out


def print_table(medians: dict[str, dict[str, dict[str, Any]]], args: argparse.Namespace) -> None:
    """Medians per server and workload, the ratios, and the CPU comparison."""
    print()
    print_reactors(args.servers, args.reactor)
    print(
        f"handshakes: {args.hs_conns} conns, each connect + handshake + {args.size} B echo +"
        f" close_notify, repeated;  bulk: {args.bulk_conns} conns x {args.bulk_inflight}"
        f" in flight x {args.bulk_size} B (TLS 1.3);  {args.duration:g} s windows, median of"
        f" {args.rounds} rounds; chain verified by the client: {args.verify_chain}"
    )
    print(
        f"{'server':<14} {'workload':<11} {'figure':>12} {'resumed':>8} {'hs p50':>8}"
        f" {'hs p99':>8} {'srv CPU':>8} {'gen CPU':>8} {'srv us/unit':>12} {'gen us/unit':>12}"
    )
    for server, loads in medians.items():
        for workload, fig in loads.items():
            unit = WORKLOADS[workload][2]
            hs = workload != "bulk"
            print(
                f"{server:<14} {workload:<11} {fig['headline']:>7,.0f} {unit:<4}"
                f" {fig['resumed_fraction']:>8.0%}"
                + (f" {fig['hs_p50_ms']:>6.1f}ms {fig['hs_p99_ms']:>6.1f}ms" if hs else " " * 18)
                + f" {fig['server_cpu_util']:>8.0%} {fig['loadgen_cpu_util']:>8.0%}"
                f" {fig['server_cpu_us_per_unit']:>12,.0f}"
                f" {fig['loadgen_cpu_us_per_unit']:>12,.0f}"
            )
    print(
        "(hs/s: completed connections a second, one handshake each; resumed: fraction of"
        " handshakes\n SSL_session_reused; hs p50/p99: connect() to handshake done; CPU: 100% ="
        " one core;\n us/unit: CPU microseconds per connection, or per MB echoed for bulk)"
    )
    for server, loads in medians.items():
        spread = ", ".join(
            f"{w} {f['headline_min']:,.0f}..{f['headline_max']:,.0f}" for w, f in loads.items()
        )
        busy = max(f["machine_busy_util"] for f in loads.values())
        some = next(iter(loads.values()))
        print(
            f"spread {server:<14} {spread}; machine busy up to {busy:.0%} of"
            f" {os.cpu_count()}00%; {some['version']} {some['cipher']} {some['group']}"
        )
    print()
    for other, per in ratios(medians).items():
        for workload, r in per.items():
            verdict = ""
            if other == "plain-twisted" and workload in TARGETS:
                verdict = "  ok (>= 1.0)" if r["throughput"] >= 1.0 else "  BELOW 1.0"
            print(
                f"netsuite / {other:<13} {workload:<11} throughput {r['throughput']:.3f}x"
                f"   server CPU efficiency {r['cpu_efficiency']:.3f}x{verdict}"
            )
    cpus = os.cpu_count() or 1
    crowded = [
        f"{server} {workload}"
        for server, loads in medians.items()
        for workload, fig in loads.items()
        if fig["machine_busy_util"] >= 0.95 * cpus and fig["server_cpu_util"] < 0.9
    ]
    if crowded:
        print(
            f"note: the machine was busy ({cpus} CPUs) while the server had less than 90% of a"
            f" core in {len(crowded)} of the median figures:\n  the throughput there follows"
            " the CPU share the server got; compare the server CPU per unit instead."
        )
    print()
    for server, loads in medians.items():
        for workload, fig in loads.items():
            relation = "<" if fig["loadgen_cpu_util"] < fig["server_cpu_util"] else ">="
            print(
                f"{server:<14} {workload:<11}: loadgen CPU {fig['loadgen_cpu_util']:.0%}"
                f" {relation} server CPU {fig['server_cpu_util']:.0%}"
            )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line: the windows, rounds, servers, workloads and their shapes."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--duration", type=float, default=4.0, help="seconds measured per workload")
    p.add_argument("--warmup", type=float, default=0.5, help="seconds before measuring")
    p.add_argument("--rounds", type=int, default=3, help="rounds (servers alternate)")
    p.add_argument(
        "--servers",
        default=",".join(SERVERS),
        help=f"comma-separated, of {', '.join(SERVERS + EXTRA_SERVERS)}",
    )
    p.add_argument(
        "--workloads",
        default=",".join(DEFAULT_WORKLOADS),
        help=f"comma-separated subset of {', '.join(WORKLOADS)}",
    )
    p.add_argument("--hs-conns", type=int, default=16, help="concurrent handshake connections")
    p.add_argument("--size", type=int, default=64, help="bytes echoed per handshake connection")
    p.add_argument("--bulk-conns", type=int, default=10)
    p.add_argument("--bulk-size", type=int, default=65536)
    p.add_argument("--bulk-inflight", type=int, default=2)
    p.add_argument(
        "--bulk-verify",
        default="full",
        choices=("sample", "full"),
        help="bulk: compare every byte (full) or 4 KiB of each TLS read (sample)",
    )
    p.add_argument(
        "--verify-chain",
        action="store_true",
        help="the client verifies the server's chain and name (costs the client CPU)",
    )
    p.add_argument("--pin", default="", help="SERVER_CPU,LOADGEN_CPU (e.g. 0,1); default none")
    add_reactor_option(p)
    p.add_argument("--json", type=Path, default=OUT / "tls.json")
    args = p.parse_args(argv)
    args.pin = [int(c) for c in args.pin.split(",")] if args.pin else []
    args.servers = [s for s in args.servers.split(",") if s]
    args.workloads = [w for w in args.workloads.split(",") if w]
    unknown = set(args.servers) - set(SERVERS + EXTRA_SERVERS)
    unknown |= set(args.workloads) - set(WORKLOADS)
    if unknown or args.rounds < 1 or args.duration <= 0 or not args.workloads:
        p.error(f"bad --servers/--workloads/--rounds/--duration ({sorted(unknown)})")
    return args


def main() -> int:
    """Build tlsgen, make the certificate, run every round, print and save the medians."""
    args = parse_args()
    began = time.monotonic()
    build_tlsgen()
    # One ECDSA P-256 leaf (netsuite.tls._pki via TLSFiles) served by every server in the run.
    certs = TLSFiles(OUT / "tls-certs")
    runs: list[dict[str, Any]] = []
    for rnd in range(args.rounds):
        k = rnd % len(args.servers)
        for name in args.servers[k:] + args.servers[:k]:
            server = make_server(name, certs, args.reactor)
            server.start()
            if args.pin:
                os.sched_setaffinity(server.pid, {args.pin[0]})
            try:
                for workload in args.workloads:
                    result = run_load(workload, server, args, certs.ca_path)
                    result.update(server=name, workload=workload, round=rnd)
                    runs.append(result)
                    unit = WORKLOADS[workload][2]
                    print(
                        f"round {rnd} {name:<14} {workload:<11}"
                        f" {result[WORKLOADS[workload][1]]:>9,.1f} {unit:<4}"
                        f" resumed {result['resumed_fraction']:>4.0%}  CPU s: server"
                        f" {result['server_cpu_s']:.2f} loadgen {result['loadgen_cpu_s']:.2f}"
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
        "reactors": reactor_rows(args.servers, args.reactor),
        "machine": {
            "cpus": os.cpu_count(),
            "kernel": platform.release(),
            "python": platform.python_version(),
            "twisted": metadata.version("twisted"),
            "netsuite": metadata.version("netsuite"),
            "pyopenssl_openssl": _pyopenssl_version(),
            "python_ssl_openssl": ssl.OPENSSL_VERSION,
        },
        "medians": medians,
        "netsuite_over": ratios(medians),
        "errors": errors,
        "elapsed_s": round(elapsed, 1),
        "runs": runs,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nerrors: {errors}; {elapsed:.0f} s; results in {args.json}")
    return 1 if errors else 0


def _pyopenssl_version() -> str:
    """The OpenSSL that pyOpenSSL (so Twisted and netsuite) links: not always Python's."""
    from OpenSSL import SSL

    return SSL.OpenSSL_version(SSL.OPENSSL_VERSION).decode()


if __name__ == "__main__":
    sys.exit(main())
