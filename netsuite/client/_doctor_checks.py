"""
The checks of C{netsuite doctor}: plain functions that return L{Finding}s.

Every input a check looks at arrives as an argument (a plugin directory, the plugins
Twisted listed, a pid-alive function, a C{/proc} root, a bind probe, the time), so each
finding is provoked in a unit test with a temporary directory and no real process, and
the command-line adapter (L{netsuite.client._doctor}) only gathers the real inputs,
prints and picks the exit status.

The configured things (certificates and ports) enter through L{check_configured}, which
takes plain lists: the command line fills them from C{--cert}/C{--key}/C{--ca}/C{--port}
today, a config file can fill them the same way later.

The module is above 400 lines because it holds every check of C{netsuite doctor}, each a
small pure function with its findings and fixes; the checks share the L{Finding} shape
and nothing else, so splitting them would only scatter one list.
"""

from __future__ import annotations

import datetime
import errno
import importlib.util
import ipaddress
import os
import socket
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from OpenSSL import crypto
from twisted.application.service import IServiceMaker

from netsuite.tls._contexts import (
    TLSConfigError,
    certificate_names,
    load_certificates,
    load_chain,
    summarize_certificate,
)

__all__ = [
    "EXPECTED_PLUGINS",
    "PLUGIN_MODULE",
    "REFRESH_COMMAND",
    "CacheState",
    "CertSpec",
    "Finding",
    "PortSpec",
    "check_ca_hint",
    "check_certificates",
    "check_configured",
    "check_pidfile",
    "check_plugins",
    "check_ports",
    "parse_port",
    "parse_proc_net",
    "pid_alive",
    "probe_bind",
    "snapshot_cache",
    "socket_owners",
]

Level = Literal["ok", "warning", "problem"]

#: The twistd plugins netsuite installs (C{twisted_plugins/netsuite_plugins.py}).
EXPECTED_PLUGINS = ("netsuite", "netsuite-echo", "netsuite-chat", "netsuite-web")
#: The module in C{twisted/plugins} that declares them.
PLUGIN_MODULE = "netsuite_plugins.py"
REFRESH_COMMAND = "python -m netsuite.twistd.plugincache"
#: Days before expiry from which a certificate is a warning.
EXPIRY_WARNING_DAYS = 30


@dataclass(frozen=True)
class Finding:
    """One line of the report: how bad, which check, what was found, and the fix."""

    level: Level
    check: str
    message: str
    fix: str | None = None

    def line(self) -> str:
        text = f"{self.level} {self.check}: {self.message}"
        return f"{text} -- fix: {self.fix}" if self.fix else text


def _ok(check: str, message: str) -> Finding:
    return Finding("ok", check, message)


# --- twistd plugins ---------------------------------------------------------------------


@dataclass(frozen=True)
class CacheState:
    """
    C{dropin.cache} as it was before anything scanned the plugins: scanning rewrites a
    stale cache when it can, so the adapter takes this snapshot first.
    """

    directory: Path
    cache_mtime: float | None  # None: there is no cache
    newest: Path | None  # the newest plugin module
    newest_mtime: float

    @property
    def cache(self) -> Path:
        return self.directory / "dropin.cache"

    @property
    def stale(self) -> bool:
        """Twisted's own rule: a module at least as new as the cache is read again."""
        return self.cache_mtime is None or (
            self.newest is not None and self.newest_mtime >= self.cache_mtime
        )


def snapshot_cache(directory: Path) -> CacheState:
    """The cache's and the newest plugin module's modification times in C{directory}."""
    cache = directory / "dropin.cache"
    modules = [(p.stat().st_mtime, p) for p in directory.glob("*.py")]
    newest_mtime, newest = max(modules, default=(0.0, None))
    try:
        cache_mtime: float | None = cache.stat().st_mtime
    except OSError:
        cache_mtime = None
    return CacheState(directory, cache_mtime, newest, newest_mtime)


