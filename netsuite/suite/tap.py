"""
C{twistd netsuite}: every netsuite service in one process, on its default loopback
ports, sharing one chat hub, so a message typed on the line door reaches IRC (and,
with the web service, the browser page).

Each service is built by its own C{tap.py} from its own defaults; C{--SERVICE-args}
passes a service extra options exactly as its own plugin takes them, e.g.
C{--echo-args="--listen tcp:7007 --max-per-ip 8"}; C{--no-SERVICE} leaves one out.

C{--config FILE} reads every section of the suite's TOML file (docs/configuration.md)
and gives each service its section's values ahead of its C{--SERVICE-args}, which
override them; C{--check} and C{--print-config} check or print it all and exit.
"""

from __future__ import annotations

import shlex
import sys
from importlib import import_module
from typing import TYPE_CHECKING, Any

from twisted.logger import Logger
from twisted.python import usage

from netsuite.twistd import _config
from netsuite.twistd._config import Config
from netsuite.twistd._options import (
    WORKERS,
    ConfigActions,
    GlobalReactor,
    exit_on_errors,
    rows,
    run_config_actions,
)
from netsuite.twistd._service import ServiceRoot
from netsuite.twistd._workers_service import WorkersService, supervise

if TYPE_CHECKING:  # imported when used: a suite without chat or web does not load them
    from netsuite.chat._hub import Hub
    from netsuite.stream._door import DoorFactory
    from netsuite.web._stats import StatsRegistry

__all__ = ["SERVICES", "Options", "SuiteService", "makeService"]

#: The services of the suite, in start order: name -> module holding Options/makeService.
SERVICES = {"echo": "netsuite.echo.tap", "chat": "netsuite.chat.tap", "web": "netsuite.web.tap"}

log = Logger()

#: The TLS twin of each door the suite opens when its listen option is not given (on
#: loopback, with throw-away certificates from the development CA): service -> listen
#: option -> descriptions added after the service's plain defaults. C{--no-tls} (or
#: C{[suite] no_tls = true}) leaves them out.
TLS_TWINS: dict[str, dict[str, tuple[str, ...]]] = {
    "echo": {"listen": ("nstls:7443:interface=127.0.0.1", "dtls:7443:interface=127.0.0.1")},
    "chat": {
        "listen": ("nstls:7778:interface=127.0.0.1",),
        "irc-listen": ("nstls:6697:interface=127.0.0.1",),
    },
    "web": {"listen": ("nstls:8443:interface=127.0.0.1",)},  # h2 and http/1.1 by ALPN
}


class Options(ConfigActions):
    """Options of C{twistd netsuite}."""

    synopsis = "[options]"
    longdesc = (
        "Run every netsuite service in one process on its default loopback ports, plain "
        "and TLS (echo 7007 and 7443, chat 7777 and 7778, IRC 6667 and 6697, web 8080 and "
        "8443; the TLS doors use throw-away certificates from the development CA), with "
        "one chat hub shared by every chat door. --SERVICE-args passes options to one "
        "service as its own plugin takes them (see twistd netsuite-SERVICE --help)."
    )
    optFlags = [["no-tls", None, "Open only the plain doors by default (no TLS twins)."]]
    optParameters = rows(
        WORKERS.but(
            help="Worker processes running the whole suite on its listening sockets, which "
            "this process binds once and supervises (1: this process runs it)."
        )
    )

    def __init__(self) -> None:
        super().__init__()
        self.reactor: Any = GlobalReactor()
        self.config: Config | None = None
        self.arguments: list[str] = []
        for name in SERVICES:
            self[f"no-{name}"] = False
            self[f"{name}-args"] = ""

    def parseArgs(self, *args: str) -> None:
        if args:
            raise usage.UsageError(f"unexpected arguments: {' '.join(args)}")

    def opt_config(self, path: str) -> None:
        """Read a TOML config file (every section); --SERVICE-args override it."""
        self["config-file"] = path

    def parseOptions(self, options: Any = None) -> None:
        """
        With C{--config} (or C{--check}, C{--print-config}), read the file first, so
        that L{postOptions} hands each service its section; then check or print and exit.
        """
        arguments = list(sys.argv[1:] if options is None else options)
        self.arguments = arguments  # as given: what each --workers worker is started with
        given = _config.given_values(self, arguments)
        path = given.get("config")
        self.config = None
        if path or given.get("check") or given.get("print-config"):
            classes = {name: import_module(m).Options for name, m in SERVICES.items()}
            if path is None:
                config = _config.load("", "(no config file)", classes, Options, (), self.reactor)
            else:
                config = _config.read_config(path, classes, Options, self.reactor)
            exit_on_errors(config.errors)
            self.config = config
        super().parseOptions(arguments)
        self.choose_log(self.config.log if self.config is not None else {})
        if self.config is not None:
            command_line = {
                name: _config.coerced(
                    _config.given_values(sub, shlex.split(self[f"{name}-args"])),
                    _config.option_specs(type(sub)),
                )
                for name, sub in self.services.items()
            }
            suite = {"services": list(self.services)}
            run_config_actions(given, self.config, self.services, command_line, {"suite": suite})

    def postOptions(self) -> None:
        self.services: dict[str, Any] = {}
        config = self.config
        chosen = config.suite.get("services", list(SERVICES)) if config else list(SERVICES)
        for name, module in SERVICES.items():
            if self[f"no-{name}"] or name not in chosen:
                continue
            sub = import_module(module).Options()
            sub.reactor = self.reactor
            arguments = shlex.split(self[f"{name}-args"])
            if config is not None:
                arguments = _config.merge_arguments(sub, config.values.get(name, {}), arguments)
            if not (self["no-tls"] or (config is not None and config.suite.get("no-tls"))):
                arguments = _with_tls_twins(sub, name, arguments)
            try:
                sub.parseOptions(arguments)
            except usage.UsageError as e:
                if config is not None:
                    exit_on_errors([_config.usage_error(config, name, str(e))])
                raise usage.UsageError(f"--{name}-args: {e}") from None
            self._share_workers(name, sub)
            self.services[name] = sub
        if not self.services:
            raise usage.UsageError("every service is turned off: nothing to run")

    def _workers(self) -> int:
        """The suite's count: C{--workers}, else C{[suite] workers}, else 1."""
        given = _config.given_values(self, self.arguments)
        if "workers" not in given and self.config is not None:
            return int(self.config.suite.get("workers", self["workers"]))
        return int(self["workers"])

    def _share_workers(self, name: str, sub: Any) -> None:
        """
        Every service of the suite runs in the suite's workers: a service given a count
        of its own (C{[echo] workers}, C{--echo-args=--workers}) that differs is refused,
        and each service checks the suite's count (the chat hub needs a backbone).
        """
        count = self["workers"] = self._workers()
        WORKERS.check(self)
        if sub["workers"] not in (1, count):
            raise usage.UsageError(
                f"--{name}-args: --workers {sub['workers']}: the suite's services share "
                f"its {count} worker(s); give the count to the suite (--workers, "
                "[suite] workers)"
            )
        sub["workers"] = count
        try:
            sub.check_workers()
        except usage.UsageError as e:
            raise usage.UsageError(f"{name}: {e}") from None


