"""
The whole bench as one command: build the load generators, run the echo, udp, chat,
web, tls and memory drivers in turn with their default server sets, print one summary table
(netsuite's median and its ratio to each peer, with server CPU per operation) and write
it, with the machine's description and the command, to docs/benchmarks.md.

    .venv/bin/python -m bench [--duration S] [--rounds N] [--only echo,chat]
        [--peers-venv DIR] [--source] [--doc docs/benchmarks.md | --no-doc]

Why one command: the drivers each print their own table, with their own defaults, in
their own JSON file; comparing netsuite with its peers across workloads meant running
five scripts by hand and copying figures. This runner changes nothing in how a driver
measures: it only runs each as a subprocess (its output shown as it comes), then reads
the medians from the JSON file the driver writes (bench/out/suite/NAME.json).

Peers a driver cannot start here are left out with a line saying why, never silently:
aiohttp (web) needs the package importable by the drivers' interpreter (--peers-venv
DIR makes a venv of its own with it), nginx (web) needs the binary, wrk runs the whole
web driver, uvloop (echo, udp: the asyncio peers on uvloop's loop) needs uvloop
importable (--peers-venv installs it; the driver prints a line when it leaves it out).
netsuite runs under its own reactor (each driver's --reactor, default "netsuite").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out" / "suite"
DOC = REPO / "docs" / "benchmarks.md"

DRIVERS = ("echo", "udp", "chat", "web", "tls", "memory")

#: Peer categories for the ratio columns (netsuite's figure over the peer's).
NAIVE = ("plain-twisted", "naive-twisted", "twistd-web", "bare-twisted")
PYTHON_PEERS = ("asyncio", "uvloop", "threaded", "aiohttp", "http.server")
LIMITS = ("nginx", "c-epoll", "ncat")

#: Packages --peers-venv installs, each because a driver's default server set uses it.
PEER_PACKAGES = {
    "aiohttp": "web.py's aiohttp server (bench/peers/aiohttp_web.py)",
    "uvloop": "echo.py's and udp.py's uvloop servers (bench/peers/asyncio_{echo,udp}.py)",
}


@dataclass
class Row:
    """One workload: netsuite's median and every other server's, same unit."""

    workload: str
    unit: str
    figures: dict[str, float]  # server -> median throughput
    cpu_us: dict[str, float]  # server -> server CPU microseconds per operation
    #: A cost (memory's KiB/conn), not a rate: the best peer is the lowest and the ratio
    #: is the peer's figure over netsuite's, so above 1 still means netsuite ahead.
    lower_is_better: bool = False


def _rows_echo(medians: dict[str, Any]) -> list[Row]:
    rows = []
    for mode, key, unit in (("pipelined", "msgs_per_s", "msg/s"), ("bulk", "mb_per_s", "MB/s")):
        have = {s: m[mode] for s, m in medians.items() if mode in m}
        rows.append(
            Row(
                f"echo {mode}",
                unit,
                {s: v[key] for s, v in have.items()},
                {s: v["server_cpu_us_per_msg"] for s, v in have.items()},
            )
        )
    workers = medians.get("netsuite-workers", {})
    for mode, key, unit in (("pipelined", "msgs_per_s", "msg/s"), ("bulk", "mb_per_s", "MB/s")):
        if mode in workers:  # its own row, in no ratio: several processes against one
            fig = workers[mode]
            rows.append(Row(f"echo {mode}, --workers 2", unit, {"netsuite": fig[key]},
                            {"netsuite": fig["server_cpu_us_per_msg"]}))  # fmt: skip
    return rows


def _rows_chat(medians: dict[str, Any]) -> list[Row]:
    counts = sorted({int(n) for m in medians.values() for n in m})
    rows = []
    for n in counts:
        have = {s: m[str(n)] for s, m in medians.items() if str(n) in m}
        rows.append(
            Row(
                f"chat {n} members",
                "deliveries/s",
                {s: v["deliveries_per_s"] for s, v in have.items()},
                {s: v["server_cpu_us_per_delivery"] for s, v in have.items()},
            )
        )
    return rows


def _rows_udp(medians: dict[str, Any]) -> list[Row]:
    return [
        Row(
            "udp echo",
            "dgram/s",
            {s: m["dgrams_per_s"] for s, m in medians.items()},
            {s: m["server_cpu_us_per_dgram"] for s, m in medians.items()},
        )
    ]


def _rows_tls(medians: dict[str, Any]) -> list[Row]:
    workloads = list(dict.fromkeys(w for m in medians.values() for w in m))
    rows = []
    for w in workloads:
        have = {s: m[w] for s, m in medians.items() if w in m}
        rows.append(
            Row(
                f"tls {w}",
                "MB/s" if w == "bulk" else "cycles/s",
                {s: v["headline"] for s, v in have.items()},
                {s: v["server_cpu_us_per_unit"] for s, v in have.items()},
            )
        )
    return rows


def _rows_web(medians: dict[str, Any]) -> list[Row]:
    return [
        Row(
            f"web {w}",
            "req/s",
            {s: v["req_per_s"] for s, v in servers.items()},
            {s: v["server_us_per_req"] for s, v in servers.items()},
        )
        for w, servers in medians.items()
    ]


def _rows_memory(medians: dict[str, Any]) -> list[Row]:
    # KiB per idle connection (lower is better, so Row.lower_is_better); the CPU column
    # is the server's CPU to accept each connection (and, over TLS, do its handshake).
    transports = list(dict.fromkeys(t for m in medians.values() for t in m))
    rows = []
    for t in transports:
        have = {s: m[t] for s, m in medians.items() if t in m}
        rows.append(
            Row(
                f"memory idle {t}",
                "KiB/conn",
                {s: v["bytes_per_conn"] / 1024 for s, v in have.items()},
                {s: v["server_cpu_us_per_conn"] for s, v in have.items()},
                lower_is_better=True,
            )
        )
    return rows


ROWS: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "echo": _rows_echo,
    "udp": _rows_udp,
    "chat": _rows_chat,
    "web": _rows_web,
    "tls": _rows_tls,
    "memory": _rows_memory,
}


@dataclass
class Outcome:
    """What one driver run gave: its rows, or why there are none, and what it skipped."""

    driver: str
    status: int | None
    rows: list[Row]
    skipped: list[str]
    seconds: float


def peers_venv(directory: Path) -> Path:
    """
    A venv of the bench's own holding the peers' packages; its python runs the drivers.

    Why a .pth to this interpreter's site-packages: the drivers start netsuite and the
    Twisted peers with their own interpreter, so Twisted and the installed netsuite must
    stay importable; pip then sees them installed and adds only what is missing, so no
    second copy of a shared dependency (attrs) shadows the one netsuite was tested with.
    """
    python = directory / "bin" / "python"
    if not python.exists():
        print(f"bench: creating the peers venv {directory}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(directory)], check=True)
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    ours = sysconfig.get_paths()["purelib"]
    (Path(site) / "_netsuite_bench_base.pth").write_text(ours + "\n")
    # The drivers run the twistd next to their interpreter: make it this one's, so the
    # netsuite measured is the one installed here and not whichever twistd is on PATH.
    twistd, link = Path(sys.executable).with_name("twistd"), directory / "bin" / "twistd"
    if twistd.exists() and not link.exists():
        link.symlink_to(twistd)
    missing = [p for p in PEER_PACKAGES if not _importable(str(python), p, dict(os.environ))]
    if missing:
        print(f"bench: pip install {' '.join(missing)} into {directory}", flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *missing], check=True)
    return python


def _importable(python: str, module: str, env: dict[str, str]) -> bool:
    """Whether C{python} (with C{env}) can import C{module}: how peers are found."""
    probe = [python, "-c", f"import {module}"]
    return subprocess.run(probe, env=env, capture_output=True).returncode == 0


def web_servers(python: str, env: dict[str, str]) -> tuple[list[str], list[str]]:
    """web.py's default servers this machine can run, and a line for each it cannot."""
    sys.path.insert(0, str(BENCH))
    try:
        from web import SERVERS
    finally:
        sys.path.remove(str(BENCH))
    servers, skipped = [], []
    for name in SERVERS:
        if name == "aiohttp" and not _importable(python, "aiohttp", env):
            skipped.append("web: aiohttp skipped: not importable (use --peers-venv DIR)")
        elif name == "nginx" and not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
            skipped.append("web: nginx skipped: no nginx binary (apt-get install -y nginx)")
        else:
            servers.append(name)
    return servers, skipped


