"""
Limits and rate policies, and the default of every limit netsuite enforces.

The policies: the connection gate (total and per-peer caps), token buckets and
per-source budgets (L{netsuite.limits._policy}), and the bounded session table that
DTLS and UDP guards key by peer (L{netsuite.limits._session_table}). Line framing and
send queues are stream machinery (L{netsuite.stream}); their bounds are named here too.

Every default, named in L{netsuite.limits._defaults} (the C{twistd} option that sets it;
where it is enforced):

  - C{MAX_CONNECTIONS} 1024, C{MAX_PER_IP} 64 (C{--max-connections}, C{--max-per-ip} of
    echo, chat, web): L{ConnectionGate}, asked by C{stream._door.DoorFactory} and the
    web site's channel factory for each connection.
  - C{IDLE_TIMEOUT} 300 s (echo C{--idle-timeout}): C{stream._door.StreamDoor};
    C{LINE_IDLE_TIMEOUT} 3600 s (chat C{--idle-timeout}) for the line door;
    C{WEB_IDLE_TIMEOUT} 60 s (web C{--idle-timeout}): C{web._config.WebLimits}.
  - C{DRAIN_TIMEOUT} 10 s (echo, chat and web C{--drain-timeout}): C{DoorFactory.drain} and the
    web site's drain at shutdown.
  - C{MAX_LINE} 4096 bytes (chat C{--max-line}): C{stream._lines.LineSplitter}.
  - C{SEND_QUEUE} 1 MiB (chat C{--send-queue}, web C{--ws-send-queue}): the door's
    C{stream._outbox.Outbox} (the WebSocket door's message outbox).
  - C{CORK_LIMIT} 64 KiB: what C{StreamDoor.write} gathers while corked.
  - C{UDP_RATE} 2,000,000 B/s, C{UDP_BURST} 256 KiB, C{MAX_SOURCES} 4096, and
    C{DEFAULT_DENIED_PORTS} (echo C{--udp-*}): C{echo._udp.DatagramGuard} over
    L{SourceBuckets}; per source address:port C{UDP_SOURCE_PACKETS} 2,000/s and
    C{UDP_SOURCE_BYTES} 1,000,000 B/s, over all sources C{UDP_GLOBAL_PACKETS} 50,000/s
    and C{UDP_GLOBAL_BYTES} 50,000,000 B/s, loop damping C{UDP_LOOP_RATE} 5 repeats/s
    and C{UDP_LOOP_QUIET} 5 s: the same guard, over
    C{_policy.FlowTable}.
  - C{MAX_SESSIONS} 1024: L{SessionTable} (the DTLS listener's, C{maxSessions=}).
  - C{HISTORY} 100, C{FLOOD_RATE} 5/s, C{FLOOD_BURST} 20, C{FLOOD_KICK} 20 (chat
    C{--history}, C{--flood-*}): the chat hub, a L{TokenBucket} per member.
  - C{IRC_PING_INTERVAL} 90 s, C{IRC_PING_TIMEOUT} 60 s (chat C{--ping-*}): the IRC door.
  - C{MAX_BODY} 1 MiB, C{MAX_HEADERS} 100, C{MAX_HEADER_BYTES} 16384,
    C{HEADER_TIMEOUT} 10 s, C{BODY_TIMEOUT} 60 s, C{WEB_ABORT_TIMEOUT} 5 s (web
    C{--max-body}, C{--max-headers}, C{--max-header-bytes}, C{--header-timeout},
    C{--body-timeout}): C{web._config.WebLimits}, enforced by the web channel.
  - C{CACHE_BYTES} 64 MiB, C{CACHE_FILE_MAX} 1 MiB (web C{--cache-size},
    C{--cache-file-max}): C{web._config.WebConfig}, the static file cache.
  - C{WS_MAX_MESSAGE} 64 KiB (web C{--ws-max-message}): C{web._wsguard.FrameGuard}, per
    frame and per message; C{WS_PING_INTERVAL} 30 s (web C{--ws-ping-interval}).
"""

from netsuite.limits._defaults import (
    BODY_TIMEOUT,
    CACHE_BYTES,
    CACHE_FILE_MAX,
    CORK_LIMIT,
    DEFAULT_DENIED_PORTS,
    DRAIN_TIMEOUT,
    FLOOD_BURST,
    FLOOD_KICK,
    FLOOD_RATE,
    HEADER_TIMEOUT,
    HISTORY,
    IDLE_TIMEOUT,
    IRC_PING_INTERVAL,
    IRC_PING_TIMEOUT,
    LINE_IDLE_TIMEOUT,
    MAX_BODY,
    MAX_CONNECTIONS,
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    MAX_LINE,
    MAX_PER_IP,
    MAX_SESSIONS,
    MAX_SOURCES,
    SEND_QUEUE,
    UDP_BURST,
    UDP_GLOBAL_BYTES,
    UDP_GLOBAL_PACKETS,
    UDP_LOOP_QUIET,
    UDP_LOOP_RATE,
    UDP_RATE,
    UDP_SOURCE_BYTES,
    UDP_SOURCE_PACKETS,
    WEB_ABORT_TIMEOUT,
    WEB_IDLE_TIMEOUT,
    WS_MAX_MESSAGE,
    WS_PING_INTERVAL,
)
from netsuite.limits._policy import ConnectionGate, SourceBuckets, SourceEntry, TokenBucket
from netsuite.limits._session_table import SessionTable

__all__ = [
    "BODY_TIMEOUT",
    "CACHE_BYTES",
    "CACHE_FILE_MAX",
    "CORK_LIMIT",
    "DEFAULT_DENIED_PORTS",
    "DRAIN_TIMEOUT",
    "FLOOD_BURST",
    "FLOOD_KICK",
    "FLOOD_RATE",
    "HEADER_TIMEOUT",
    "HISTORY",
    "IDLE_TIMEOUT",
    "IRC_PING_INTERVAL",
    "IRC_PING_TIMEOUT",
    "LINE_IDLE_TIMEOUT",
    "MAX_BODY",
    "MAX_CONNECTIONS",
    "MAX_HEADERS",
    "MAX_HEADER_BYTES",
    "MAX_LINE",
    "MAX_PER_IP",
    "MAX_SESSIONS",
    "MAX_SOURCES",
    "SEND_QUEUE",
    "UDP_BURST",
    "UDP_GLOBAL_BYTES",
    "UDP_GLOBAL_PACKETS",
    "UDP_LOOP_QUIET",
    "UDP_LOOP_RATE",
    "UDP_RATE",
    "UDP_SOURCE_BYTES",
    "UDP_SOURCE_PACKETS",
    "WEB_ABORT_TIMEOUT",
    "WEB_IDLE_TIMEOUT",
    "WS_MAX_MESSAGE",
    "WS_PING_INTERVAL",
    "ConnectionGate",
    "SessionTable",
    "SourceBuckets",
    "SourceEntry",
    "TokenBucket",
]
