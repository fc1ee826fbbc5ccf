"""
netsuite's listen-description parsers, registered with Twisted's plugin system.

C{nstls:} (hardened TLS, stream), C{udp:}, C{systemd:...:type=dgram} and C{dtls:} (datagram).
Each is a lazy stand-in: the real parser is imported on first use.
"""

from netsuite.twistd._lazy_plugins import LazyDatagramParser, LazyStreamParser

nstls = LazyStreamParser("nstls", "netsuite.twistd._endpoints:parse_nstls")
udp = LazyDatagramParser("udp", "netsuite.twistd._endpoints:parse_udp")
systemdDatagram = LazyDatagramParser(
    "systemd", "netsuite.twistd._endpoints:parse_systemd_datagram"
)
dtls = LazyDatagramParser("dtls", "netsuite.twistd._endpoints:parse_dtls")
