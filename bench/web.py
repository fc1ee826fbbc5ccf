"""
HTTP: a 1 KiB static file and a small JSON endpoint at 64 keep-alive connections, by wrk,
netsuite-web (every default: safety limits, access log) against `twistd web --path`,
`python -m http.server`, aiohttp and a bare twisted.web Resource, with nginx as the
practical limit, in one run.

Why this shape: the same as echo.py (servers rotated across rounds, medians; the server's
CPU from /proc and wrk's own CPU over the same window), because on a shared 2-core machine
throughput follows the CPU share each server happens to get, while server CPU per request
is steadier; and wrk runs on the same two cores, so its CPU is shown too.

    /tmp/venv/bin/python bench/web.py [--duration 5] [--rounds 3] [--warmup 1]

Targets (the issue's): netsuite >= 2.0x `twistd web --path` on the static file, and
>= 1.0x the bare Resource on JSON. Writes bench/out/web.json; exits 1 if a server sent a
wrong body, died, or (any but http.server, see EXPECTED_ERRORS) had a wrk error.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import http.client
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from benchproc import (
    BARE_PORT,
    BENCH,
    OUT,
    PolledServer,
    Server,
    add_reactor_option,
    machine_cpu_seconds,
    print_reactors,
    tree_cpu_seconds,
    twistd_command,
)

ROOT = OUT / "web-root"
NGINX_PREFIX = OUT / "web-nginx"
NGINX_TEMPLATE = BENCH / "peers" / "nginx.conf.template"
WRK_SCRIPT = BENCH / "wrk_report.lua"
FILE_NAME = "file-1k.bin"
FILE_SIZE = 1024

#: server -> {workload: path}; a server without a workload does not serve it
#: (`twistd web --path` and http.server serve files only, the bare Resource only JSON).
PATHS: dict[str, dict[str, str]] = {
    "netsuite": {"static": f"/{FILE_NAME}", "json": "/api/health"},
    "twistd-web": {"static": f"/{FILE_NAME}"},
    "http.server": {"static": f"/{FILE_NAME}"},
    "bare-twisted": {"json": "/api/health"},
    "aiohttp": {"static": f"/{FILE_NAME}", "json": "/api/health"},
    "nginx": {"static": f"/{FILE_NAME}", "json": "/api/health"},
}
SERVERS = tuple(PATHS)
WORKLOADS = ("static", "json")
#: (workload, server, baseline, target): the issue's targets.
TARGETS = (("static", "netsuite", "twistd-web", 2.0), ("json", "netsuite", "bare-twisted", 1.0))
#: http.server closes every connection after one response (HTTP/1.0), starts a thread per
#: connection and listens with a backlog of 5: at 64 connections wrk sees connect and read
#: errors and timeouts. Reported, not a failure of the run.
EXPECTED_ERRORS = frozenset({"http.server"})

# "... web/http listening on tcp 127.0.0.1:37053" (netsuite.twistd._service.ListenerService)
NETSUITE_PORT = re.compile(rb"web/http listening on tcp 127\.0\.0\.1:(\d+)")
# "[-] Site starting on 41209" (twisted.web's Site, started by twistd web)
TWISTD_WEB_PORT = re.compile(rb"Site starting on (\d+)")
# "Serving HTTP on 127.0.0.1 port 40463 (http://127.0.0.1:40463/) ..."
HTTP_SERVER_PORT = re.compile(rb"Serving HTTP on 127\.0\.0\.1 port (\d+)")
WRK_JSON = re.compile(rb"^WRK_JSON (\{.*\})\s*$", re.MULTILINE)


def file_body() -> bytes:
    """The 1 KiB file: fixed pseudo-random bytes (incompressible, so nobody gzips it)."""
    out = b""
    counter = 0
    while len(out) < FILE_SIZE:
        out += hashlib.sha256(b"netsuite bench web %d" % counter).digest()
        counter += 1
    return out[:FILE_SIZE]


class NginxServer(PolledServer):
    """
    nginx in the foreground from its own prefix under bench/out/ (config, pid, logs,
    temp files), on a port picked here; ready once it accepts a connection.
    """

    def __init__(self) -> None:
        super().__init__("nginx", cwd=NGINX_PREFIX)

    def command(self, port: int) -> list[str]:
        """Write the config for C{port}; nginx with it."""
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.path.exists(nginx):
            raise RuntimeError("nginx not found: apt-get install -y nginx-light")
        self._configure()
        conf = NGINX_PREFIX / "nginx.conf"
        return [nginx, "-p", f"{NGINX_PREFIX}/", "-e", str(NGINX_PREFIX / "error.log"),
                "-c", str(conf)]  # fmt: skip

    def failure(self) -> str:
        return (NGINX_PREFIX / "error.log").read_text(errors="replace")[-2000:]

    def _configure(self) -> None:
        """Fill in the template: prefix, port, document root, user."""
        for sub in ("", "tmp"):
            (NGINX_PREFIX / sub).mkdir(parents=True, exist_ok=True)
        text = NGINX_TEMPLATE.read_text()
        for key, value in (
            ("@PREFIX@", str(NGINX_PREFIX)),
            ("@PORT@", str(self.port)),
            ("@ROOT@", str(ROOT)),
            ("@USER@", getpass.getuser()),
        ):
            text = text.replace(key, value)
        (NGINX_PREFIX / "nginx.conf").write_text(text)


def make_server(name: str, reactor: str = "") -> Server:
    """The named server, not yet started, serving ROOT; netsuite under C{--reactor}."""
    root = str(ROOT)
    listen = ["--listen", "tcp:0:interface=127.0.0.1"]
    if name == "netsuite":
        chosen = ["--reactor", reactor] if reactor else []
        argv = [*twistd_command(), *chosen, "-n", "--pidfile=", "netsuite-web", "--path", root,
                *listen]  # fmt: skip
        return Server(name, argv, NETSUITE_PORT)
    if name == "twistd-web":
        return Server(name, [*twistd_command(), "-n", "--pidfile=", "web", "--path", root,
                             *listen], TWISTD_WEB_PORT)  # fmt: skip
    if name == "http.server":
        argv = [sys.executable, "-u", "-m", "http.server", "--bind", "127.0.0.1",
                "--directory", root, "0"]  # fmt: skip
        return Server(name, argv, HTTP_SERVER_PORT)
    if name == "nginx":
        return NginxServer()
    peer = {"aiohttp": ["aiohttp_web.py", root], "bare-twisted": ["bare_twisted_json.py"]}[name]
    return Server(name, [sys.executable, str(BENCH / "peers" / peer[0]), *peer[1:]], BARE_PORT)


def check(server: Server, workload: str) -> str | None:
    """
    One GET before measuring: the file must come back byte for byte, the JSON must parse
    with status "ok". Returns what was wrong, or None.
    """
    path = PATHS[server.name][workload]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException) as e:
        return f"GET {path}: {e!r}"
    finally:
        conn.close()
    if response.status != 200:
        return f"GET {path}: status {response.status}"
    if workload == "static":
        return None if body == file_body() else f"GET {path}: wrong body ({len(body)} bytes)"
    try:
        ok = json.loads(body).get("status") == "ok"
    except (ValueError, AttributeError):
        ok = False
    return None if ok else f"GET {path}: not the JSON expected: {body[:80]!r}"


def open_connections(port: int) -> int:
    """Server-side TCP sockets of C{port} still established or closing (/proc/net/tcp)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    local_port = int(fields[1].rsplit(":", 1)[1], 16)
                    # 01 ESTABLISHED, 08 CLOSE_WAIT (the client is gone, the server not yet)
                    if local_port == port and fields[3] in ("01", "08"):
                        count += 1
        except OSError:
            continue
    return count


