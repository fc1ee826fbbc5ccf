"""
Where a Python web server's CPU goes per request under web.py's load (wrk, 64
connections), two ways, as bench/tls_profile.py does for TLS:

  - py-spy (default): samples of the running server, grouped into a few buckets and
    scaled by the server's /proc CPU per request. Barely slows the server; on a busy
    machine a sample may also land on a server waiting for a CPU, so the shares are rough.
  - cProfile (--profiler cprofile): the server under cProfile timed by CPU time, switched
    on for the measured window only (bench/cpuprof_window.py): exact calls per request,
    CPU per request of the heaviest functions (every Python call is slowed by the
    profiler: compare between servers, do not add up to web.py's figures).

Why a script: web.py says how fast and how costly per request; this says why, in numbers
that compare netsuite-web with `twistd web` and the bare Resource.

    /tmp/venv/bin/pip install py-spy     # once, for the default profiler
    /tmp/venv/bin/python bench/web_profile.py [--server netsuite] [--workload json]
        [--duration 10] [--profiler py-spy|cprofile] [--rate 250] [--top 25]
"""

from __future__ import annotations

import argparse
import collections
import pstats
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from benchproc import BENCH, OUT, Server
from tls_profile import print_cprofile, read_samples
from web import FILE_NAME, PATHS, ROOT, file_body, make_server, run_wrk, wait_closed

#: Python servers only (http.server runs as -m, nginx is C).
PROFILABLE = ("netsuite", "twistd-web", "bare-twisted", "aiohttp")

#: (bucket, regular expression on one frame): a sample counts in a bucket when any frame
#: of its stack matches; a pattern starting with "^\\$" matches only the innermost frame
#: (the function's own time: a C call such as recv is charged to its Python caller).
#: Buckets overlap.
BUCKETS = (
    ("read + parse request (HTTPChannel.dataReceived)",
     r"^(HTTPChannel|WebChannel)\.dataReceived \("),
    ("  of which header lines (lineReceived)", r"^(HTTPChannel|WebChannel)\.lineReceived \("),
    ("  of which resource (Request.process/render)", r"^(Request|WebRequest)\.process \("),
    ("  of which finish + log (Request.finish)", r"^(Request|WebRequest)\.finish \("),
    ("access log (Site.log / access_line)", r"^(WebSite|Site|HTTPFactory)\.log \("),
    ("twisted.logger (events, observers)", r"\(twisted/logger/"),
    ("JSON encode", r"\(json/"),
    ("Headers (twisted/web/http_headers)", r"\(twisted/web/http_headers"),
    ("netsuite code", r"\(netsuite/"),
    ("socket send (send_now / writeSomeData)",
     r"^(send_now \(netsuite/stream|\w+\.writeSomeData \(twisted/internet/)"),
    ("socket recv (own time of Connection.doRead)",
     r"^\$Connection\.doRead \(twisted/internet/tcp"),
    ("timeouts (callLater/resetTimeout/reschedule)",
     r"^(\w+\.)?(callLater|resetTimeout|reset|delay|_moveCallLaterSooner|_insertNewDelayedCalls)"
     r" \(twisted/"),
    ("aiohttp", r"\(aiohttp/"),
)  # fmt: skip


def summarize(samples: list[tuple[list[str], int]], us_per_req: float, top: int) -> None:
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
        leaf = "$" + frames[-1]
        for name, rx in patterns:
            if rx.search(leaf) or any(rx.search(f) for f in frames):
                buckets[name] += n
    print(f"\n{total} samples; server CPU {us_per_req:,.1f} us per request")
    print(f"{'bucket (overlapping)':<52} {'share':>6} {'us/req':>8}")
    for name, _ in BUCKETS:
        share = buckets[name] / total
        print(f"{name:<52} {share:>6.1%} {share * us_per_req:>8,.1f}")
    for title, counter in (("inclusive", inclusive), ("self", own)):
        print(f"\n--- {title}: top {top}")
        for f, n in counter.most_common(top):
            print(f"{n / total:>6.1%} {n / total * us_per_req:>7,.1f} us  {f}")


def _errors(result: dict) -> str:
    """wrk's error count, by kind when there are any."""
    kinds = [f"{k[7:]} {v}" for k, v in result.items() if k.startswith("errors_") and v]
    return f"{result['errors']} ({', '.join(kinds)})" if kinds else "0"


