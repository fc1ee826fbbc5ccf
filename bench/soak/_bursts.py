"""
Bursts of the bench's C load generators against the soaked suite, in turn, with a rest
between rounds: C{loadgen} (echo, every byte checked), C{chatgen} (fan-out to 50
members, every message checked in order by every receiver), C{tlsgen} (full TLS
handshakes, each with an echo checked).

Why bursts, not one long run: the generators run flat out, and the machine's two cores
are shared; a few seconds of each in a cycle puts peak load on every door many times in
a soak while the Python clients keep a steady background.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.benchproc import BENCH, OUT, build_c, run_windowed
from bench.soak._load import Worker

GENERATORS = {
    "loadgen": ("loadgen.c", ()),
    "chatgen": ("chatgen.c", ()),
    "tlsgen": ("tlsgen.c", ("-lssl", "-lcrypto")),
}


def build(name: str) -> Path | None:
    """
    Compile one generator with genlib.c now, into C{bench/out/soak/} (the other
    drivers build and run theirs in C{bench/out/} meanwhile); None if that fails.
    """
    source, libs = GENERATORS[name]
    binary = OUT / "soak" / name
    binary.parent.mkdir(parents=True, exist_ok=True)
    try:
        build_c(BENCH / source, binary, libs)
    except (subprocess.CalledProcessError, OSError) as e:
        print(f"soak: building {name} failed ({e}); its bursts are left out", file=sys.stderr)
        return None
    return binary


@dataclass
class Bursts(Worker):
    """Each generator for C{burst} seconds in turn, then C{rest} seconds, until the end."""

    pid: int = 0
    ports: dict[str, int] | None = None
    ca: str = ""
    burst: float = 2.0
    rest: float = 4.0

    def commands(self, binaries: dict[str, Path]) -> list[tuple[str, list[str]]]:
        ports = self.ports or {}
        window = ["--duration", str(self.burst), "--warmup", "0.2"]
        out = []
        if "loadgen" in binaries:
            out.append(("echo", [str(binaries["loadgen"]), "--port", str(ports["echo/tcp"]),
                                 "--conns", "8", "--inflight", "4", "--verify", "full",
                                 *window]))  # fmt: skip
        if "chatgen" in binaries:
            out.append(("chat", [str(binaries["chatgen"]), "--port", str(ports["chat/line"]),
                                 "--members", "50", *window]))  # fmt: skip
        if "tlsgen" in binaries:
            out.append(("tls", [str(binaries["tlsgen"]), "--port", str(ports["echo/tls"]),
                                "--mode", "handshake", "--conns", "4", "--ca", self.ca,
                                "--sni", "localhost", *window]))  # fmt: skip
        return out

    def run(self, deadline: float) -> None:
        binaries = {n: b for n in GENERATORS if (b := build(n)) is not None}
        commands = self.commands(binaries)
        while commands and time.monotonic() + self.burst + 1 < deadline:
            for what, argv in commands:
                if time.monotonic() + self.burst + 1 >= deadline:
                    break
                result, status = run_windowed(argv, self.pid, timeout=self.burst + 120)
                self.counts[f"{what} bursts"] += 1
                if result is None or status != 0:
                    self.fail(f"{what} burst: exit {status}, {result}")
                    continue
                self.counts[f"{what} server cpu s"] += result["server_cpu_s"]
                if what == "chat":
                    self.counts["chat deliveries"] += int(result["deliveries"])
                    self.errors["chat gaps or content errors"] += result["errors"]
                else:
                    self.counts[f"{what} bytes verified"] += int(result["verified_bytes"])
                    self.errors[f"{what} mismatched bytes"] += result["mismatched_bytes"]
                if what == "tls":
                    self.counts["tls handshakes"] += int(result["handshakes_total"])
            rest_until = min(time.monotonic() + self.rest, deadline)
            while time.monotonic() < rest_until:
                time.sleep(min(0.5, max(0.0, rest_until - time.monotonic())))
        # Counter drops zero counts from the summary only when asked; keep them honest.
        for key in list(self.errors):
            if not self.errors[key]:
                del self.errors[key]
