"""
Soak: the whole suite (C{twistd -n netsuite}) under mixed load for minutes, on loopback.

Why: the per-door tests each prove one property in seconds; a leak of a few bytes per
connection, a timer never cancelled or an error path that logs a traceback once in ten
thousand connections shows only when everything runs together for a long time. This
runs every door at once (issue 13, item 8):

  - echo: a Python client streams seeded random chunks and checks every echoed byte;
    C{loadgen} bursts (C{--verify full}) on top;
  - UDP: numbered probes, each answered or counted lost;
  - chat: C{chatgen} fan-out bursts (50 members, every message checked in order by every
    receiver), and a member that never reads while they run;
  - HTTP: GETs of a small page, a cached 256 KiB file and a 2 MiB file streamed from
    disk, bodies checked by SHA-256, and C{/api/stats};
  - TLS: C{tlsgen} handshake bursts, and Python handshakes with an echo each;
  - slow clients: header trickles cut by the header deadline, slow readers of the big
    files;
  - abrupt disconnects: connects to every door that reset (C{SO_LINGER} 0) half-way
    through a line, a request, a registration or a handshake.

The server's RSS is sampled after a warm-up and at the end (target: growth under 10 %),
its log is scanned for C{Traceback} and C{Unhandled Error} (target: none), and a summary
table is printed. Not run in CI: C{python -m bench.soak --minutes 10}.
"""

from __future__ import annotations

__all__: list[str] = []