def run_driver(name: str, args: argparse.Namespace, python: str, env: dict[str, str]) -> Outcome:
    """Run bench/NAME.py with the suite's options, its output passed through; read its JSON."""
    started = time.monotonic()
    result = OUT / f"{name}.json"
    argv = [python, str(BENCH / f"{name}.py"), "--json", str(result)]
    skipped: list[str] = []
    if args.duration is not None:
        # web.py (wrk) takes whole seconds
        duration = max(1, round(args.duration)) if name == "web" else args.duration
        argv += ["--duration", f"{duration:g}"]
    if args.rounds is not None:
        argv += ["--rounds", str(args.rounds)]
    if name == "web":
        if not shutil.which("wrk"):
            line = "web: skipped: wrk not found (apt-get install -y wrk)"
            print(f"bench: {line}", flush=True)
            return Outcome(name, None, [], [line], 0.0)
        servers, skipped = web_servers(python, env)
        argv += ["--servers", ",".join(servers)]
    if name in ("echo", "udp") and not _importable(python, "uvloop", env):
        # the driver leaves it out and says so too; this line also reaches the document
        skipped.append(f"{name}: uvloop skipped: not importable (use --peers-venv DIR)")
    for line in skipped:
        print(f"bench: {line}", flush=True)
    print(f"\nbench: {shlex.join(argv)}", flush=True)
    result.unlink(missing_ok=True)
    status = subprocess.run(argv, env=env, cwd=REPO).returncode
    rows: list[Row] = []
    if result.exists():
        rows = ROWS[name](json.loads(result.read_text())["medians"])
    return Outcome(name, status, rows, skipped, time.monotonic() - started)