def _with_tls_twins(sub: Any, name: str, arguments: list[str]) -> list[str]:
    """
    C{arguments} with each listen option that they leave at its default given as the
    default plain doors plus their TLS twins (L{TLS_TWINS}). A web service given its own
    C{--tls-cert} keeps the TLS door that option makes.
    """
    given = _config.given_values(sub, arguments)
    if name == "web" and given.get("tls-cert"):
        return arguments
    added: list[str] = []
    for option, twins in TLS_TWINS.get(name, {}).items():
        if option in given:
            continue
        plain = sub.default_listen if option == "listen" else sub.extra_listens[option]
        added += [f"--{option}={d}" for d in (*plain, *twins)]
    return added + arguments


def _add_service_options() -> None:
    """--no-echo, --echo-args ... for every service (generated, so adding one is one line)."""
    for name in SERVICES:
        setattr(Options, f"opt_no_{name}", _flag(name))
        setattr(Options, f"opt_{name}_args", _args(name))


def _flag(name: str) -> Any:
    def flag(self: Options) -> None:
        self[f"no-{name}"] = True

    flag.__doc__ = f"Leave the {name} service out."
    return flag


def _args(name: str) -> Any:
    def args(self: Options, value: str) -> None:
        self[f"{name}-args"] = value

    args.__doc__ = f"Options for the {name} service, as twistd netsuite-{name} takes them."
    return args


_add_service_options()


class SuiteService(ServiceRoot):
    """The suite's root: the shared chat hub (None without chat) and stats registry."""

    hub: Hub | None
    stats: StatsRegistry


def makeService(options: Options) -> SuiteService | WorkersService:
    """
    One root over every service. The chat hub is made once and shared by every chat
    door (line, IRC, the web's WebSocket and API); one stats registry holds every
    service's counters, which the web service reports at /api/stats and /metrics.
    """
    from netsuite.web._stats import StatsRegistry

    parent = supervise(
        "netsuite",
        options["workers"],
        list(options.services.values()),
        options.arguments,
        options.reactor,
        max(sub.get("drain-timeout", 0.0) for sub in options.services.values()),
    )
    if parent is not None:
        return parent
    reactor = GlobalReactor.of(options.reactor)
    top = SuiteService("netsuite", reactor)
    stats = StatsRegistry(reactor.seconds)
    hub = None
    if "chat" in options.services:
        from netsuite.chat.tap import make_hub

        hub = make_hub(options.services["chat"], reactor)
    for name, sub in options.services.items():
        module = import_module(SERVICES[name])
        if name == "echo":
            service = module.makeService(sub)
            stats.register_factory(service.factory, "echo")
            stats.register(service.guard.counters, name="echo/udp")
        elif name == "chat":
            assert hub is not None  # made above: chat is one of the services
            service = module.makeService(sub, hub=hub)
            doors: list[DoorFactory] = service.factories

            def open_doors(d: list[DoorFactory] = doors) -> float:
                return sum(len(f.open) for f in d)

            stats.register(hub.counters, name="chat", gauges={"open": open_doors})
        elif name == "web" and "chat" in options.services:
            from netsuite.web._ircws import IRCWebSettings

            chat = options.services["chat"]  # IRC over WebSocket says and asks what IRC does
            irc = IRCWebSettings(server_name=chat["server-name"], password=chat["password"],
                                 motd=chat["motd"])  # fmt: skip
            service = module.makeService(sub, hub=hub, stats=stats, irc=irc)
        else:
            service = module.makeService(sub, hub=hub, stats=stats)
        service.setServiceParent(top)
    top.hub = hub
    top.stats = stats
    return top
