`netsuite.testing` ships an in-memory test kit for your own tests: `connect_door` joins
a door and a client over Twisted's `iosim`, plain or TLS; `RecordingMember` and
`hub_on_clock` drive the chat hub on a `Clock`; `memory_site` and `web_client` serve the
web site to a `treq` stub client without sockets; `netsuite.testing.strategies` has
hypothesis strategies for chat events, IRC lines and probe datagrams (the
`netsuite[testing]` extra). See `docs/testing.md`.
