"""
Command-line options every netsuite service shares: C{--listen} and the stream limits.

Descriptions are parsed in C{postOptions}, so a wrong one stops twistd with a usage
error that quotes it, before anything listens.

A bounded option is a L{Parameter}: its name, default, help, coercer and the least value
it takes, declared once. A tap lists it in C{optParameters} with L{rows} and checks it in
C{postOptions} with L{check}; the options several services share (L{MAX_CONNECTIONS},
L{MAX_PER_IP}, L{IDLE_TIMEOUT}, L{DRAIN_TIMEOUT}) are declared here, and a service whose
default or help differs says so with L{Parameter.but}. The defaults are
L{netsuite.limits}' constants.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from twisted.python import usage

from netsuite.base._reactor import GlobalReactor
from netsuite.base.logs import LOG_FORMATS, install_log_format
from netsuite.limits import _defaults as limits
from netsuite.tls._contexts import TLSConfigError
from netsuite.twistd._config import (
    Config,
    ConfigError,
    coerced,
    given_values,
    load,
    merge_arguments,
    option_specs,
    read_config,
    usage_error,
)
from netsuite.twistd._endpoints import (
    LISTEN_BACKLOG,
    DescriptionError,
    datagram_from_string,
    is_datagram,
    stream_from_string,
)
from netsuite.twistd._workers import inherited_endpoint, listen_key, worker_index

__all__ = [
    "AT_LEAST",
    "BACKLOG",
    "DRAIN_TIMEOUT",
    "IDLE_TIMEOUT",
    "LISTEN_HELP",
    "MAX_CONNECTIONS",
    "MAX_PER_IP",
    "MORE_THAN",
    "NEVER_OR_SECONDS",
    "SECONDS",
    "WORKERS",
    "ConfigActions",
    "GlobalReactor",
    "Parameter",
    "ServiceOptions",
    "check",
    "exit_on_errors",
    "rows",
    "run_config_actions",
]

#: Error texts of L{Parameter.check} (after C{--NAME }); C{{least}} and C{{value}} are
#: filled in. The first two are the defaults; the others keep each service's wording.
AT_LEAST = "must be {least} or more, not {value}"
MORE_THAN = "must be more than {least}, not {value}"
SECONDS = "must be {least} or more seconds"
NEVER_OR_SECONDS = "must be 0 (never) or more seconds"


class _Row(list[Any]):
    """An C{optParameters} row that remembers its L{Parameter}."""

    def __init__(self, items: list[Any], parameter: Parameter) -> None:
        super().__init__(items)
        self.parameter = parameter


@dataclasses.dataclass(frozen=True)
class Parameter:
    """
    One C{--NAME=VALUE} option of a tap, declared once: its C{optParameters} row and
    the bound C{postOptions} checks.

    @ivar coerce: what turns the text into the value (L{None}: it stays text).
    @ivar least: the least value accepted (L{None}: no check).
    @ivar strict: whether the value must be more than C{least}, not merely equal.
    @ivar error: the usage error's text after C{--NAME } (default: L{AT_LEAST}, or
        L{MORE_THAN} when C{strict}).
    """

    name: str
    default: Any
    help: str
    coerce: Callable[[str], Any] | None = None
    least: float | None = None
    strict: bool = False
    error: str | None = None

    def but(self, **changes: Any) -> Parameter:
        """The same option with other fields (a service's own default or help)."""
        return dataclasses.replace(self, **changes)

    def row(self) -> list[Any]:
        """
        The option as L{usage.Options} takes it in C{optParameters}; the row carries the
        parameter, so the config loader (L{netsuite.twistd._config}) knows its bound.
        """
        return _Row([self.name, None, self.default, self.help, self.coerce], self)

    def check(self, options: usage.Options) -> None:
        """Raise L{usage.UsageError} when C{options[name]} is under the bound."""
        if self.least is None:
            return
        value = options[self.name]
        if value < self.least or (self.strict and value == self.least):
            error = self.error or (MORE_THAN if self.strict else AT_LEAST)
            text = error.format(least=self.least, value=value)
            raise usage.UsageError(f"--{self.name} {text}")


def rows(*parameters: Parameter) -> list[list[Any]]:
    """C{optParameters} rows of C{parameters}."""
    return [p.row() for p in parameters]


def check(options: usage.Options, *parameters: Parameter) -> None:
    """Check each of C{parameters} in C{options}, in order (the first breach is raised)."""
    for parameter in parameters:
        parameter.check(options)


MAX_CONNECTIONS = Parameter(
    "max-connections",
    limits.MAX_CONNECTIONS,
    "Most connections open at once (0: no cap).",
    int,
    least=0,
)
MAX_PER_IP = Parameter(
    "max-per-ip",
    limits.MAX_PER_IP,
    "Most connections open at once from one IP (0: no cap).",
    int,
    least=0,
)
IDLE_TIMEOUT = Parameter(
    "idle-timeout",
    limits.IDLE_TIMEOUT,
    "Seconds without input before a peer is dropped.",
    float,
    least=0,
    error=NEVER_OR_SECONDS,
)
#: Each service says what is flushed in its help text.
DRAIN_TIMEOUT = Parameter(
    "drain-timeout",
    limits.DRAIN_TIMEOUT,
    "Seconds output in flight gets on shutdown.",
    float,
    least=0,
    error=SECONDS,
)

#: The TCP listen backlog of every C{tcp:}, C{tcp6:} and C{nstls:} description that does
#: not give its own C{backlog=}. A tap lists it with L{rows} to offer C{--backlog}; one
#: that does not still listens with this default.
BACKLOG = Parameter(
    "backlog",
    LISTEN_BACKLOG,
    "TCP listen backlog of each tcp:/tcp6:/nstls: listener without its own backlog=.",
    int,
    least=1,
)

#: C{--workers N}: N processes serve the sockets the parent binds (L{netsuite.twistd._workers}).
WORKERS = Parameter(
    "workers", 1, "Worker processes serving the listening sockets, which this process "
    "binds once and supervises (1: this process serves them itself).", int, least=1,
)  # fmt: skip

LISTEN_HELP = """\
Listen descriptions (--listen, repeatable; the defaults bind 127.0.0.1 only):
  tcp:PORT[:interface=ADDR]          plain TCP (tcp6:, unix:PATH, systemd: work too)
  nstls:PORT:cert=CHAIN.pem[:key=KEY.pem][:interface=ADDR][:minVersion=1.2|1.3]
        [:ciphers=A,B,C][:alpn=h2,http/1.1][:clientCA=CA.pem]
        [:verifyClient=none|optional|required][:sni=DIR]
        [:handshakeTimeout=10][:reloadInterval=5]
                                     hardened TLS: TLS 1.2+, Mozilla intermediate
                                     ciphers, no compression or renegotiation;
                                     no cert on a loopback interface: a throw-away
                                     certificate from the development CA
  udp:PORT[:interface=ADDR]          UDP (IPv6: interface=\\:\\:1)
  dtls:PORT:cert=CHAIN.pem[:key=KEY.pem][:interface=ADDR][:clientCA=...]
        [:verifyClient=...][:mtu=1200][:maxSessions=1024][:idleTimeout=300]
        [:handshakeTimeout=10][:reloadInterval=5]
                                     DTLS 1.2 over UDP, stateless cookie exchange
  systemd:domain=INET|INET6:index=N|name=NAME[:type=stream|dgram]
                                     a socket from systemd socket activation, by
                                     position or by its FileDescriptorName=
Twisted's ssl: and tls: prefixes still work, with Twisted's defaults.
"""


class ConfigActions(usage.Options):
    """
    What every netsuite plugin does with its config: C{--check}, C{--print-config}, and
    the log's format and file (C{--log-format}, C{--log-file}, or the config's C{[log]}).

    The log options are twistd's to act on: L{choose_log} hands them to twistd's own
    options (C{self.parent}, set when twistd runs this plugin), which twistd reads after
    every plugin's options are parsed, before it starts logging.
    """

    optParameters = [
        ["log-format", None, None, "Log format: text (one line per event) or json."],
        ["log-file", None, None, "Log to this file (default: twistd's --logfile, stdout)."],
    ]

    def choose_log(self, log: Mapping[str, str]) -> None:
        """
        The log format and file: the command line's, else the config's C{[log]}
        (C{log}), else text; given to twistd when it runs this plugin.
        """
        format = self["log-format"] or log.get("format") or "text"
        if format not in LOG_FORMATS:
            raise usage.UsageError(f"--log-format must be text or json, not {format!r}")
        path = self["log-file"] or log.get("file")
        parent = getattr(self, "parent", None)
        if parent is not None:  # under twistd: its ServerOptions
            install_log_format(format, path, parent)

    def opt_check(self) -> None:
        """Check the config and certificates, print the plan, exit (0: good); bind nothing."""
        self["check"] = True

    def opt_print_config(self) -> None:
        """Print the effective config (defaults merged) as TOML and exit."""
        self["print-config"] = True


class ServiceOptions(ConfigActions):
    """
    Options of a netsuite service: C{--listen} plus the connection limits.

    Subclasses set C{default_listen} and may add their own parameters; after parsing,
    C{self["endpoints"]} holds C{(description, endpoint, is_datagram)} for each listener.
    A service with several doors names the others in C{extra_listens} (option name ->
    defaults, each with an C{opt_} method appending to C{self[name]}); their endpoints
    are in C{self["endpoints:" + name]}. The single description C{none} turns a door off.
    """

    #: The config file's section of this service (C{[chat]}); None: it reads none.
    config_section: ClassVar[str | None] = None
    default_listen: ClassVar[tuple[str, ...]] = ()
    extra_listens: ClassVar[dict[str, tuple[str, ...]]] = {}
    datagram_allowed: ClassVar[bool] = True
    #: The option without which more than one worker is refused (L{check_workers}):
    #: C{"backbone"} for the chat hub; L{None}: any number of workers.
    workers_require: ClassVar[str | None] = None

    #: A service with its own default or help for one of these lists it again in its
    #: C{optParameters} (made with L{Parameter.but}); Twisted keeps the subclass's row.
    optParameters = rows(MAX_CONNECTIONS, MAX_PER_IP, IDLE_TIMEOUT, WORKERS)

    def __init__(self) -> None:
        super().__init__()
        self["listen"] = []
        for name in self.extra_listens:
            self[name] = []
        self.reactor: Any = GlobalReactor()

    def getUsage(self, width: int | None = None) -> str:
        """Twisted's usage text, then the listen grammar as written (not re-wrapped)."""
        return super().getUsage(width) + "\n" + LISTEN_HELP

    def opt_config(self, path: str) -> None:
        """Read this service's section of a TOML config file; the command line overrides it."""
        self["config-file"] = path

    def parseOptions(self, options: Any = None) -> None:
        """
        With C{--config}, the file's values go first as options, so the command line
        (parsed after them) overrides them; C{--check} and C{--print-config} end the
        process here, before twistd builds anything (L{run_config_actions}).
        """
        arguments = list(sys.argv[1:] if options is None else options)
        self.arguments = arguments  # as given: what each --workers worker is started with
        section = self.config_section
        given = given_values(self, arguments)
        path = given.get("config")
        if section is None or not (path or given.get("check") or given.get("print-config")):
            super().parseOptions(arguments)
            self.choose_log({})
            return
        if path is None:  # --check or --print-config of the built-in defaults
            config = load("", "(no config file)", {section: type(self)}, reactor=self.reactor)
        else:
            config = read_config(path, {section: type(self)}, reactor=self.reactor)
        exit_on_errors(config.errors)
        try:
            super().parseOptions(merge_arguments(self, config.values[section], arguments))
        except usage.UsageError as e:
            exit_on_errors([usage_error(config, section, str(e))])
        self.choose_log(config.log)
        run_config_actions(
            given, config, {section: self}, {section: coerced(given, option_specs(type(self)))}
        )

    def opt_listen(self, description: str) -> None:
        """Listen here (repeatable); see the grammar below."""
        self["listen"].append(description)

    def postOptions(self) -> None:
        check(self, MAX_CONNECTIONS, MAX_PER_IP, IDLE_TIMEOUT, WORKERS)
        self.check_workers()
        if "backlog" in self:
            check(self, BACKLOG)
        self["endpoints"] = self._endpoints("listen", self.default_listen)
        for name, defaults in self.extra_listens.items():
            self["endpoints:" + name] = self._endpoints(name, defaults)

    def check_workers(self) -> None:
        """Refuse C{--workers} above 1 without the option C{workers_require} names (if
        any); a service with another rule overrides this. The suite calls it too."""
        needed = self.workers_require
        if needed is not None and self.get("workers", 1) > 1 and not self.get(needed):
            raise usage.UsageError(
                f"--workers {self['workers']} needs --{needed}: this service keeps state "
                "all its connections share; without it each worker would keep its own"
            )

    def _endpoints(self, name: str, defaults: tuple[str, ...]) -> list[tuple[str, Any, bool]]:
        if not self[name]:
            self[name] = list(defaults)
        if self[name] == ["none"]:
            return []
        endpoints = []
        backlog = self.get("backlog", BACKLOG.default)
        worker = worker_index() is not None
        for index, description in enumerate(self[name]):
            datagram = is_datagram(description)
            if datagram and not self.datagram_allowed:
                raise usage.UsageError(f"--{name} {description!r}: this door is stream-only")
            endpoint: Any = None  # a worker's systemd: sockets come from its parent
            if not (worker and description.startswith("systemd:")):
                try:
                    endpoint = (
                        datagram_from_string(self.reactor, description)
                        if datagram
                        else stream_from_string(self.reactor, description, backlog)
                    )
                except (DescriptionError, TLSConfigError) as e:
                    raise usage.UsageError(f"--{name} {e}") from None
            # A --workers worker adopts its parent's socket (None: another worker's).
            key = listen_key(self.config_section, name)
            endpoint = inherited_endpoint(self.reactor, key, index, endpoint, datagram)
            if endpoint is not None:
                endpoints.append((description, endpoint, datagram))
        return endpoints


def exit_on_errors(errors: list[ConfigError]) -> None:
    """Print every problem (stderr) and exit 1; nothing has listened yet."""
    if errors:
        for error in errors:
            print(error, file=sys.stderr)
        raise SystemExit(1)


def run_config_actions(
    given: Mapping[str, Any],
    config: Config,
    parsed: Mapping[str, usage.Options],
    command_line: Mapping[str, Mapping[str, Any]],
    extra: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """
    C{--check}: check every certificate, print the plan and exit 0 (1 on a problem);
    C{--print-config}: print the effective config and exit 0. Neither binds anything:
    both run while twistd parses options, before it builds the service.
    """
    from netsuite.twistd import _plan

    if given.get("check"):
        errors = _plan.check_certificates(config, parsed)
        exit_on_errors(errors)
        print(_plan.format_plan(config, parsed), end="")
        raise SystemExit(0)
    if given.get("print-config"):
        print(_plan.effective_toml(config, parsed, command_line, extra), end="")
        raise SystemExit(0)
