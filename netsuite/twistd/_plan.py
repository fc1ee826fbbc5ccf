"""
What C{--check} prints (the plan: every listener, its TLS and the limits that differ from
their defaults) and what C{--print-config} prints (the effective config as TOML).

Both work from parsed options, which hold endpoints that have read their certificates
but never listened: the plan is what the process would do, and nothing is bound.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from twisted.python import usage

from netsuite.tls._contexts import (
    TLSConfigError,
    TLSServerSettings,
    load_certificates,
    load_chain,
    load_served,
)
from netsuite.twistd._config import (
    Config,
    ConfigError,
    bound_address,
    dump_toml,
    effective,
    option_specs,
)
from netsuite.twistd._endpoints import is_tls

__all__ = [
    "Listener",
    "check_certificates",
    "effective_toml",
    "format_plan",
    "listeners",
]

#: What a service's own C{--listen} door is called in the plan, plain and TLS (others:
#: the option's name); unlisted: by transport (tcp, tls, udp, dtls).
MAIN_DOORS = {"chat": ("line", "line-tls"), "web": ("http", "https")}
#: Values the plan never prints.
SECRET = ("token", "password")


class Listener:
    """One listener of the plan, from a parsed option's C{(description, endpoint, datagram)}."""

    def __init__(self, service: str, door: str, description: str, endpoint: Any, datagram: bool):
        self.service = service
        self.door = door
        self.description = description
        self.endpoint = endpoint
        self.datagram = datagram

    @property
    def settings(self) -> TLSServerSettings | None:
        return getattr(self.endpoint, "settings", None)

    def address(self) -> str:
        bound = bound_address(self.description)
        if bound is None:
            return self.description.split(":", 1)[0] + " (given by the system)"
        kind, interface, port = bound
        host = f"[{interface}]" if ":" in interface else (interface or "*")
        return f"{kind} {host}:{port}"

    def tls(self) -> str:
        settings = self.settings
        if settings is None:
            if is_tls(self.description, self.endpoint):
                return "TLS (Twisted's defaults)"
            return "TLS off"
        parts = ["DTLS" if self.datagram else "TLS", f"cert={settings.cert or settings.sni}"]
        for summary in getattr(self.endpoint, "certificates", ())[:1]:
            parts.append(f"({summary.subject}, expires {summary.not_after:%Y-%m-%d})")
        parts.append(f"min={settings.min_version}")
        parts.append("alpn=" + (",".join(settings.alpn) or "none"))
        client = settings.verify_client
        if settings.client_ca and client != "none":
            client += f" (CA {settings.client_ca})"
        parts.append(f"client-cert={client}")
        return " ".join(parts)


def listeners(section: str, options: usage.Options) -> list[Listener]:
    """Every listener of one service's parsed options, in order."""
    out = []
    names = ["listen", *getattr(options, "extra_listens", {})]
    for name in names:
        key = "endpoints" if name == "listen" else "endpoints:" + name
        for description, endpoint, datagram in options.get(key, ()):
            tls = is_tls(description, endpoint)
            if name != "listen":
                door = name[: -len("-listen")] + ("-tls" if tls else "")
            elif section in MAIN_DOORS:
                door = MAIN_DOORS[section][tls]
            else:
                door = ("dtls" if tls else "udp") if datagram else ("tls" if tls else "tcp")
            out.append(Listener(section, door, description, endpoint, datagram))
    return out


def _changed(options: usage.Options) -> list[tuple[str, Any, Any]]:
    """C{(name, value, default)} of each single-valued option that differs from its default."""
    out = []
    for name, spec in option_specs(type(options)).items():
        if spec.kind == "list" or name not in options:
            continue
        value, default = options[name], spec.default
        if spec.kind == "flag":
            value = bool(value)
        if value != default and isinstance(value, str | int | float | bool):
            if any(word in name for word in SECRET):
                value = "(set)"
            out.append((name, value, default))
    return out


def format_plan(config: Config, parsed: Mapping[str, usage.Options]) -> str:
    """The plan C{--check} prints: listeners, then each service's changed limits."""
    lines = [f"{config.file}: the config is good; nothing was opened.", "listeners:"]
    for section, options in parsed.items():
        for listener in listeners(section, options):
            lines.append(
                f"  {listener.service}/{listener.door}  {listener.address()}  "
                f"{listener.tls()}  ({listener.description})"
            )
    for section, options in parsed.items():
        changed = _changed(options)
        if changed:
            lines.append(f"[{section}] differs from the defaults:")
            for name, value, default in changed:
                lines.append(f"  {name.replace('-', '_')} = {value!r} (default {default!r})")
    if config.log:
        lines.append("log: " + ", ".join(f"{k}={v}" for k, v in sorted(config.log.items())))
    return "\n".join(lines) + "\n"


def check_certificates(config: Config, parsed: Mapping[str, usage.Options]) -> list[ConfigError]:
    """
    Read every certificate again as a start would (readable, key matches, a CA file
    holds certificates) and refuse expired ones; the errors name the key or the door.
    """
    errors: list[ConfigError] = []
    now = datetime.datetime.now(datetime.UTC)
    if "cert" in config.tls:
        try:
            _, chain = load_chain(config.tls["cert"], config.tls.get("key"))
            if chain[0].to_cryptography().not_valid_after_utc < now:
                errors.append(
                    _error(
                        config, "tls", "cert", "expected a valid certificate, got an expired one"
                    )
                )
        except TLSConfigError as e:
            errors.append(
                _error(config, "tls", "cert", f"expected a certificate and its key: {e}")
            )
    if "client_ca" in config.tls:
        try:
            load_certificates(config.tls["client_ca"], "client_ca")
        except TLSConfigError as e:
            errors.append(_error(config, "tls", "client_ca", f"expected CA certificates: {e}"))
    for section, options in parsed.items():
        for listener in listeners(section, options):
            if listener.settings is None:
                continue
            try:
                served = load_served(listener.settings)
            except TLSConfigError as e:
                errors.append(_error(config, section, None, f"{listener.description!r}: {e}"))
                continue
            for summary in served.summaries:
                if summary.not_after < now:
                    errors.append(
                        _error(
                            config,
                            section,
                            None,
                            f"{listener.description!r}: certificate {summary.subject} expired",
                        )
                    )
    return errors


def _error(config: Config, section: str, key: str | None, message: str) -> ConfigError:
    return ConfigError(config.file, config.line_of(section, key), section, key, message)


def effective_toml(
    config: Config,
    parsed: Mapping[str, usage.Options],
    command_line: Mapping[str, Mapping[str, Any]],
    extra: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """
    The effective config as TOML C{--config} reads back: every option of each service
    (the command line over the file over the defaults), then C{[tls]}, C{[log]} and
    C{extra} tables (the suite's).
    """
    tables: dict[str, dict[str, Any]] = {}
    for table, values in (extra or {}).items():
        tables[table] = dict(values)
    for section, options in parsed.items():
        specs = option_specs(type(options))
        tables[section] = effective(
            config.values.get(section, {}), specs, command_line.get(section, {})
        )
    if config.tls:
        tables["tls"] = dict(config.tls)
    if config.log:
        tables["log"] = dict(config.log)
    return dump_toml(tables)
