"""
The default value of every limit netsuite enforces, named once.

The policies and doors that enforce a limit (and the C{twistd} options that set it) take
their defaults from here, so changing a default is one edit and one grep of
C{netsuite/limits/} shows them all. Plain values, no imports: any layer may use them.
See L{netsuite.limits} for where each is enforced (it re-exports them all).
"""

from __future__ import annotations

# --- Connections (every stream door) ---------------------------------------------------

#: Most connections one door has open at once (0: no cap).
MAX_CONNECTIONS = 1024
#: Most connections one door has open at once from one peer IP (0: no cap).
MAX_PER_IP = 64
#: Seconds without input before a stream peer is dropped (0: never); the echo's.
IDLE_TIMEOUT = 300.0
#: Seconds a chat line-door peer may stay silent (people read more than they type).
LINE_IDLE_TIMEOUT = 3600.0
#: Seconds queued output and responses in flight may take on shutdown (SIGTERM) before
#: what is left is aborted: long enough for a slow download's tail, short enough to stay
#: well inside systemd's 90 s stop timeout.
DRAIN_TIMEOUT = 10.0

# --- Streams: lines and output ---------------------------------------------------------

#: Longest line accepted, in bytes, line ending excluded; a longer one is discarded.
MAX_LINE = 4096
#: Bytes queued for a slow reader (a chat member, a WebSocket) before it is cut off.
SEND_QUEUE = 1 << 20
#: Bytes a door gathers while corked (a fan-out in progress) before it sends them anyway.
CORK_LIMIT = 1 << 16

# --- Datagrams -------------------------------------------------------------------------

#: UDP bytes a second echoed to one source IP, sustained.
UDP_RATE = 2_000_000.0
#: UDP bytes one source IP may be echoed at once (raised to one whole datagram at least).
UDP_BURST = 262_144.0
#: Source IPs (and source address:port pairs) whose rate state is kept; the least
#: recently seen are forgotten first.
MAX_SOURCES = 4096
#: UDP datagrams a second echoed to one source address and port, sustained and at once
#: (its burst is one second's worth): tiny datagrams never reach the byte budgets.
UDP_SOURCE_PACKETS = 2_000.0
#: UDP bytes a second echoed to one source address and port (the burst: one second's
#: worth, raised to one whole datagram at least).
UDP_SOURCE_BYTES = 1_000_000.0
#: UDP datagrams a second echoed to all sources together (burst: one second's worth), so
#: spoofing many sources cannot make the echo a bigger reflector.
UDP_GLOBAL_PACKETS = 50_000.0
#: UDP bytes a second echoed to all sources together (burst: one second's worth).
UDP_GLOBAL_BYTES = 50_000_000.0
#: Repeats a second answered to one source address and port (a datagram equal to one of
#: the last few echoed to it: what another echo sends back), burst the same; one more
#: and the source is not answered at all until it has been quiet for UDP_LOOP_QUIET.
UDP_LOOP_RATE = 5.0
#: Seconds a source caught looping must stay silent before it is answered again.
UDP_LOOP_QUIET = 5.0
#: Per-peer sessions a datagram server keeps (a DTLS listener's table).
MAX_SESSIONS = 1024
#: Source ports of services that answer (or loop) by themselves, never echoed to: echo,
#: discard, daytime, qotd, chargen, time, DNS, portmap, NTP, NetBIOS, SNMP, CLDAP, SSDP,
#: mDNS, memcached.
DEFAULT_DENIED_PORTS = frozenset(
    {7, 9, 13, 17, 19, 37, 53, 111, 123, 137, 161, 389, 1900, 5353, 11211}
)

# --- Chat ------------------------------------------------------------------------------

#: Messages kept per room and replayed on join.
HISTORY = 100
#: Messages a second each member may send, sustained.
FLOOD_RATE = 5.0
#: Messages each member may send at once.
FLOOD_BURST = 20.0
#: Messages dropped in a row for flooding before the member is kicked.
FLOOD_KICK = 20
#: IRC: seconds of silence before the server sends a PING.
IRC_PING_INTERVAL = 90.0
#: IRC: seconds a client has to answer a PING.
IRC_PING_TIMEOUT = 60.0

# --- Web -------------------------------------------------------------------------------

#: Largest request body, in bytes (413 beyond).
MAX_BODY = 1 << 20
#: Most header fields in one request (431 beyond).
MAX_HEADERS = 100
#: Most bytes of request line plus header fields (431 beyond; 414 for a request line).
MAX_HEADER_BYTES = 16384
#: Seconds from a request's first byte to the end of its header (408 beyond).
HEADER_TIMEOUT = 10.0
#: Seconds from the end of a request's header to the end of its body.
BODY_TIMEOUT = 60.0
#: Seconds a kept-alive HTTP connection may sit with no request.
WEB_IDLE_TIMEOUT = 60.0
#: Seconds a closing HTTP connection gets to flush before it is aborted.
WEB_ABORT_TIMEOUT = 5.0
#: Bytes of small files the static cache keeps in memory.
CACHE_BYTES = 64 << 20
#: Largest file the static cache keeps, in bytes; larger ones are streamed.
CACHE_FILE_MAX = 1 << 20
#: Largest WebSocket frame or message a browser may send, in bytes (1009 beyond).
WS_MAX_MESSAGE = 1 << 16
#: Seconds of WebSocket silence before the server pings (0: never).
WS_PING_INTERVAL = 30.0
