"""
Slow-reader soak: does netsuite-echo keep its memory flat when a client writes as fast
as the server takes bytes but reads the echoes back at only 1 MiB/s?

Why: an echo server without backpressure buffers everything such a client sends and
grows without bound. netsuite's echo pauses reading from a peer whose echoes are piling
up, so its RSS should stay near its idle size while every byte still comes back intact.

    /tmp/venv/bin/python bench/slow_reader.py [--duration 20] [--rate-mib 1]

Starts twistd netsuite-echo with its defaults, samples the server's VmRSS every 0.25 s,
and checks every byte read against the deterministic stream it sent. Exits 1 if a byte
was wrong, the peak RSS reached --limit-mib (100), the connection dropped, or less than
90% of the paced read volume came back (the server stalled). Writes bench/out/slow_reader.json.
"""

from __future__ import annotations

import argparse
import json
import random
import selectors
import socket
import sys
import time
from dataclasses import asdict, dataclass, field

from benchproc import BARE_PORT, BENCH, OUT, TWISTD_PORT, Server, netsuite_echo_command, rss_kib

PERIOD = 1_048_573  # prime: the stream does not line up with any buffer or chunk size
CHUNK = 65_536  # most bytes sent or read per call
MIB = 1 << 20


@dataclass
class Outcome:
    """What one soak measured; serialised as the JSON report."""

    duration_s: float = 0.0
    read_rate_mib_s: float = 0.0
    bytes_written: int = 0
    bytes_read: int = 0
    mismatched_bytes: int = 0
    rss_idle_mib: float = 0.0
    rss_peak_mib: float = 0.0
    rss_samples: int = 0
    failures: list[str] = field(default_factory=list)


def make_stream(seed: int) -> memoryview:
    """One period of the pseudo-random stream, plus CHUNK bytes so any slice is contiguous."""
    period = random.Random(seed).randbytes(PERIOD)
    return memoryview(period + period[:CHUNK])


def soak(port: int, pid: int, args: argparse.Namespace, out: Outcome) -> None:
    """Write flat out, read at the paced rate, verify, and sample the server's RSS."""
    stream = make_stream(args.seed)
    rate = args.rate_mib * MIB
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_WRITE)
    registered = selectors.EVENT_WRITE
    peak_kib = rss_kib(pid)
    out.rss_samples = 1
    start = time.monotonic()
    deadline = start + args.duration
    next_sample = start + args.sample
    try:
        while True:  # bounded by the deadline
            now = time.monotonic()
            if now >= deadline:
                break
            if now >= next_sample:
                peak_kib = max(peak_kib, rss_kib(pid))
                out.rss_samples += 1
                next_sample += args.sample
                if peak_kib >= 2 * args.limit_mib * 1024:  # spare the machine: fail now
                    out.failures.append(f"stopped after {now - start:.1f} s: RSS over 2x limit")
                    break
            allowance = int(rate * (now - start)) - out.bytes_read
            wanted = selectors.EVENT_WRITE | (selectors.EVENT_READ if allowance > 0 else 0)
            if wanted != registered:
                sel.modify(sock, wanted)
                registered = wanted
            # Sleep at most until the next RSS sample, the end, or (when the read budget
            # is spent) until 16 KiB more may be read.
            wake = min(next_sample, deadline)
            if allowance <= 0:
                wake = min(wake, start + (out.bytes_read + 16_384) / rate)
            for _key, events in sel.select(max(0.0, wake - now)):
                if events & selectors.EVENT_WRITE:
                    write_some(sock, stream, out)
                if events & selectors.EVENT_READ and allowance > 0:
                    read_some(sock, stream, min(allowance, CHUNK), out)
            if out.failures:
                break
    finally:
        sel.close()
        sock.close()
    out.duration_s = time.monotonic() - start
    out.read_rate_mib_s = out.bytes_read / MIB / out.duration_s
    out.rss_peak_mib = peak_kib / 1024


