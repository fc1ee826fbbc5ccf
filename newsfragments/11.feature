`netsuite doctor` says why `twistd netsuite` does not start or list its plugins: an
import error in the plugin module (with its line), a stale or unwritable
`dropin.cache`, a stale `twistd.pid`, each `--cert`/`--key`/`--ca` (readable, key
matches, chain, names, expiry within 30 days), each `--port` (free, or held by which
process), and where the development CA is with the option that trusts it. One line per
finding (`ok`, `warning`, `problem`, with the fix); exit status 1 on any problem. See
docs/doctor.md.
