"""
What-if experiments for bench/udp.py, not run by default: twistd netsuite-echo with
UDPEcho's hot path changed in this process only, to measure a suggested fix without
editing netsuite. The guard (deny-list, token bucket, LRU, every counter) is unchanged.

  --variant clock   (server "netsuite-clockfix"): the clock is bound to the real reactor
      when the protocol starts. netsuite-echo hands UDPEcho C{options.reactor}, a
      L{netsuite.twistd._options.GlobalReactor} proxy whose C{__getattr__} runs
      C{from twisted.internet import reactor} on every lookup: one import statement per
      datagram, for C{self.clock.seconds()}.
  --variant direct  (server "netsuite-direct"): the clock fix, and the echo sent with the
      socket's own C{sendto}, bound once, instead of C{udp.Port.write}, which checks the
      address with C{isIPAddress} twice and C{isIPv6Address} once per datagram. The
      address came from C{recvfrom}, so it is already one the socket can send to; an
      C{OSError} is still counted as C{dropped.send_failed}, as in UDPEcho.

Usage: netsuite_udp_whatif.py --variant clock|direct TWISTD-ARGUMENTS...
"""

import sys

from twisted.scripts.twistd import run

from netsuite.echo._udp import UDPEcho
from netsuite.twistd._options import GlobalReactor


def start_protocol(self: UDPEcho) -> None:
    """Swap the proxy for the reactor it stands for (twistd has installed it by now)."""
    if isinstance(self.clock, GlobalReactor):
        from twisted.internet import reactor

        self.clock = reactor
    self._seconds = self.clock.seconds
    self._sendto = self.transport.socket.sendto


def datagram_received_direct(self: UDPEcho, datagram: bytes, addr: tuple) -> None:
    """UDPEcho.datagramReceived with the bound clock and sendto; refusals as before."""
    now = self._seconds()
    reason = self.guard.check(addr[0], addr[1], len(datagram), now)
    if reason is None:
        try:
            self._sendto(datagram, addr)
        except OSError:
            self.guard.counters["dropped.send_failed"] += 1
        return
    self._unlogged += 1
    if now - self._last_log >= 1.0:
        self.log.warn(
            "{service} dropped {count} datagram(s), latest from {host}:{port}: {reason}",
            service=self.name,
            count=self._unlogged,
            host=addr[0],
            port=addr[1],
            reason=reason.replace("_", " "),
        )
        self._last_log = now
        self._unlogged = 0


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "--variant" or sys.argv[2] not in ("clock", "direct"):
        sys.exit(__doc__)
    UDPEcho.startProtocol = start_protocol
    if sys.argv[2] == "direct":
        UDPEcho.datagramReceived = datagram_received_direct
    sys.argv = ["twistd", *sys.argv[3:]]
    run()
