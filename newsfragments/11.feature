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