def write_some(sock: socket.socket, stream: memoryview, out: Outcome) -> None:
    """Send until the kernel says EAGAIN (at most 64 calls, to keep the loop fair)."""
    for _ in range(64):
        offset = out.bytes_written % PERIOD
        try:
            sent = sock.send(stream[offset : offset + CHUNK])
        except BlockingIOError:
            return
        except OSError as e:
            out.failures.append(f"send failed: {e}")
            return
        out.bytes_written += sent


def read_some(sock: socket.socket, stream: memoryview, limit: int, out: Outcome) -> None:
    """Read at most C{limit} bytes and compare them with what was sent at that offset."""
    try:
        data = sock.recv(limit)
    except BlockingIOError:
        return
    except OSError as e:
        out.failures.append(f"recv failed: {e}")
        return
    if not data:
        out.failures.append("the server closed the connection")
        return
    offset = out.bytes_read % PERIOD
    expected = stream[offset : offset + len(data)]
    if expected != data:
        out.mismatched_bytes += sum(a != b for a, b in zip(expected, data, strict=True))
    out.bytes_read += len(data)


def parse_args() -> argparse.Namespace:
    """Command line: soak length, read rate, memory limit."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--duration", type=float, default=20.0, help="seconds of soak")
    p.add_argument("--rate-mib", type=float, default=1.0, help="MiB/s read back")
    p.add_argument("--sample", type=float, default=0.25, help="seconds between RSS samples")
    p.add_argument("--limit-mib", type=float, default=100.0, help="peak RSS that fails")
    p.add_argument("--seed", type=int, default=862, help="seed of the byte stream")
    p.add_argument(
        "--server",
        choices=("netsuite", "plain-twisted"),
        default="netsuite",
        help="plain-twisted (no backpressure) is a control that should fail the RSS limit",
    )
    args = p.parse_args()
    if args.duration <= 0 or args.rate_mib <= 0 or args.sample <= 0:
        p.error("--duration, --rate-mib and --sample must be positive")
    return args


def main() -> int:
    """Start the server, soak it, report, and fail on a wrong byte or too much memory."""
    args = parse_args()
    out = Outcome()
    if args.server == "netsuite":
        server = Server("netsuite", netsuite_echo_command(), TWISTD_PORT)
    else:
        peer = [sys.executable, str(BENCH / "peers" / "plain_twisted_echo.py")]
        server = Server(args.server, peer, BARE_PORT)
    port = server.start()
    try:
        out.rss_idle_mib = rss_kib(server.pid) / 1024
        soak(port, server.pid, args, out)
        if not server.alive():
            out.failures.append("the server died:\n" + "\n".join(server.tail))
    finally:
        server.stop()
    if out.mismatched_bytes:
        out.failures.append(f"{out.mismatched_bytes} bytes read back differ from those sent")
    if out.rss_peak_mib >= args.limit_mib:
        out.failures.append(f"peak RSS {out.rss_peak_mib:.1f} MiB >= {args.limit_mib:g} MiB")
    if out.bytes_read < 0.9 * args.rate_mib * MIB * out.duration_s:
        out.failures.append(f"read only {out.read_rate_mib_s:.2f} MiB/s: the echo stalled")
    print(
        f"slow reader, {out.duration_s:.1f} s against {server.name}"
        f"{' (twistd netsuite-echo, defaults)' if args.server == 'netsuite' else ''}:\n"
        f"  written   {out.bytes_written / MIB:10.2f} MiB (as fast as the server took it)\n"
        f"  read      {out.bytes_read / MIB:10.2f} MiB ({out.read_rate_mib_s:.2f} MiB/s),"
        f" every byte checked: {out.mismatched_bytes} wrong\n"
        f"  in flight {(out.bytes_written - out.bytes_read) / MIB:10.2f} MiB at the end"
        " (socket buffers + server)\n"
        f"  server RSS idle {out.rss_idle_mib:.1f} MiB, peak {out.rss_peak_mib:.1f} MiB"
        f" ({out.rss_samples} samples every {args.sample:g} s; limit {args.limit_mib:g} MiB)"
    )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "slow_reader.json").write_text(json.dumps(asdict(out), indent=2) + "\n")
    for failure in out.failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    print("PASS" if not out.failures else "FAIL")
    return 1 if out.failures else 0


if __name__ == "__main__":
    sys.exit(main())
