`netsuite doctor` says why `twistd netsuite` does not start or list its plugins: an
import error in the plugin module (with its line), a stale or unwritable
`dropin.cache`, a stale `twistd.pid`, each `--cert`/`--key`/`--ca` (readable, key
matches, chain, names, expiry within 30 days), each `--port` (free, or held by which
process), and where the development CA is with the option that trusts it. One line per
finding (`ok`, `warning`, `problem`, with the fix); exit status 1 on any problem. See
docs/doctor.md.

One TOML config file for the whole suite: `twistd netsuite --config FILE` reads every
section (`[suite]`, `[echo]`, `[chat]`, `[chat.irc]`, `[web]`, `[web.api]`, `[web.ws]`,
`[tls]`, `[log]`), each single plugin (`twistd netsuite-chat --config FILE`) reads its
own, and `tap/netsuite.tac` reads the file named by `NETSUITE_CONFIG`. Every
command-line option has a key (`max_per_ip = 8`, `listen = [...]`), and the command line
overrides the file. Unknown keys, wrong types, values below their bound, bad listen
descriptions, missing files and two doors on one port are all reported at once as
`FILE:LINE: [section] key: expected ..., got ...`, and the process exits 1 before it
listens. `--check` checks the file and every certificate, opens nothing, prints each
listener (address, TLS, minimum version, ALPN, client-certificate policy) and every
limit that differs from its default, like `nginx -t`; `--print-config` prints the
effective config as TOML that `--config` reads back. Examples: `tap/development.toml`
and `tap/production.toml`. See docs/configuration.md.

Socket activation: `systemd:` listen descriptions adopt sockets that systemd (or `systemd-socket-activate`) hands over even without `LISTEN_FDNAMES`, by `index=N`, and name them with `systemd:domain=INET:name=NAME` for TCP and `...:name=NAME:type=dgram` for UDP (one `.socket` unit's TCP and UDP sockets may share a name: the type picks). An error says what was asked and exactly what was inherited. With `NOTIFY_SOCKET` set, netsuite tells systemd `READY=1` once every door listens and `STOPPING=1` at shutdown, for `Type=notify` units. `docs/systemd/` holds a socket unit pair and a hardened `netsuite.service` (DynamicUser, ProtectSystem=strict, no capabilities), explained in its README.

`--history 0` (chat, and the suite's `--chat-args`) turns room history off: nothing is kept and nothing is replayed on join.

`twistd -n netsuite` with no arguments opens every door with its TLS twin on loopback: echo TLS and DTLS on 7443, the chat line door on 7778, IRC on 6697 and the web on 8443 (HTTP/2 and HTTP/1.1), with throw-away certificates from the development CA; the log names the CA and the `--ca PATH` that trusts it. `--no-tls` (or `[suite] no_tls = true`) opens only the plain doors.

Structured logs: every connection event carries `service`, `door`, a connection id `conn` and `peer`; over TLS also `tls_version`, `cipher`, `alpn` and the verified `client_identity`; refusals name the limit (`limit="max-per-ip"`, `limit_value=8`), and a failed TLS handshake reads `TLS handshake failed: unsupported protocol` (field `tls_error`). `twistd --logger netsuite.base.logs.json_logger netsuite` writes one JSON object per line (time, level, namespace, text and every field; tracebacks as `traceback`), twistd's own lines included, to `$NETSUITE_LOG_FILE` or standard output. The text log is unchanged. See docs/logging.md.

`netsuite doctor --config FILE` checks the suite's config file too: each problem in it is a finding, and every certificate and port of the doors it opens is checked.

Graceful drain: on SIGTERM every listening port closes at once (new connections are refused within a second), then chat members get a "server shutting down" notice (IRC clients then `ERROR :Closing Link: NICK (server shutting down)`, WebSockets close 1001), queued output and echoes owed flush, idle HTTP connections close and responses in flight finish while `/api/health` answers `503 {"status": "draining"}`; what is left after `--drain-timeout` (now 10 s by default, and an echo option too) is aborted, and the process exits 0. SIGINT during the drain aborts everything at once (exit 0); a repeated SIGTERM is logged and ignored. See docs/operations.md.

The suite runs under `twistd --reactor epoll` (the default), `poll`, `select` and `asyncio`; an end-to-end test reaches every door under each. `NETSUITE_REACTOR=poll pytest tests/e2e` runs the whole end-to-end tier (and `netsuite.testing.TwistdProcess`, `twistd_command()`) under another reactor; `bench/echo.py --reactor NAME` (and `bench/web.py`) measures one. docs/reactors.md says which is fastest here and how to choose.

`--log-format json` (or `[log] format = "json"` in the config) makes any netsuite plugin log one JSON object per line, twistd's own lines included, to `--log-file` (or `[log] file`) or stdout; `--log-format text` keeps one line per event.
