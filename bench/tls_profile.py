"""
Where a TLS echo server's CPU goes under one tls.py workload, per handshake (or per MB
for bulk), two ways:

  - py-spy (default): samples of the running server (Python and, with --native, OpenSSL
    and libc frames), grouped into a few buckets and scaled by the server's /proc CPU per
    unit. Barely slows the server; but on a busy machine a sample also lands on a server
    that is runnable and waiting for a CPU, so read the shares as rough.
  - cProfile (--profiler cprofile): the server runs under cProfile timed by CPU time
    (bench/cpuprof.py); prints calls and CPU time per unit for the heaviest functions.
    Call counts are exact and the times do not count waiting for a CPU, so they compare
    between servers; every Python call is slowed by the profiler, C calls much less.

Why a script: tls.py says how fast and how costly per unit; this says why, in numbers that
compare between servers (netsuite's nstls: against Twisted's ssl:) and between versions.

    /tmp/venv/bin/pip install py-spy     # once, for the default profiler
    /tmp/venv/bin/python bench/tls_profile.py [--server netsuite] [--workload full-1.3]
        [--duration 10] [--profiler py-spy|cprofile] [--rate 200] [--native] [--top 25]
"""

from __future__ import annotations

import argparse
import collections
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchproc import BENCH, OUT, Server, run_windowed
from tls import EXTRA_SERVERS, SERVERS, WORKLOADS, build_tlsgen, make_server, tlsgen_argv

from netsuite.testing import TLSFiles

#: (bucket, regular expression on one frame): a sample counts in a bucket when any frame
#: of its stack matches. Buckets overlap (a log call made while closing counts in both).
BUCKETS = (
    ("TLS handshake (do_handshake)", r"^Connection\.do_handshake \(OpenSSL/SSL\.py"),
    (
        "TLS records (recv/send/bio)",
        r"^Connection\.(recv|send|bio_read|bio_write|write) \(OpenSSL",
    ),
    ("new TLS connection (SSL object)", r"^(Connection\.__init__|.*serverConnectionForTLS)"),
    ("logging (twisted.logger)", r"\(twisted/logger/"),
    ("netsuite code", r"\(netsuite/"),
    ("accept (Port.doRead)", r"^Port\.doRead \(twisted/internet/tcp\.py"),
    ("close (connectionLost)", r"^Connection\.connectionLost \(twisted/internet/tcp\.py"),
    ("socket send", r"^(send|sendmsg|__send) \(libc"),
    ("socket recv", r"^(recv|recvmsg|__recv) \(libc"),
    ("epoll_wait", r"^epoll_wait \(libc"),
)


def read_samples(path: Path) -> list[tuple[list[str], int]]:
    """py-spy's raw (collapsed) output: one stack per line, root first, then a count."""
    samples = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
            samples.append((frames, int(count)))
    return samples


def summarize(samples: list[tuple[list[str], int]], per_unit_cpu: float, unit: str, top: int):
    """Print buckets, then the heaviest functions (inclusive and self), as shares and us."""
    total = sum(n for _, n in samples) or 1
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    buckets: collections.Counter[str] = collections.Counter()
    patterns = [(name, re.compile(rx)) for name, rx in BUCKETS]
    for frames, n in samples:
        for f in set(frames):
            inclusive[f] += n
        own[frames[-1]] += n
        for name, rx in patterns:
            if any(rx.search(f) for f in frames):
                buckets[name] += n
    print(f"\n{total} samples; server CPU {per_unit_cpu:,.0f} us per {unit}")
    print(f"{'bucket (overlapping)':<34} {'share':>6} {'us/' + unit:>10}")
    for name, _ in BUCKETS:
        share = buckets[name] / total
        print(f"{name:<34} {share:>6.1%} {share * per_unit_cpu:>10,.0f}")
    for title, counter in (("inclusive", inclusive), ("self", own)):
        print(f"\n--- {title}: top {top}")
        for f, n in counter.most_common(top):
            print(f"{n / total:>6.1%} {n / total * per_unit_cpu:>8,.0f} us  {f}")


def cprofiled_server(name: str, certs: TLSFiles, stats: Path) -> Server:
    """C{name} started under cpuprof.py (cProfile on CPU time), writing C{stats} at exit."""
    server = make_server(name, certs)
    argv = list(server.argv)
    if argv[0] == sys.executable:  # a script run by this interpreter: profile the script
        argv = argv[1:]
    if argv[0].startswith("-"):
        sys.exit(f"cannot profile {server.argv!r}: not a script")
    launcher = [sys.executable, str(BENCH / "cpuprof.py"), str(stats)]
    return Server(name, launcher + argv, server.port_pattern)


