"""
UDP probes: a wire format any RFC 862 echo returns verbatim, a sequencer that turns
datagrams in any order into an in-order, exactly-once stream, and the statistics a
ping reports (loss, duplicates, reordering, RTT, RFC 3550 jitter). No I/O here.
"""

from netsuite.datagram._probe import HEADER_SIZE, Probe, ProbeError, decode, encode
from netsuite.datagram._sequencer import Sequencer, SequencerStats
from netsuite.datagram._stats import PingStats

__all__ = [
    "HEADER_SIZE",
    "PingStats",
    "Probe",
    "ProbeError",
    "Sequencer",
    "SequencerStats",
    "decode",
    "encode",
]