def cprofiled(server: Server, stats: Path) -> Server:
    """
    C{server} started under cpuprof_window.py (cProfile on CPU time, toggled by SIGUSR2),
    writing C{stats} at exit.
    """
    argv = list(server.argv)
    if argv[0] == sys.executable:  # a script run by this interpreter: profile the script
        argv = argv[1:]
    launcher = [sys.executable, str(BENCH / "cpuprof_window.py"), str(stats)]
    return Server(server.name, launcher + argv, server.port_pattern)


def main() -> int:
    """Start one server, run one wrk window under a profiler, print where the CPU went."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--server", default="netsuite", choices=PROFILABLE)
    p.add_argument("--workload", default="json", choices=("static", "json"))
    p.add_argument("--duration", type=int, default=10, help="seconds of wrk")
    p.add_argument("--profiler", default="py-spy", choices=("py-spy", "cprofile"))
    p.add_argument("--rate", type=int, default=250, help="py-spy samples a second")
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args()
    args.threads, args.conns, args.grace = 1, 64, 15.0
    if args.workload not in PATHS[args.server]:
        sys.exit(f"{args.server} does not serve {args.workload}")
    ROOT.mkdir(parents=True, exist_ok=True)
    (ROOT / FILE_NAME).write_bytes(file_body())
    if args.profiler == "cprofile":
        return run_cprofile(args)
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(pyspy).exists():
        sys.exit("py-spy not found: /tmp/venv/bin/pip install py-spy")
    server = make_server(args.server)
    server.start()
    try:
        run_wrk(server, args.workload, 1, args)  # warm-up: caches filled, code paths hot
        wait_closed(server.port)  # netsuite admits 64 connections per IP: let these go
        with tempfile.TemporaryDirectory() as scratch:
            raw = Path(scratch) / "pyspy.txt"
            cmd = [pyspy, "record", "--pid", str(server.pid), "--rate", str(args.rate),
                   "--duration", str(args.duration + 1), "--format", "raw", "-o", str(raw),
                   "--nonblocking"]  # fmt: skip
            log = Path(scratch) / "pyspy.log"
            with log.open("wb") as out:
                spy = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
            result = run_wrk(server, args.workload, args.duration, args)
            spy.wait(args.duration + 30.0)
            if not raw.exists():
                sys.exit(f"py-spy wrote nothing:\n{log.read_text()}")
            samples = read_samples(raw)
    finally:
        server.stop()
    print(
        f"{args.server} {args.workload}: {result['req_per_s']:,.0f} req/s, server CPU"
        f" {result['server_cpu_s']:.2f} s in {result['wall_s']:.1f} s"
        f" ({result['server_cpu_util']:.0%}), errors {_errors(result)}"
    )
    # py-spy drops idle samples (waiting in epoll_wait) unless told --idle, so the few
    # seconds it samples around the window add next to nothing.
    summarize(samples, result["server_us_per_req"], args.top)
    return 0


def run_cprofile(args: argparse.Namespace) -> int:
    """One wrk run against the server under cProfile; print the per-request table."""
    with tempfile.TemporaryDirectory() as scratch:
        stats = Path(scratch) / "server.prof"
        server = cprofiled(make_server(args.server), stats)
        server.start()
        try:
            run_wrk(server, args.workload, 1, args)  # warm-up, not profiled
            wait_closed(server.port, timeout=20.0)
            server.proc.send_signal(signal.SIGUSR2)  # profiling on
            result = run_wrk(server, args.workload, args.duration, args)
            server.proc.send_signal(signal.SIGUSR2)  # and off
        finally:
            server.stop(timeout=60.0)  # writing the statistics takes a moment
        if not stats.exists():
            sys.exit("the server wrote no cProfile statistics:\n" + "\n".join(server.tail))
        print(
            f"{args.server} {args.workload} under cProfile: {result['requests']:,} requests,"
            f" {result['req_per_s']:,.0f} req/s, errors {_errors(result)}"
        )
        # The profile covers the wrk window (and the moments between the signals and
        # wrk's start and end, when the server is idle).
        requests = max(result["requests"], 1)
        calls = sum(v[1] for v in pstats.Stats(str(stats)).stats.values())  # type: ignore[attr-defined]
        print(f"function calls per request (Python and C): {calls / requests:,.1f}")
        print_cprofile(stats, requests, "req", args.top)
        kept = OUT / f"web-{args.server}-{args.workload}.prof"
        shutil.copyfile(stats, kept)
        print(f"\nstatistics kept in {kept} (pstats; {result['requests']:,} requests)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