def _category(row: Row, names: tuple[str, ...]) -> tuple[str, float] | None:
    """The best (highest; lowest for a cost) figure among C{names} that ran this workload."""
    found = [(s, row.figures[s]) for s in names if s in row.figures]
    best = min if row.lower_is_better else max
    return best(found, key=lambda p: p[1]) if found else None


def _num(v: float) -> str:
    return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}"


def summary(outcomes: list[Outcome]) -> list[list[str]]:
    """
    Rows of the summary table: netsuite's median, then for the naive Twisted peer, the
    best Python peer and the limit (nginx), that server, its figure and netsuite's ratio
    to it (above 1: netsuite ahead); server CPU microseconds per operation for each.
    """
    table = [["workload", "unit", "netsuite", "srv us/op", "naive Twisted", "x",
              "best Python peer", "x", "limit", "x"]]  # fmt: skip
    for o in outcomes:
        for row in o.rows:
            ours = row.figures.get("netsuite")
            cells = [row.workload, row.unit]
            cells += [_num(ours), f"{row.cpu_us['netsuite']:.2f}"] if ours else ["-", "-"]
            for names in (NAIVE, PYTHON_PEERS, LIMITS):
                best = _category(row, names)
                if best is None:
                    cells += ["-", ""]
                    continue
                server, figure = best
                cpu = row.cpu_us.get(server)
                cells.append(f"{server} {_num(figure)}" + (f" ({cpu:.2f} us)" if cpu else ""))
                if not (ours and figure):
                    cells.append("-")
                    continue
                cells.append(f"{figure / ours if row.lower_is_better else ours / figure:.2f}")
            table.append(cells)
    return table


def render_text(table: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table
    )


def render_markdown(table: list[list[str]]) -> str:
    lines = ["| " + " | ".join(table[0]) + " |", "|" + "---|" * len(table[0])]
    lines += ["| " + " | ".join(c or " " for c in r) + " |" for r in table[1:]]
    return "\n".join(lines)


def machine(python: str, env: dict[str, str]) -> dict[str, str]:
    """nproc, CPU model, kernel, and the drivers' Python, Twisted and netsuite versions."""
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    probe = (
        "import platform, importlib.metadata as m\n"
        "print(platform.python_version())\n"
        "for p in ('Twisted', 'netsuite'):\n"
        "    try: print(m.version(p))\n"
        "    except m.PackageNotFoundError: print('not installed')\n"
    )
    out = subprocess.run([python, "-c", probe], env=env, capture_output=True, text=True)
    versions = [*out.stdout.split(), "?", "?", "?"][:3]
    return {
        "CPUs (nproc)": str(len(os.sched_getaffinity(0))),
        "CPU model": model,
        "kernel": f"{platform.system()} {platform.release()}",
        "Python": versions[0],
        "Twisted": versions[1],
        "netsuite": versions[2] + (" (source tree, --source)" if "PYTHONPATH" in env else ""),
    }