def _import_file(path: Path) -> tuple[object | None, str | None]:
    """
    Import the plugin module at C{path} as Twisted would, without keeping it: the module,
    or the exception with the line of C{path} that raised it (and the innermost frame
    when the error comes from deeper down).
    """
    spec = importlib.util.spec_from_file_location(f"_netsuite_doctor_{path.stem}", path)
    if spec is None or spec.loader is None:
        return None, f"cannot load {path}"
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except BaseException as e:  # a plugin module may raise anything at import
        if isinstance(e, KeyboardInterrupt):
            raise
        frames = traceback.extract_tb(e.__traceback__)
        where = ""
        if isinstance(e, SyntaxError) and e.filename == str(path):
            where = f" at {path.name} line {e.lineno}"
        own = [f for f in frames if f.filename == str(path)]
        if own and not where:
            where = f" at {path.name} line {own[-1].lineno}"
        if frames and frames[-1].filename != str(path) and not isinstance(e, SyntaxError):
            where += f" (raised in {frames[-1].filename} line {frames[-1].lineno})"
        return None, f"{type(e).__name__}: {e}{where}"
    return module, None


def _declared(module: object) -> dict[str, str]:
    """C{tapname -> tap module} for every service maker C{module} declares."""
    return {
        maker.tapname: maker.module
        for maker in vars(module).values()
        if IServiceMaker.providedBy(maker) and hasattr(maker, "module")
    }


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK)


def _cache_findings(state: CacheState, writable: bool) -> list[Finding]:
    if not state.stale:
        return [_ok("plugin cache", f"{state.cache} is fresh")]
    why = (
        f"{state.cache} does not exist"
        if state.cache_mtime is None
        else f"{state.cache} is older than {state.newest}"
    )
    if writable:
        return [
            Finding(
                "warning",
                "plugin cache",
                f"{why}: every twistd run rescans the plugins until it is rewritten",
                REFRESH_COMMAND,
            )
        ]
    return [
        Finding(
            "warning",
            "plugin cache",
            f"{why} and {state.directory} is not writable: every twistd run rescans the "
            "plugins and logs 'Unable to write to plugin cache'",
            f"{REFRESH_COMMAND} as the user who installed netsuite",
        )
    ]


def check_plugins(
    state: CacheState,
    listed: Mapping[str, str],
    *,
    expected: Sequence[str] = EXPECTED_PLUGINS,
    writable: Callable[[Path], bool] = _writable,
    import_module: Callable[[str], object] = importlib.import_module,
) -> list[Finding]:
    """
    Is each of C{expected} listed by Twisted (C{listed}: tapname -> tap module, what
    C{getPlugins(IServiceMaker)} gave), and if not, why not?

    The causes, in the order they are looked for: the plugin module is not installed in
    C{state.directory}; importing it raises (the exception and its line); it does not
    declare the plugin (an older copy); the cache said otherwise (stale, unwritable, or
    written from an older copy with a newer time). A listed plugin's tap module is
    imported too: C{twistd --help} lists a plugin whose tap module fails, but
    C{twistd NAME} then stops with a traceback.
    """
    findings = _cache_findings(state, writable(state.directory))
    missing = [name for name in expected if name not in listed]
    if missing:
        findings += _why_missing(state, missing, writable(state.directory))
    for name in expected:
        if name not in listed:
            continue
        try:
            import_module(listed[name])
        except Exception as e:
            frames = traceback.extract_tb(e.__traceback__)
            where = f" ({frames[-1].filename} line {frames[-1].lineno})" if frames else ""
            findings.append(
                Finding(
                    "problem",
                    "plugins",
                    f"{name} is listed but its module {listed[name]} fails to import: "
                    f"{type(e).__name__}: {e}{where}; 'twistd {name}' will stop there",
                    "fix that import (a missing dependency, a broken install)",
                )
            )
        else:
            findings.append(_ok("plugins", f"{name} is listed by twistd"))
    return findings


