"""
netsuite's test kit, for our tests and for yours: in memory first, real processes last.

In memory (no sockets, no waiting; see C{docs/testing.md}):

  - L{connect_door}: a door (any server factory) and your client protocol connected
    through Twisted's iosim, plain or over the C{nstls:} listener's real TLS::

        pair = connect_door(factory, client, tls=TLSFiles(tmpdir))
        pair.client.transport.write(b"hi")
        pair.pump.flush()

  - L{RecordingMember} and L{hub_on_clock}: the chat hub on a L{Clock}, and a member
    that records every event the hub delivers::

        hub, clock = hub_on_clock()
        alice = RecordingMember()
        hub.connect(alice, "alice")
        hub.join(alice, "#lobby")
        clock.advance(5)

  - L{memory_site} and L{web_client}: the netsuite web site on a test clock, and a
    treq client (L{treq.testing.StubTreq}) that reaches it in memory::

        client = web_client(memory_site({"hello.txt": b"hi"}))
        response = successResultOf(client.get("http://example/api/health"))

  - L{MemoryStore}: the chat backbone's Redis store in memory, on a clock, with a
    server's faults on demand (C{down()}, C{up()}, C{restart()})::

        store = MemoryStore(clock)
        store.connect()
        store.append("ns:room:#lobby", {"t": "hi"}, maxlen=100)

  - L{netsuite.testing.strategies} (needs hypothesis): chat events, IRC lines, probe
    datagrams.

Real processes (the end-to-end tier):

  - L{TwistdProcess}: start a real C{twistd -n <plugin>} in a subprocess, wait (on its
    log, never on the clock) until every listener is bound, talk to it, stop it with
    SIGTERM and get its exit status::

        with TwistdProcess("netsuite-echo", ["--listen", "tcp:0:interface=127.0.0.1"]) as p:
            host, port = p.address("echo/tcp")

  - L{TLSFiles}: a throw-away CA and leaf certificates on disk, for TLS listeners
    (and for L{connect_door}'s TLS)::

        files = TLSFiles(tmpdir)
        files.nstls(0)  # an nstls: description serving files.cert_path

  - L{require_tool}: find an external client (C{openssl}, C{nc}, C{curl} ...) or skip;
    with C{NETSUITE_REQUIRE_TOOLS=1} (set by CI) a missing tool fails the test instead.
  - L{converse}: run such a client, feed it input and read until an expected answer.
  - L{twistd_command}: the C{twistd} of the running interpreter's environment.
"""

from netsuite.testing._chat import RecordingMember, hub_on_clock
from netsuite.testing._pairs import DoorPair, connect_door
from netsuite.testing._process import (
    Listener,
    TLSFiles,
    TwistdProcess,
    converse,
    require_tool,
    twistd_command,
)
from netsuite.testing._web import memory_site, web_client
from netsuite.testing.chatstore import MemoryStore

__all__ = [
    "DoorPair",
    "Listener",
    "MemoryStore",
    "RecordingMember",
    "TLSFiles",
    "TwistdProcess",
    "connect_door",
    "converse",
    "hub_on_clock",
    "memory_site",
    "require_tool",
    "twistd_command",
    "web_client",
]