def write_doc(path: Path, args: argparse.Namespace, command: str, table: list[list[str]],
              outcomes: list[Outcome], host: dict[str, str]) -> None:  # fmt: skip
    """docs/benchmarks.md: the machine, the command, the table, what was skipped or failed."""
    smoke = (args.duration is not None and args.duration < 5) or (
        args.rounds is not None and args.rounds < 3
    )
    parts = ["# Benchmarks", ""]
    if smoke:
        parts += [
            f"> **Smoke figures, not measurements.** This run used `--duration "
            f"{f'{args.duration:g}' if args.duration is not None else 'default'}` and `--rounds "
            f"{args.rounds if args.rounds is not None else 'default'}`: it shows that the "
            "bench runs end to end, not how fast anything is. For real figures run, on an "
            "otherwise idle machine: `.venv/bin/python -m bench --peers-venv "
            "/tmp/bench-peers` (each driver's default windows and rounds, about 20 min).",
            "",
        ]
    parts += [
        "Written by `python -m bench` (bench/__main__.py); each workload's details (shape, "
        "spread, verification, client CPU) are in the driver's own output and in "
        "`bench/out/suite/*.json`. See bench/README.md for what each driver measures.",
        "",
        "## Machine",
        "",
        *[f"- {k}: {v}" for k, v in host.items()],
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        "## Command",
        "",
        f"    {command}",
        "",
        "## Results",
        "",
        "Medians over the rounds. `x` is netsuite's figure over that server's (above 1: "
        "netsuite ahead; for KiB/conn, a cost, that server's over netsuite's). `srv us/op` "
        "is netsuite's server CPU per operation (message, delivery, datagram, request, "
        "handshake cycle, MB for TLS bulk, idle connection accepted); the peers' own "
        "CPU per operation is in parentheses. One process against one process.",
        "",
        render_markdown(table),
        "",
    ]
    notes = [line for o in outcomes for line in o.skipped]
    notes += [f"{o.driver}: exited with status {o.status}" for o in outcomes if o.status]
    notes += [f"{o.driver}: no results" for o in outcomes if not o.rows and o.status is not None]
    if notes:
        parts += ["## Skipped or failed", "", *[f"- {n}" for n in notes], ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    p.add_argument("--duration", type=float, help="seconds per window (default: each driver's)")
    p.add_argument("--rounds", type=int, help="rounds per driver (default: each driver's)")
    p.add_argument(
        "--only", default=",".join(DRIVERS), help="comma-separated, of " + ", ".join(DRIVERS)
    )
    p.add_argument(
        "--peers-venv", type=Path, help="a venv of its own for the peers' packages (created)"
    )
    p.add_argument(
        "--source",
        action="store_true",
        help="run netsuite from this source tree (PYTHONPATH), not the installed copy",
    )
    p.add_argument("--doc", type=Path, default=DOC, help="where to write the report")
    p.add_argument("--no-doc", action="store_true", help="print the table only")  # fmt: skip
    args = p.parse_args(argv)
    args.only = [d for d in args.only.split(",") if d]
    unknown = set(args.only) - set(DRIVERS)
    if (
        unknown
        or not args.only
        or (args.duration is not None and args.duration <= 0)
        or (args.rounds is not None and args.rounds < 1)
    ):
        p.error(f"bad --only/--duration/--rounds ({sorted(unknown)})")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join(["python", "-m", "bench", *(sys.argv[1:] if argv is None else argv)])
    env = dict(os.environ)
    if args.source:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    python = str(peers_venv(args.peers_venv)) if args.peers_venv else sys.executable
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    outcomes = [run_driver(name, args, python, env) for name in DRIVERS if name in args.only]
    table = summary(outcomes)
    print(f"\n==== bench summary ({time.monotonic() - started:.0f} s) ====")
    print(render_text(table))
    for o in outcomes:
        for line in o.skipped:
            print(f"  {line}")
        if o.status:
            print(f"  {o.driver}: exited with status {o.status}")
    if not args.no_doc:
        write_doc(args.doc, args, command, table, outcomes, machine(python, env))
        print(f"\nwritten: {args.doc}")
    return 1 if any(o.status for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