def _why_missing(state: CacheState, missing: list[str], writable: bool) -> list[Finding]:
    names = ", ".join(missing)
    path = state.directory / PLUGIN_MODULE
    if not path.exists():
        return [
            Finding(
                "problem",
                "plugins",
                f"{names} not listed by twistd: {path} does not exist",
                "reinstall netsuite (pip install netsuite) in the Python that runs twistd",
            )
        ]
    module, error = _import_file(path)
    if module is None:
        return [
            Finding(
                "problem",
                "plugins",
                f"{names} not listed by twistd: importing {path} fails: {error}",
                f"fix {path.name} (or reinstall netsuite), then {REFRESH_COMMAND}",
            )
        ]
    declared = _declared(module)
    undeclared = [n for n in missing if n not in declared]
    findings = []
    if undeclared:
        findings.append(
            Finding(
                "problem",
                "plugins",
                f"{', '.join(undeclared)} not listed by twistd: {path} does not declare "
                "it (an older copy of netsuite?)",
                "reinstall netsuite",
            )
        )
    rest = [n for n in missing if n in declared]
    if rest:
        if state.stale and not writable:
            why = f"{state.cache} is stale and {state.directory} is not writable"
            fix = f"{REFRESH_COMMAND} as the user who installed netsuite"
        elif state.stale:
            why = f"{state.cache} is stale"
            fix = REFRESH_COMMAND
        else:
            why = (
                f"{state.cache} is newer than {path.name} but was written from an older copy of it"
            )
            fix = f"rm {state.cache} && {REFRESH_COMMAND}"
        findings.append(
            Finding(
                "problem",
                "plugins",
                f"{', '.join(rest)} declared in {path.name} but not listed by twistd: {why}",
                fix,
            )
        )
    return findings


# --- twistd.pid -------------------------------------------------------------------------


