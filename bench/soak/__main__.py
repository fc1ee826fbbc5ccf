"""
C{python -m bench.soak [--minutes 10 | --seconds S] [--no-bursts]}: soak the suite.

Starts C{twistd -n netsuite} from this checkout (C{PYTHONPATH}), every door on
loopback, runs every load of L{bench.soak} until the time is up, then stops the server
with SIGTERM and prints one table. Writes C{bench/out/soak.json} and keeps the server's
log in C{bench/out/soak.log}. Exit status 0 when every target held: RSS growth after the
warm-up under 10 %, no traceback or "Unhandled Error" in the log, no error counted by
any load (a mismatched byte, a failed request or handshake), a clean exit.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

from bench.benchproc import OUT
from bench.soak._bursts import Bursts
from bench.soak._load import (
    AbruptDisconnects,
    EchoStream,
    HttpGets,
    SlowClients,
    TlsHandshakes,
    UdpProbe,
    Worker,
)
from bench.soak._suite import Suite, suite_args
from netsuite.testing import TLSFiles

#: RSS growth from the warm-up's end to the end of the load, as a fraction: the target.
GROWTH_TARGET = 0.10
#: Seconds between RSS samples.
SAMPLE_EVERY = 5.0


def make_site(root: Path) -> dict[str, str]:
    """The served tree: a page, a cached 256 KiB file, a 2 MiB streamed one; their digests."""
    root.mkdir(parents=True, exist_ok=True)
    files = {
        "/index.html": b"<!doctype html><p>soak</p>\n",
        "/big.bin": os.urandom(256 * 1024),
        "/huge.bin": os.urandom(2 * 1024 * 1024),
    }
    for path, data in files.items():
        (root / path.lstrip("/")).write_bytes(data)
    return {path: hashlib.sha256(data).hexdigest() for path, data in files.items()}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    p.add_argument("--minutes", type=float, default=10.0, help="how long the load runs")
    p.add_argument("--seconds", type=float, default=None, help="instead of --minutes")
    p.add_argument("--warmup", type=float, default=None,
                   help="seconds before the first RSS sample (default: a quarter of the run, "
                        "at most 60)")  # fmt: skip
    p.add_argument("--no-bursts", action="store_true", help="leave out the C generators")
    p.add_argument("--json", type=Path, default=OUT / "soak.json")
    args = p.parse_args(argv)
    args.total = args.seconds if args.seconds is not None else 60 * args.minutes
    if args.warmup is None:
        args.warmup = min(60.0, args.total / 4)
    if args.total <= 0 or not 0 <= args.warmup < args.total:
        p.error("the run must be longer than its warm-up")
    return args


def workers(suite: Suite, tls: TLSFiles, files: dict[str, str], bursts: bool) -> list[Worker]:
    ports = suite.ports
    loads: list[Worker] = [
        EchoStream("echo (Python, every byte)", port=ports["echo/tcp"]),
        UdpProbe("udp probes", port=ports["echo/udp"]),
        HttpGets("http gets", port=ports["web/http"], files=files),
        TlsHandshakes("tls handshakes (Python)", port=ports["echo/tls"], ca=tls.ca_path),
        SlowClients("slow clients", web=ports["web/http"], chat=ports["chat/line"]),
        AbruptDisconnects("abrupt disconnects", ports=ports),
    ]
    if bursts:
        loads.append(Bursts("C bursts", pid=suite.pid, ports=ports, ca=tls.ca_path))
    return loads


def soak(args: argparse.Namespace) -> dict[str, object]:
    run_dir = OUT / "soak"
    tls = TLSFiles(run_dir / "tls")
    files = make_site(run_dir / "site")
    suite = Suite(suite_args(tls.cert_path, tls.key_path, run_dir / "site"), OUT / "soak.log")
    suite.start()
    print(f"soak: suite pid {suite.pid}, ports {suite.ports}, {args.total:g} s, "
          f"warm-up {args.warmup:g} s; log {suite.log_path}", flush=True)  # fmt: skip
    begun = time.monotonic()
    deadline = begun + args.total
    loads = workers(suite, tls, files, not args.no_bursts)
    for load in loads:
        load.start(deadline)
    samples: list[tuple[float, float]] = []
    rss_warm = None
    while time.monotonic() < deadline and suite.alive():  # bounded by the deadline
        time.sleep(min(SAMPLE_EVERY, max(0.0, deadline - time.monotonic())))
        if not suite.alive():
            break
        t = time.monotonic() - begun
        samples.append((round(t, 1), round(suite.rss_mib(), 1)))
        if rss_warm is None and t >= args.warmup:
            rss_warm = samples[-1][1]
            print(f"soak: warm-up over at {t:.0f} s, RSS {rss_warm} MiB", flush=True)
        elif len(samples) % 12 == 0:
            print(f"soak: {t:.0f} s, RSS {samples[-1][1]} MiB", flush=True)
    for load in loads:
        load.join(150)
    alive = suite.alive()
    rss_end = round(suite.rss_mib(), 1) if alive else None
    stopping = time.monotonic()
    status = suite.stop(20.0)
    stop_s = time.monotonic() - stopping
    return {
        "seconds": args.total,
        "warmup_s": args.warmup,
        "rss_warm_mib": rss_warm,
        "rss_end_mib": rss_end,
        "rss_max_mib": max((r for _, r in samples), default=None),
        "rss_samples": samples,
        "alive_at_end": alive,
        "exit_status": status,
        "stop_s": round(stop_s, 2),
        "log_lines": suite.lines,
        "bad_log_lines": suite.bad_lines[:20],
        "bad_log_count": len(suite.bad_lines),
        "loads": {
            load.name: {"counts": dict(load.counts), "errors": dict(load.errors)} for load in loads
        },
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }


def verdict(report: dict[str, object]) -> list[str]:
    """The targets missed (empty: the soak passed)."""
    missed = []
    warm, end = report["rss_warm_mib"], report["rss_end_mib"]
    if not isinstance(warm, float) or not isinstance(end, float):
        missed.append("no RSS after the warm-up or at the end")
    elif (end - warm) / warm >= GROWTH_TARGET:
        missed.append(f"RSS grew {100 * (end - warm) / warm:.1f} % (target < 10 %)")
    if report["bad_log_count"]:
        missed.append(f"{report['bad_log_count']} traceback or Unhandled Error line(s)")
    loads = report["loads"]
    assert isinstance(loads, dict)
    for name, load in loads.items():
        if load["errors"]:
            missed.append(f"{name}: {sum(load['errors'].values())} error(s)")
    if report["exit_status"] != 0:
        missed.append(f"server exit status {report['exit_status']}")
    return missed


def print_table(report: dict[str, object], missed: list[str]) -> None:
    warm, end = report["rss_warm_mib"], report["rss_end_mib"]
    growth = (
        f"{100 * (end - warm) / warm:+.1f} %"
        if isinstance(warm, float) and isinstance(end, float)
        else "?"
    )
    rows = [
        ("run", f"{report['seconds']:g} s (warm-up {report['warmup_s']:g} s), "
                f"{report['cpus']} CPUs, load average at the end {report['load_average']}"),
        ("server RSS", f"{warm} MiB after warm-up, {end} MiB at the end ({growth}; target "
                       f"< +10 %), peak {report['rss_max_mib']} MiB"),
        ("server log", f"{report['log_lines']} lines, {report['bad_log_count']} with a "
                       "traceback or Unhandled Error (target 0)"),
        ("stop", f"exit {report['exit_status']} after SIGTERM in {report['stop_s']} s"),
    ]  # fmt: skip
    loads = report["loads"]
    assert isinstance(loads, dict)
    for name, load in loads.items():
        counts = ", ".join(f"{k} {_num(v)}" for k, v in sorted(load["counts"].items()))
        errors = ", ".join(f"{k} {_num(v)}" for k, v in sorted(load["errors"].items()))
        rows.append((name, counts + (f"; ERRORS: {errors}" if errors else "; errors 0")))
    width = max(len(k) for k, _ in rows)
    print()
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    print("\nsoak: " + ("PASSED" if not missed else "FAILED: " + "; ".join(missed)))


def _num(value: float) -> str:
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = soak(args)
    missed = verdict(report)
    report["missed"] = missed
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    print_table(report, missed)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