def wait_closed(port: int, timeout: float = 5.0) -> int:
    """
    Wait until the server has closed the warm-up's connections, so the measured run's 64
    new ones do not meet netsuite's per-IP cap (64) while old ones linger. Returns how
    many were still open at the deadline.
    """
    deadline = time.monotonic() + timeout
    while (left := open_connections(port)) and time.monotonic() < deadline:
        time.sleep(0.02)  # polling /proc: nothing announces a socket's close
    return left


def run_wrk(
    server: Server, workload: str, duration: int, args: argparse.Namespace
) -> dict[str, Any]:
    """
    One wrk run; the server's CPU (its whole process tree), the machine's busy and softirq
    time are sampled just before wrk starts and just after it exits, and wrk's own CPU is
    its rusage. Bounded: wrk is killed after its duration plus C{args.grace} seconds.
    """
    url = f"http://127.0.0.1:{server.port}{PATHS[server.name][workload]}"
    argv = ["wrk", f"-t{args.threads}", f"-c{args.conns}", f"-d{duration}s", "--latency",
            "-s", str(WRK_SCRIPT), url]  # fmt: skip
    srv0 = tree_cpu_seconds(server.pid)
    busy0, softirq0 = machine_cpu_seconds()
    began = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    timer = threading.Timer(duration + args.grace, lambda: proc.send_signal(signal.SIGKILL))
    timer.start()
    try:
        assert proc.stdout is not None
        output = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        timer.cancel()
        if proc.stdout is not None:
            proc.stdout.close()
    wall = time.monotonic() - began
    srv1 = tree_cpu_seconds(server.pid)
    busy1, softirq1 = machine_cpu_seconds()
    match = WRK_JSON.search(output)
    if match is None:
        raise RuntimeError(
            f"wrk against {server.name} {workload} gave no result (exit {proc.returncode},"
            f" {wall:.1f} s):\n{output.decode(errors='replace')[-2000:]}"
        )
    r: dict[str, Any] = json.loads(match.group(1))
    window = r["duration_us"] / 1e6 or 1.0
    requests = max(r["requests"], 1)
    r["errors"] = sum(r[k] for k in r if k.startswith("errors_"))
    r["req_per_s"] = r["requests"] / window
    r["bytes_per_response"] = r["bytes"] / requests
    r["p50_ms"], r["p99_ms"] = r["lat_p50_us"] / 1e3, r["lat_p99_us"] / 1e3
    r["wall_s"] = wall
    r["server_user_s"], r["server_sys_s"] = srv1[0] - srv0[0], srv1[1] - srv0[1]
    r["server_cpu_s"] = r["server_user_s"] + r["server_sys_s"]
    r["wrk_cpu_s"] = usage.ru_utime + usage.ru_stime
    r["machine_busy_s"], r["softirq_s"] = busy1 - busy0, softirq1 - softirq0
    # 100% = one core. The /proc samples bracket wrk's process, a little more than its
    # own window (start-up, connecting): the CPU per request is slightly overstated alike.
    r["server_cpu_util"] = r["server_cpu_s"] / wall
    r["wrk_cpu_util"] = r["wrk_cpu_s"] / wall
    r["machine_busy_util"] = r["machine_busy_s"] / wall
    r["softirq_util"] = r["softirq_s"] / wall
    r["server_us_per_req"] = 1e6 * r["server_cpu_s"] / requests
    r["server_sys_us_per_req"] = 1e6 * r["server_sys_s"] / requests
    r["wrk_us_per_req"] = 1e6 * r["wrk_cpu_s"] / requests
    r["wrk_output"] = output.decode(errors="replace")
    return r