def pid_alive(pid: int) -> bool:
    """C{kill(pid, 0)}: a process we may not signal is still alive."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_twistd(argv: list[str]) -> bool:
    """C{twistd ...}, C{python .../twistd ...} or C{python -m twisted ...}."""
    for i, arg in enumerate(argv[:3]):
        if os.path.basename(arg).startswith("twistd"):
            return True
        if arg == "-m" and i + 1 < len(argv) and argv[i + 1].split(".")[0] == "twisted":
            return True
    return False


def check_pidfile(
    path: Path,
    alive: Callable[[int], bool] = pid_alive,
    proc_root: Path = Path("/proc"),
) -> list[Finding]:
    """
    The pid file twistd writes at start and refuses to start over.

    A pid that no longer runs is a warning: twistd removes such a file itself. A pid that
    runs but is not twistd (the number was reused after a crash) is a problem: twistd
    refuses to start ("Another twistd server is running").
    """
    check = "pidfile"
    try:
        text = path.read_text()
    except FileNotFoundError:
        return [_ok(check, f"no {path}: no twistd runs from here")]
    except OSError as e:
        return [Finding("problem", check, f"cannot read {path}: {e.strerror}", f"rm {path}")]
    try:
        pid = int(text.strip())
    except ValueError:
        return [
            Finding(
                "problem",
                check,
                f"{path} holds no pid ({text.strip()[:20]!r}); twistd refuses to start",
                f"rm {path}",
            )
        ]
    if not alive(pid):
        return [
            Finding(
                "warning",
                check,
                f"{path} is stale: pid {pid} is not running (twistd removes it at start)",
                f"rm {path}",
            )
        ]
    try:
        argv = [a for a in (proc_root / str(pid) / "cmdline").read_bytes().split(b"\0") if a]
    except OSError:
        return [_ok(check, f"{path}: pid {pid} is running (cannot tell which program)")]
    command = [a.decode(errors="replace") for a in argv]
    if _is_twistd(command):
        return [_ok(check, f"{path}: twistd is running as pid {pid}")]
    shown = " ".join(command)[:60] or "a process without a command line"
    return [
        Finding(
            "problem",
            check,
            f"{path} is stale: pid {pid} is running but is not twistd ({shown}); twistd "
            "refuses to start while it runs",
            f"rm {path}",
        )
    ]


# --- certificates -----------------------------------------------------------------------


@dataclass(frozen=True)
class CertSpec:
    """A certificate file (leaf first, then its chain) and its key file (None: none given,
    or the key is in the certificate file)."""

    cert: Path
    key: Path | None = None


def _expiry(check: str, cert: crypto.X509, now: datetime.datetime, warn_days: int) -> Finding:
    c = cert.to_cryptography()
    summary = summarize_certificate(cert)
    days = summary.days_left(now)
    until = f"{summary.not_after:%Y-%m-%d}"
    if now < c.not_valid_before_utc:
        return Finding(
            "problem",
            check,
            f"not valid before {c.not_valid_before_utc:%Y-%m-%d %H:%M}Z (a clock behind?)",
            "check the clock, or reissue the certificate",
        )
    if days < 0:
        return Finding("problem", check, f"expired on {until} ({int(-days)} days ago)", "renew it")
    if days < warn_days:
        return Finding(
            "warning", check, f"expires on {until}: {int(days)} days left", "renew it soon"
        )
    return _ok(check, f"valid until {until} ({int(days)} days)")


def _chain(check: str, certs: list[crypto.X509], store_certs: list[crypto.X509]) -> Finding:
    """
    Does the leaf chain to one of the CAs, through the intermediates of its file? Checked
    at a moment inside the leaf's validity, so that an expired certificate is reported once,
    by the expiry finding, not again as a broken chain.
    """
    store = crypto.X509Store()
    for ca in store_certs:
        store.add_cert(ca)
    c = certs[0].to_cryptography()
    moment = c.not_valid_before_utc + (c.not_valid_after_utc - c.not_valid_before_utc) / 2
    store.set_time(moment.replace(tzinfo=None))
    try:
        crypto.X509StoreContext(store, certs[0], chain=certs[1:]).verify_certificate()
    except crypto.X509StoreContextError as e:
        return Finding(
            "problem",
            check,
            f"does not chain to the --ca certificates: {e}",
            "serve the certificate with its intermediates, or give the CA that issued it",
        )
    return _ok(check, "chains to the --ca certificates")


def _load_cas(
    cas: Sequence[Path], now: datetime.datetime, warn_days: int
) -> tuple[list[Finding], list[crypto.X509]]:
    findings: list[Finding] = []
    loaded: list[crypto.X509] = []
    for path in cas:
        check = f"ca {path}"
        try:
            certs = load_certificates(str(path), "ca")
        except TLSConfigError as e:
            findings.append(Finding("problem", check, str(e), "give a PEM CA certificate"))
            continue
        loaded += certs
        findings.append(_expiry(check, certs[0], now, warn_days))
    return findings, loaded


def _has_key(path: Path) -> bool:
    try:
        return b"PRIVATE KEY-----" in path.read_bytes()
    except OSError:
        return False


def check_certificates(
    specs: Sequence[CertSpec],
    cas: Sequence[Path] = (),
    now: datetime.datetime | None = None,
    warn_days: int = EXPIRY_WARNING_DAYS,
) -> list[Finding]:
    """
    Each certificate: readable and PEM, the key matches (when a key is given or the file
    holds one), the chain verifies against C{cas} (when given), its names, its expiry;
    each CA file: readable, PEM, its expiry.
    """
    now = now or datetime.datetime.now(datetime.UTC)
    findings, store = _load_cas(cas, now, warn_days)
    for spec in specs:
        check = f"cert {spec.cert}"
        try:
            certs = load_certificates(str(spec.cert), "cert")
        except TLSConfigError as e:
            findings.append(Finding("problem", check, str(e), "give a PEM certificate file"))
            continue
        if spec.key is not None or _has_key(spec.cert):
            key_path = None if spec.key is None else str(spec.key)
            try:
                load_chain(str(spec.cert), key_path)
            except TLSConfigError as e:
                findings.append(Finding("problem", check, str(e), "give the key issued with it"))
            else:
                findings.append(_ok(check, f"key {spec.key or spec.cert} matches"))
        if store:
            findings.append(_chain(check, certs, store))
        names = certificate_names(certs[0])
        if names:
            findings.append(_ok(check, f"names: {', '.join(names)}"))
        else:
            findings.append(
                Finding(
                    "warning",
                    check,
                    "no subject-alternative names: clients that check the host name refuse it",
                    "reissue it with the names clients use (netsuite certs issue NAME)",
                )
            )
        findings.append(_expiry(check, certs[0], now, warn_days))
    return findings


# --- ports ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PortSpec:
    """A port a door will listen on: C{host} "" is every IPv4 interface, as C{tcp:PORT}."""

    port: int
    host: str = ""
    udp: bool = False

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else (self.host or "*")
        return f"{host}:{self.port}/{'udp' if self.udp else 'tcp'}"


def parse_port(text: str) -> PortSpec:
    """C{[HOST:]PORT[/udp]} (C{[::1]:7} for IPv6); raises C{ValueError} with the reason."""
    spec, _, proto = text.partition("/")
    if proto not in ("", "tcp", "udp"):
        raise ValueError(f"{text!r}: the protocol after / must be tcp or udp")
    host, port = "", spec
    if spec.startswith("["):
        host, sep, port = spec[1:].partition("]:")
        if not sep:
            raise ValueError(f"{text!r}: write an IPv6 address as [ADDRESS]:PORT")
    elif ":" in spec:
        host, _, port = spec.rpartition(":")
    if host:
        try:
            host = str(ipaddress.ip_address(host))
        except ValueError:
            if host != "localhost":
                raise ValueError(f"{text!r}: {host!r} is not an IP address") from None
            host = "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r}: the port must be a number from 1 to 65535")
    return PortSpec(int(port), host, proto == "udp")


def probe_bind(spec: PortSpec) -> OSError | None:
    """
    Bind (not listen) as twistd would: C{SO_REUSEADDR} for TCP, so a port left in
    TIME_WAIT counts as free, as it is for twistd; None when the bind works.
    """
    family = socket.AF_INET6 if ":" in spec.host else socket.AF_INET
    kind = socket.SOCK_DGRAM if spec.udp else socket.SOCK_STREAM
    with socket.socket(family, kind) as s:
        if not spec.udp:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((spec.host or "0.0.0.0", spec.port))
        except OSError as e:
            return e
    return None


@dataclass(frozen=True)
class ProcSocket:
    """One line of C{/proc/net/tcp} (or tcp6, udp, udp6)."""

    address: str
    port: int
    state: int
    inode: int


def _hex_address(text: str) -> str:
    raw = bytes.fromhex(text)
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw[::-1]))
    # IPv6: four 32-bit words, each in host (little-endian) order.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    address = ipaddress.IPv6Address(words)
    return str(address.ipv4_mapped or address)


def parse_proc_net(text: str) -> list[ProcSocket]:
    """The sockets of a C{/proc/net/{tcp,tcp6,udp,udp6}} file (its header skipped)."""
    out = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        address, _, port = fields[1].partition(":")
        try:
            out.append(
                ProcSocket(
                    _hex_address(address), int(port, 16), int(fields[3], 16), int(fields[9])
                )
            )
        except ValueError:
            continue
    return out


_TCP_LISTEN = 0x0A


def _holding_inodes(spec: PortSpec, proc_root: Path) -> list[tuple[str, int]]:
    """(address, inode) of each socket bound to C{spec}'s port (listening, for TCP)."""
    names = ("udp", "udp6") if spec.udp else ("tcp", "tcp6")
    found = []
    for name in names:
        try:
            text = (proc_root / "net" / name).read_text()
        except OSError:
            continue
        for s in parse_proc_net(text):
            if s.port == spec.port and (spec.udp or s.state == _TCP_LISTEN) and s.inode:
                found.append((s.address, s.inode))
    return found


