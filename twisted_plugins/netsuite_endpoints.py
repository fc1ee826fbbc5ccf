"""
netsuite's listen-description parsers, registered with Twisted's plugin system.

C{nstls:} (hardened TLS, stream), C{udp:} and C{systemd:...:type=dgram} (datagram).
Each is a lazy stand-in: the real parser is imported on first use.
"""

from netsuite.twistd.lazy_plugins import LazyDatagramParser, LazyStreamParser

nstls = LazyStreamParser("nstls", "netsuite.twistd.endpoints:parse_nstls")
udp = LazyDatagramParser("udp", "netsuite.twistd.endpoints:parse_udp")
systemdDatagram = LazyDatagramParser("systemd", "netsuite.twistd.endpoints:parse_systemd_datagram")
dtls = LazyDatagramParser("dtls", "netsuite.tls.dtls:parse_dtls")