def print_cprofile(stats: Path, units: float, unit: str, top: int) -> None:
    """The heaviest functions by own time and by cumulative time, per unit of work."""
    st = pstats.Stats(str(stats))
    rows = []
    for (filename, line, func), (_cc, calls, tt, ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        short = re.sub(r"^.*/(site-packages|lib/python3\.\d+)/", "", filename)
        rows.append(
            (f"{func} ({short}:{line})", calls / units, 1e6 * tt / units, 1e6 * ct / units)
        )
    total = 1e6 * st.total_tt / units  # type: ignore[attr-defined]
    print(f"\ncProfile: {total:,.0f} us of CPU per {unit} (Python calls inflated by cProfile)")
    for title, key in (("own time", 2), ("cumulative time", 3)):
        print(f"\n--- by {title}: top {top}  (calls/{unit}, own us/{unit}, cumulative us/{unit})")
        for row in sorted(rows, key=lambda r: r[key], reverse=True)[:top]:
            print(f"{row[1]:>8.2f} {row[2]:>9,.1f} {row[3]:>9,.1f}  {row[0]}")


def main() -> int:
    """Start one server, run one tlsgen window under a profiler, print where the CPU went."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--server", default="netsuite", choices=SERVERS + EXTRA_SERVERS)
    p.add_argument("--workload", default="full-1.3", choices=list(WORKLOADS))
    p.add_argument("--duration", type=float, default=10.0, help="seconds sampled")
    p.add_argument("--profiler", default="py-spy", choices=("py-spy", "cprofile"))
    p.add_argument("--rate", type=int, default=200, help="py-spy samples a second")
    p.add_argument("--native", action="store_true", help="include C frames (OpenSSL, libc)")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--hs-conns", type=int, default=16)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--bulk-conns", type=int, default=10)
    p.add_argument("--bulk-size", type=int, default=65536)
    p.add_argument("--bulk-inflight", type=int, default=2)
    p.add_argument("--bulk-verify", default="full", choices=("sample", "full"))
    args = p.parse_args()
    args.verify_chain = False
    build_tlsgen()
    certs = TLSFiles(OUT / "tls-certs")
    if args.profiler == "cprofile":
        return run_cprofile(args, certs)
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(pyspy).exists():
        sys.exit("py-spy not found: /tmp/venv/bin/pip install py-spy")
    server = make_server(args.server, certs)
    server.start()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            raw = Path(scratch) / "pyspy.txt"
            cmd = [pyspy, "record", "--pid", str(server.pid), "--rate", str(args.rate)]
            cmd += ["--duration", str(int(args.duration)), "--format", "raw", "-o", str(raw)]
            # --native needs the process paused while its stack is read; without it,
            # py-spy reads without stopping the server.
            cmd += ["--native"] if args.native else ["--nonblocking"]
            log = Path(scratch) / "pyspy.log"
            with log.open("wb") as out:
                spy = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
            # The tlsgen window sits inside the sampled seconds (py-spy needs a moment to
            # attach; the window ends a little before it stops).
            args.warmup, args.duration = 1.0, max(args.duration - 2.0, 1.0)
            argv = tlsgen_argv(args.workload, server.port, args, certs.ca_path)
            result, status = run_windowed(argv, server.pid, args.duration + 40.0)
            spy.wait(args.duration + 30.0)
            if result is None:
                sys.exit(f"tlsgen gave no result (exit {status})")
            if not raw.exists():
                sys.exit(f"py-spy wrote nothing:\n{log.read_text()}")
            samples = read_samples(raw)
    finally:
        server.stop()
    bulk = args.workload == "bulk"
    done = result["mb_per_s"] * result["duration_s"] if bulk else result["msgs"]
    unit = "MB" if bulk else "conn"
    per_unit = 1e6 * result["server_cpu_s"] / max(done, 1e-9)
    figure = f"{result['mb_per_s']:.1f} MB/s" if bulk else f"{result['cycles_per_s']:.0f} hs/s"
    print(
        f"{args.server} {args.workload}: {figure}, resumed {result['resumed_fraction']:.0%},"
        f" server CPU {result['server_cpu_s']:.2f} s in {result['duration_s']:.1f} s,"
        f" errors {result['errors']}"
    )
    summarize(samples, per_unit, unit, args.top)
    return 0


def run_cprofile(args: argparse.Namespace, certs: TLSFiles) -> int:
    """One tlsgen run against the server under cProfile; print the per-unit table."""
    args.bulk_verify = "full"  # so verified_bytes counts every byte echoed
    with tempfile.TemporaryDirectory() as scratch:
        stats = Path(scratch) / "server.prof"
        server = cprofiled_server(args.server, certs, stats)
        server.start()
        try:
            args.warmup, args.duration = 1.0, args.duration
            argv = tlsgen_argv(args.workload, server.port, args, certs.ca_path)
            result, status = run_windowed(argv, server.pid, args.duration + 40.0)
        finally:
            server.stop(timeout=60.0)  # writing the statistics takes a moment
        if result is None:
            sys.exit(f"tlsgen gave no result (exit {status})")
        if not stats.exists():
            sys.exit("the server wrote no cProfile statistics:\n" + "\n".join(server.tail))
        bulk = args.workload == "bulk"
        # The profile covers the server's whole life: divide by the whole run's work.
        units = result["verified_bytes"] / 1e6 if bulk else result["handshakes_total"]
        unit = "MB" if bulk else "conn"
        print(f"{args.server} {args.workload} under cProfile: {units:,.0f} {unit} in the run")
        print_cprofile(stats, max(units, 1e-9), unit, args.top)
        kept = OUT / f"tls-{args.server}-{args.workload}.prof"
        shutil.copyfile(stats, kept)
        print(f"\nstatistics kept in {kept} (pstats; {units:,.0f} {unit} in the run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