def socket_owners(inodes: Iterable[int], proc_root: Path) -> dict[int, list[tuple[int, str]]]:
    """
    For each socket inode, the (pid, command name) of the processes holding it, found
    through C{/proc/PID/fd/*} links to C{socket:[INODE]}; processes we may not look
    into are skipped (their sockets stay unattributed).
    """
    wanted = {f"socket:[{inode}]": inode for inode in inodes}
    owners: dict[int, list[tuple[int, str]]] = {inode: [] for inode in wanted.values()}
    try:
        pids = [p for p in proc_root.iterdir() if p.name.isdigit()]
    except OSError:
        return owners
    for pid_dir in pids:
        try:
            links = list((pid_dir / "fd").iterdir())
        except OSError:
            continue
        for link in links:
            try:
                inode = wanted.get(os.readlink(link))
            except OSError:
                continue
            if inode is None:
                continue
            try:
                name = (pid_dir / "comm").read_text().strip()
            except OSError:
                name = "?"
            entry = (int(pid_dir.name), name)
            if entry not in owners[inode]:
                owners[inode].append(entry)
    return owners


def _holder(spec: PortSpec, proc_root: Path) -> str:
    held = _holding_inodes(spec, proc_root)
    if not held:
        return "by an unknown process"
    owners = socket_owners([inode for _, inode in held], proc_root)
    parts = []
    for address, inode in held:
        who = ", ".join(f"pid {pid} ({name})" for pid, name in owners[inode])
        parts.append(f"{who or 'an unknown process'} on {address}")
    return "by " + "; ".join(dict.fromkeys(parts))


