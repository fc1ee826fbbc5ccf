"""
The probe wire format: what `netsuite ping` sends and expects back.

    magic "NSPR" | version 1 | flags | reserved (2) | sequence (u64) | sent (u64, ns) | padding

Big-endian, 24 bytes of header, padded with zeros to the requested size. An echo server
returns the datagram as it is, so a probe works against any RFC 862 echo, not only ours.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["HEADER_SIZE", "MAGIC", "MAX_SIZE", "Probe", "ProbeError", "decode", "encode"]

MAGIC = b"NSPR"
VERSION = 1
_HEADER = struct.Struct("!4sBBHQQ")
HEADER_SIZE = _HEADER.size
#: The largest UDP payload over IPv4.
MAX_SIZE = 65507


class ProbeError(ValueError):
    """Bytes that are not a probe of ours (another sender, a truncated datagram)."""


@dataclass(frozen=True)
class Probe:
    seq: int
    sent_ns: int
    size: int
    flags: int = 0


def encode(seq: int, sent_ns: int, size: int = HEADER_SIZE, flags: int = 0) -> bytes:
    """A probe datagram of exactly C{size} bytes (at least the 24-byte header)."""
    if not HEADER_SIZE <= size <= MAX_SIZE:
        raise ProbeError(f"probe size {size}: expected {HEADER_SIZE} to {MAX_SIZE} bytes")
    header = _HEADER.pack(MAGIC, VERSION, flags, 0, seq, sent_ns)
    return header + bytes(size - HEADER_SIZE)


def decode(data: bytes) -> Probe:
    """Parse a probe; L{ProbeError} says why the bytes are not one."""
    if len(data) < HEADER_SIZE:
        raise ProbeError(f"{len(data)} bytes: shorter than a probe header ({HEADER_SIZE})")
    magic, version, flags, _, seq, sent_ns = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise ProbeError("not a netsuite probe (bad magic)")
    if version != VERSION:
        raise ProbeError(f"probe version {version}: this client speaks {VERSION}")
    return Probe(seq, sent_ns, len(data), flags)