FIGURES = (
    "req_per_s", "p50_ms", "p99_ms", "errors", "server_cpu_util", "wrk_cpu_util",
    "machine_busy_util", "softirq_util", "server_us_per_req", "server_sys_us_per_req",
    "wrk_us_per_req",
    "bytes_per_response",
)  # fmt: skip


def summarize(runs: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """Median of each figure per workload and server, plus the req/s spread and errors."""
    medians: dict[str, dict[str, dict[str, float]]] = {}
    for workload in WORKLOADS:
        for server in SERVERS:
            chosen = [r for r in runs if r["server"] == server and r["workload"] == workload]
            if not chosen:
                continue
            summary = {f: statistics.median(r[f] for r in chosen) for f in FIGURES}
            summary["req_per_s_min"] = min(r["req_per_s"] for r in chosen)
            summary["req_per_s_max"] = max(r["req_per_s"] for r in chosen)
            summary["errors_total"] = sum(r["errors"] for r in chosen)
            for kind in ("connect", "read", "write", "status", "timeout"):
                summary[f"errors_{kind}"] = sum(r[f"errors_{kind}"] for r in chosen)
            summary["rounds"] = len(chosen)
            medians.setdefault(workload, {})[server] = summary
    return medians


def ratios(
    medians: dict[str, dict[str, dict[str, float]]], runs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """
    netsuite over each other server: req/s of the medians, the median of the per-round
    (paired) req/s ratios, and CPU efficiency (the other's server CPU per request over
    netsuite's; above 1: netsuite is cheaper). Targets marked.
    """
    targets = {(w, b): t for w, _, b, t in TARGETS}
    found = []
    for workload, servers in medians.items():
        if "netsuite" not in servers:
            continue
        ns = servers["netsuite"]
        for other, fig in servers.items():
            if other == "netsuite":
                continue
            by_round: dict[int, dict[str, float]] = {}
            for r in runs:
                if r["workload"] == workload and r["server"] in ("netsuite", other):
                    by_round.setdefault(r["round"], {})[r["server"]] = r["req_per_s"]
            paired = [
                v["netsuite"] / v[other] for v in by_round.values() if len(v) == 2 and v[other] > 0
            ]
            found.append({
                "workload": workload,
                "baseline": other,
                "req_per_s": ns["req_per_s"] / fig["req_per_s"] if fig["req_per_s"] else None,
                "paired_median": statistics.median(paired) if paired else None,
                "paired_min": min(paired) if paired else None,
                "paired_max": max(paired) if paired else None,
                "cpu_efficiency": fig["server_us_per_req"] / ns["server_us_per_req"],
                "target": targets.get((workload, other)),
            })  # fmt: skip
    return found


def print_table(
    medians: dict[str, dict[str, dict[str, float]]],
    found: list[dict[str, Any]],
    args: argparse.Namespace,
) -> None:
    """Medians per workload and server, the spread, the ratios and the targets."""
    print()
    print_reactors(args.servers, args.reactor)
    print(
        f"wrk -t{args.threads} -c{args.conns} -d{args.duration:g}s --latency;"
        f" static: GET /{FILE_NAME} ({FILE_SIZE} B), json: a small JSON endpoint;"
        f" median of {args.rounds} rounds"
    )
    print(
        f"{'workload':<8} {'server':<13} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'errors':>7} {'srv CPU':>8} {'wrk CPU':>8} {'srv us/req':>11} {'(sys)':>6}"
        f" {'wrk us/req':>11} {'B/resp':>7}"
    )
    for workload, servers in medians.items():
        for server, f in servers.items():
            print(
                f"{workload:<8} {server:<13} {f['req_per_s']:>9,.0f} {f['p50_ms']:>7.2f}"
                f" {f['p99_ms']:>7.2f} {f['errors_total']:>7,.0f} {f['server_cpu_util']:>8.0%}"
                f" {f['wrk_cpu_util']:>8.0%} {f['server_us_per_req']:>11,.1f}"
                f" {f['server_sys_us_per_req']:>6,.0f} {f['wrk_us_per_req']:>11,.1f}"
                f" {f['bytes_per_response']:>7,.0f}"
            )
    print("(req/s, p50/p99: wrk, median over rounds; errors: all rounds' wrk errors (connect,")
    print(" read, write, timeout > 2 s, status >= 400); CPU: 100% = one core, srv = server (its")
    print(" processes), wrk = wrk itself, on the same 2 cores; us/req: CPU microseconds a")
    print(" request, (sys) the kernel's part of the server's; B/resp: bytes read per response,")
    print(" headers included)")
    for workload, servers in medians.items():
        for server, f in servers.items():
            kinds = ", ".join(
                f"{k} {f['errors_' + k]:,.0f}"
                for k in ("connect", "read", "write", "status", "timeout")
                if f["errors_" + k]
            )
            print(
                f"spread {workload:<6} {server:<13} {f['req_per_s_min']:>9,.0f}"
                f"..{f['req_per_s_max']:<9,.0f} req/s; machine busy"
                f" {f['machine_busy_util']:.0%} of {os.cpu_count()}00%, softirq"
                f" {f['softirq_util']:.0%}" + (f"; errors: {kinds}" if kinds else "")
            )
    print()
    for r in found:
        verdict = ""
        if r["target"] is not None and r["req_per_s"] is not None:
            ok = r["req_per_s"] >= r["target"]
            verdict = f"  {'ok' if ok else 'MISSED'} (target >= {r['target']:.1f}x)"
        paired = (
            f"paired {r['paired_median']:.2f}x ({r['paired_min']:.2f}..{r['paired_max']:.2f})"
            if r["paired_median"] is not None
            else "paired -"
        )
        rate = f"{r['req_per_s']:.3f}x" if r["req_per_s"] is not None else "-"
        print(
            f"netsuite / {r['baseline']:<13} {r['workload']:<6} req/s {rate:>7}  {paired}"
            f"  CPU efficiency {r['cpu_efficiency']:.2f}x{verdict}"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line: windows, rounds, servers, wrk's shape."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    # wrk takes whole seconds.
    p.add_argument("--duration", type=int, default=5, help="seconds measured per wrk run")
    p.add_argument("--warmup", type=int, default=1, help="seconds of wrk first (0: none)")
    p.add_argument("--rounds", type=int, default=3, help="rounds (servers rotate)")
    p.add_argument("--servers", default=",".join(SERVERS), help="comma-separated subset")
    p.add_argument("--workloads", default=",".join(WORKLOADS), help="static,json or one")
    p.add_argument("--conns", type=int, default=64, help="wrk connections")
    p.add_argument("--threads", type=int, default=1, help="wrk threads")
    p.add_argument("--grace", type=float, default=15.0,
                   help="seconds past its duration before a wrk run is killed")  # fmt: skip
    add_reactor_option(p)
    p.add_argument("--json", type=Path, default=OUT / "web.json")
    args = p.parse_args(argv)
    args.servers = [s for s in args.servers.split(",") if s]
    args.workloads = [w for w in args.workloads.split(",") if w]
    unknown = set(args.servers) - set(SERVERS) | set(args.workloads) - set(WORKLOADS)
    if unknown or args.rounds < 1 or args.duration <= 0 or args.warmup < 0:
        p.error(f"bad --servers/--workloads/--rounds/--duration/--warmup ({sorted(unknown)})")
    if not shutil.which("wrk"):
        p.error("wrk not found: apt-get install -y wrk")
    return args


def main() -> int:
    """Write the document root, run every round, print and save the medians and ratios."""
    args = parse_args()
    began = time.monotonic()
    ROOT.mkdir(parents=True, exist_ok=True)
    (ROOT / FILE_NAME).write_bytes(file_body())
    runs: list[dict[str, Any]] = []
    problems: list[str] = []
    for rnd in range(args.rounds):
        shift = rnd % len(args.servers)
        for name in args.servers[shift:] + args.servers[:shift]:
            workloads = [w for w in args.workloads if w in PATHS[name]]
            if not workloads:
                continue
            server = make_server(name, args.reactor)
            server.start()
            try:
                for workload in workloads:
                    wrong = check(server, workload)
                    if wrong:
                        problems.append(f"{name} {workload}: {wrong}")
                        print(f"round {rnd} {name} {workload}: {wrong}", flush=True)
                        continue
                    if args.warmup:
                        run_wrk(server, workload, args.warmup, args)
                    lingering = wait_closed(server.port)
                    r = run_wrk(server, workload, args.duration, args)
                    r.update(server=name, workload=workload, round=rnd, lingering=lingering)
                    runs.append(r)
                    print(
                        f"round {rnd} {workload:<6} {name:<13} {r['req_per_s']:>9,.0f} req/s"
                        f"  p50 {r['p50_ms']:.2f} ms p99 {r['p99_ms']:.2f} ms  errors"
                        f" {r['errors']}  CPU s: server {r['server_cpu_s']:.2f} wrk"
                        f" {r['wrk_cpu_s']:.2f} machine {r['machine_busy_s']:.2f}"
                        f" in {r['wall_s']:.1f} s"
                        + (f"  lingering {lingering}" if lingering else ""),
                        flush=True,
                    )  # fmt: skip
                    if r["errors"] and name not in EXPECTED_ERRORS:
                        problems.append(f"{name} {workload} round {rnd}: {r['errors']} wrk errors")
                if not server.alive():
                    problems.append(f"{name} died:\n" + "\n".join(server.tail))
            finally:
                server.stop()
    medians = summarize(runs)
    found = ratios(medians, runs)
    print_table(medians, found, args)
    elapsed = time.monotonic() - began
    report = {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "machine": {
            "cpus": os.cpu_count(),
            "kernel": platform.release(),
            "python": platform.python_version(),
            "twisted": metadata.version("twisted"),
            "netsuite": metadata.version("netsuite"),
            "aiohttp": _version("aiohttp"),
            "nginx": _command_version(["nginx", "-v"]),
            "wrk": _command_version(["wrk", "-v"]),
        },
        "medians": medians,
        "netsuite_over": found,
        "problems": problems,
        "elapsed_s": round(elapsed, 1),
        "runs": runs,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print(f"\n{len(problems)} problems; {elapsed:.0f} s; results in {args.json}")
    return 1 if problems else 0


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _command_version(argv: list[str]) -> str | None:
    try:
        out = subprocess.run(argv, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout + out.stderr).decode(errors="replace").strip()
    return text.splitlines()[0] if text else None


if __name__ == "__main__":
    sys.exit(main())