def check_ports(
    specs: Sequence[PortSpec],
    probe: Callable[[PortSpec], OSError | None] = probe_bind,
    proc_root: Path = Path("/proc"),
) -> list[Finding]:
    """Each port: free, or who holds it (best effort through C{proc_root})."""
    findings = []
    for spec in specs:
        check = f"port {spec}"
        failure = probe(spec)
        if failure is None:
            findings.append(_ok(check, "free"))
        elif failure.errno == errno.EADDRINUSE:
            findings.append(
                Finding(
                    "problem",
                    check,
                    f"in use {_holder(spec, proc_root)}",
                    "stop that process, or listen on another port",
                )
            )
        elif failure.errno == errno.EACCES:
            findings.append(
                Finding(
                    "problem",
                    check,
                    "ports below 1024 need privilege",
                    "run with CAP_NET_BIND_SERVICE (systemd: AmbientCapabilities=), "
                    "socket activation, or a port above 1023",
                )
            )
        elif failure.errno == errno.EADDRNOTAVAIL:
            findings.append(
                Finding(
                    "problem",
                    check,
                    f"{spec.host} is not an address of this machine",
                    "listen on an address this machine has (ip address)",
                )
            )
        else:
            findings.append(
                Finding("problem", check, f"cannot bind: {failure.strerror or failure}")
            )
    return findings


# --- the development CA -----------------------------------------------------------------


def check_ca_hint(ca_cert: Path, exists: bool) -> list[Finding]:
    """Where the development CA is and the one option that makes a client trust it."""
    check = "dev ca"
    if not exists:
        return [
            _ok(
                check,
                f"no development CA yet at {ca_cert} (the first loopback TLS door creates "
                "it, or netsuite certs init); clients will trust it with --ca "
                f"{ca_cert}",
            )
        ]
    return [
        _ok(
            check,
            f"the development CA is {ca_cert}; trust it with: netsuite echo --tls --ca "
            f"{ca_cert} HOST PORT, or curl --cacert {ca_cert} URL",
        )
    ]


# --- the configured things, together ----------------------------------------------------


def check_configured(
    certificates: Sequence[CertSpec],
    ports: Sequence[PortSpec],
    cas: Sequence[Path] = (),
    *,
    now: datetime.datetime | None = None,
    warn_days: int = EXPIRY_WARNING_DAYS,
    probe: Callable[[PortSpec], OSError | None] = probe_bind,
    proc_root: Path = Path("/proc"),
) -> list[Finding]:
    """
    The seam for whatever names certificates and ports (the command line today, a
    config file later): plain lists in, findings out.
    """
    return check_certificates(certificates, cas, now, warn_days) + check_ports(
        ports, probe, proc_root
    )
