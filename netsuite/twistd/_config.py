"""
The suite's one TOML config file: read, checked against each service's options, and
turned into the command-line tokens those options already parse.

Why tokens: every tap's C{Options} already coerces, checks and combines its options
(C{postOptions}); a config file that became C{--max-per-ip=8 --listen=tcp:7007} ahead of
the real command line gets exactly that behaviour, and the command line, parsed last,
overrides it. What the loader adds is what a command line cannot give: every problem at
once, each naming C{FILE:LINE: [section] key}.

Sections map onto a service's L{usage.Options} class by introspection (C{optParameters},
C{optFlags}, C{opt_} methods). A key is an option's long name with C{-} written C{_}; a
flag is a TOML bool, a repeatable option (an C{opt_} method taking a value) a list of
strings, a numeric option an int or float. A dotted subsection names prefixed options:
C{[chat.irc] listen} is C{--irc-listen} (C{[S.X] key} is C{--X-key}).

The core is sans-IO in the sense that matters for tests: it takes the file's text and
name, never opens the config itself; it does look at the files the config names
(certificates, directories), since "missing file" is one of the errors it reports.

The module is above 400 lines because it is one parser: reading the TOML file, locating
each key's line, checking every kind of value and turning the result into options are
steps of one pass, tested together.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import inspect
import ipaddress
import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from twisted.python import reflect, usage

from netsuite._twisted.endpoints import split_description
from netsuite.tls._contexts import TLSConfigError
from netsuite.twistd._endpoints import (
    DescriptionError,
    datagram_from_string,
    is_datagram,
    stream_from_string,
)

__all__ = [
    "CONFIG_OPTIONS",
    "KNOWN_SECTIONS",
    "LOG_FORMATS",
    "SUBSECTIONS",
    "TLS_KEYS",
    "Config",
    "ConfigError",
    "OptionSpec",
    "apply_tls_defaults",
    "bound_address",
    "coerced",
    "dump_toml",
    "effective",
    "find_lines",
    "given_values",
    "load",
    "merge_arguments",
    "option_specs",
    "read_config",
    "to_arguments",
    "usage_error",
]

#: The options every plugin has for the file itself; never keys of a section.
#: Options with no key in a service's section: the file itself, what is done with it,
#: and the log (the C{[log]} section's C{format} and C{file}).
CONFIG_OPTIONS = frozenset(
    {"config", "check", "print-config", "help", "version", "log-format", "log-file"}
)
#: Keys of C{[tls]}: what an C{nstls:}/C{dtls:} description without C{cert=} gets.
TLS_KEYS = {"cert": "cert", "key": "key", "client_ca": "clientCA"}
#: Values of C{[log] format}.
LOG_FORMATS = ("text", "json")
#: Subsections L{dump_toml} writes (any C{[S.X]} is read): section -> option prefixes.
SUBSECTIONS: dict[str, tuple[str, ...]] = {"chat": ("irc",), "web": ("api", "ws")}
#: The services' sections: a single plugin reading the suite's file accepts the others
#: unchecked (only names here; the twistd layer imports no service).
KNOWN_SECTIONS = ("echo", "chat", "web")
_WILDCARDS = ("", "0.0.0.0", "::")


@dataclasses.dataclass(frozen=True)
class ConfigError:
    """One problem in the file: where it is and what was expected."""

    file: str
    line: int | None
    section: str | None
    key: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        what = ""
        if self.section is not None:
            what = f"[{self.section}]" + (f" {self.key}" if self.key else "")
            what += ": "
        return f"{where}: {what}{self.message}"


@dataclasses.dataclass(frozen=True)
class OptionSpec:
    """
    One option of a service as a config key takes it.

    @ivar kind: C{"param"} (one value), C{"flag"} (a bool), C{"list"} (repeatable).
    @ivar coerce: C{int}, C{float} or C{str} for a C{"param"}.
    """

    name: str
    kind: str
    default: Any = None
    coerce: Any = str
    least: float | None = None
    strict: bool = False

    @property
    def key(self) -> str:
        return self.name.replace("-", "_")

    def expected(self) -> str:
        if self.kind == "flag":
            return "true or false"
        if self.kind == "list":
            return "a list of strings"
        return {int: "an integer", float: "a number"}.get(self.coerce, "a string")


def option_specs(options_class: type[usage.Options]) -> dict[str, OptionSpec]:
    """
    Every option of C{options_class} a config key can set, by long name, found the way
    L{usage.Options} finds them (a subclass's row wins).
    """
    specs: dict[str, OptionSpec] = {}
    params: list[Any] = []
    reflect.accumulateClassList(options_class, "optParameters", params)
    for row in params:
        name, default = row[0], row[2]
        coerce = row[4] if len(row) > 4 and row[4] is not None else None
        if coerce is None:
            coerce = type(default) if isinstance(default, int | float) else str
        parameter = getattr(row, "parameter", None)
        least = parameter.least if parameter is not None else None
        strict = parameter.strict if parameter is not None else False
        specs[name] = OptionSpec(name, "param", default, coerce, least, strict)
    flags: list[Any] = []
    reflect.accumulateClassList(options_class, "optFlags", flags)
    for row in flags:
        specs[row[0]] = OptionSpec(row[0], "flag", False, bool)
    defaults = _list_defaults(options_class)
    for attribute in dir(options_class):
        if not attribute.startswith("opt_"):
            continue
        name = attribute[4:].replace("_", "-")
        if name in specs:
            continue
        method = getattr(options_class, attribute)
        arguments = [p for p in inspect.signature(method).parameters if p != "self"]
        if arguments:
            specs[name] = OptionSpec(name, "list", list(defaults.get(name, ())), str)
        else:
            specs[name] = OptionSpec(name, "flag", False, bool)
    for name in CONFIG_OPTIONS:
        specs.pop(name, None)
    return specs


def _list_defaults(options_class: type[usage.Options]) -> dict[str, tuple[str, ...]]:
    out = dict(getattr(options_class, "extra_listens", {}))
    out["listen"] = tuple(getattr(options_class, "default_listen", ()))
    return out


def find_lines(text: str) -> dict[tuple[str, str | None], int]:
    """
    Line numbers (1-based) of each C{[section]} header, as C{(section, None)}, and of
    each C{key =}, as C{(section, key)}. tomllib gives no positions; this reads just
    enough TOML for error messages (a dotted key C{a.b = } counts as C{[section.a] b}).
    """
    lines: dict[tuple[str, str | None], int] = {}
    section = ""
    header = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
    assignment = re.compile(r"^\s*([A-Za-z0-9_\-.\"' ]+?)\s*=")
    in_multiline = False
    for number, line in enumerate(text.splitlines(), 1):
        if in_multiline:
            if line.count('"""') % 2 or line.count("'''") % 2:
                in_multiline = False
            continue
        match = header.match(line)
        if match:
            section = ".".join(p.strip().strip("\"'") for p in match.group(1).split("."))
            lines.setdefault((section, None), number)
            continue
        match = assignment.match(line)
        if match:
            parts = [p.strip().strip("\"'") for p in match.group(1).split(".")]
            table = ".".join([section, *parts[:-1]]) if section else ".".join(parts[:-1])
            lines.setdefault((table, parts[-1]), number)
            rest = line[match.end() :]
            if rest.count('"""') % 2 or rest.count("'''") % 2:
                in_multiline = True
    return lines


@dataclasses.dataclass
class Config:
    """
    A read config: option values by section (long option names, C{-} not C{_}), the
    C{[tls]} defaults, C{[log]}, C{[suite]}, and every problem found.
    """

    file: str
    values: dict[str, dict[str, Any]]
    tls: dict[str, str]
    log: dict[str, str]
    suite: dict[str, Any]
    errors: list[ConfigError]
    lines: dict[tuple[str, str | None], int]
    #: C{[tls]} had a problem: descriptions that would take its files are not parsed.
    tls_broken: bool = False

    def line_of(self, section: str, key: str | None = None) -> int | None:
        return self.lines.get((section, key)) or self.lines.get((section, None))


class _Problems:
    def __init__(self, file: str, lines: dict[tuple[str, str | None], int]) -> None:
        self.file = file
        self.lines = lines
        self.errors: list[ConfigError] = []

    def add(self, section: str | None, key: str | None, message: str) -> None:
        line = None
        if section is not None:
            line = self.lines.get((section, key)) if key else None
            line = line or self.lines.get((section, None))
        self.errors.append(ConfigError(self.file, line, section, key, message))


def _got(value: Any) -> str:
    kind = {bool: "a bool", int: "an integer", float: "a number", str: "a string"}
    if isinstance(value, list):
        return f"a list ({value!r})"
    if isinstance(value, dict):
        return "a table"
    return f"{kind.get(type(value), type(value).__name__)} ({value!r})"


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def load(
    text: str,
    file: str,
    services: Mapping[str, type[usage.Options]],
    suite_options: type[usage.Options] | None = None,
    known_sections: Iterable[str] = (),
    reactor: Any = None,
) -> Config:
    """
    Read C{text} (the contents of C{file}) for C{services} (section name -> its Options
    class). Every problem is collected in C{Config.errors}; the values of a key with a
    problem are left out. C{known_sections} are other services' sections, accepted
    unchecked (a single plugin reading the suite's file). C{reactor} parses listen
    descriptions; nothing listens.
    """
    lines = find_lines(text)
    problems = _Problems(file, lines)
    config = Config(file, {}, {}, {}, {}, problems.errors, lines)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        match = re.search(r"line (\d+)", str(e))
        line = int(match.group(1)) if match else None
        problems.errors.append(ConfigError(file, line, None, None, f"not valid TOML: {e}"))
        return config
    sections = {"tls", "log", "suite", *services, *known_sections}
    for name, table in data.items():
        if name not in sections:
            problems.add(name, None, "unknown section" + _did_you_mean(name, sections))
        elif not isinstance(table, dict):
            problems.add(name, None, f"expected a table, got {_got(table)}")
    tls = data.get("tls", {})
    if isinstance(tls, dict):
        before = len(problems.errors)
        config.tls = _read_tls(tls, problems)
        config.tls_broken = len(problems.errors) > before
    log = data.get("log", {})
    if isinstance(log, dict):
        config.log = _read_log(log, problems)
    suite = data.get("suite", {})
    if isinstance(suite, dict):
        config.suite = _read_suite(suite, problems, suite_options, services)
    for name, options_class in services.items():
        table = data.get(name, {})
        if isinstance(table, dict):
            config.values[name] = _read_section(name, table, option_specs(options_class), problems)
    _check_listens(config, services, problems, reactor)
    problems.errors.sort(key=lambda e: e.line or 0)
    return config


def _read_tls(table: dict[str, Any], problems: _Problems) -> dict[str, str]:
    out = {}
    for key, value in table.items():
        if key not in TLS_KEYS:
            problems.add("tls", key, "unknown key" + _did_you_mean(key, TLS_KEYS))
        elif not isinstance(value, str):
            problems.add("tls", key, f"expected a file name (string), got {_got(value)}")
        elif not os.path.isfile(value) or not os.access(value, os.R_OK):
            problems.add("tls", key, f"expected a readable file, got {value!r} (no such file)")
        else:
            out[key] = value
    if "key" in table and "cert" not in table:
        problems.add("tls", "key", "expected cert = FILE beside key")
    return out


def _read_log(table: dict[str, Any], problems: _Problems) -> dict[str, str]:
    out = {}
    for key, value in table.items():
        if key == "format":
            if value not in LOG_FORMATS:
                problems.add("log", key, f'expected "text" or "json", got {_got(value)}')
                continue
        elif key == "file":
            if not isinstance(value, str):
                problems.add("log", key, f"expected a file name (string), got {_got(value)}")
                continue
            parent = os.path.dirname(os.path.abspath(value))
            if not os.path.isdir(parent):
                problems.add(
                    "log", key, f"expected a file in an existing directory, got {value!r}"
                )
                continue
        else:
            problems.add("log", key, "unknown key" + _did_you_mean(key, ("format", "file")))
            continue
        out[key] = value
    return out


def _read_suite(
    table: dict[str, Any],
    problems: _Problems,
    suite_options: type[usage.Options] | None,
    services: Mapping[str, type[usage.Options]],
) -> dict[str, Any]:
    specs = {}
    if suite_options is not None:
        specs = {
            k: s
            for k, s in option_specs(suite_options).items()
            if not k.endswith("-args") and not (k.startswith("no-") and k[3:] in services)
        }
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key == "services":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                problems.add("suite", key, f"expected a list of strings, got {_got(value)}")
                continue
            unknown = [v for v in value if v not in services]
            if unknown:
                problems.add(
                    "suite", key,
                    f"expected some of {', '.join(services)}, got {unknown[0]!r}"
                    + _did_you_mean(unknown[0], services),
                )  # fmt: skip
                continue
            out["services"] = value
        elif key.replace("_", "-") in specs:
            spec = specs[key.replace("_", "-")]
            problem = _type_problem(spec, value)
            if problem:
                problems.add("suite", key, problem)
            else:
                out[spec.name] = value
        else:
            problems.add(
                "suite",
                key,
                "unknown key" + _did_you_mean(key, ["services", *(s.key for s in specs.values())]),
            )
    return out


def _type_problem(spec: OptionSpec, value: Any) -> str | None:
    """What is wrong with C{value} for C{spec} (type, then bound), or None."""
    wrong = f"expected {spec.expected()}, got {_got(value)}"
    if spec.kind == "flag":
        return None if isinstance(value, bool) else wrong
    if spec.kind == "list":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return None if ok else wrong
    if isinstance(value, bool):
        return wrong
    if spec.coerce is int and not isinstance(value, int):
        return wrong
    if spec.coerce is float and not isinstance(value, int | float):
        return wrong
    if spec.coerce not in (int, float) and not isinstance(value, str):
        return wrong
    if (
        spec.least is not None
        and isinstance(value, int | float)
        and (value < spec.least or (spec.strict and value == spec.least))
    ):
        bound = "more than" if spec.strict else "at least"
        return f"expected {bound} {spec.least:g}, got {value!r}"
    return None


def _read_section(
    section: str, table: dict[str, Any], specs: dict[str, OptionSpec], problems: _Problems
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    pending = [(section, "", table)]
    while pending:
        where, prefix, current = pending.pop(0)
        for key, value in current.items():
            if isinstance(value, dict):
                pending.append((f"{where}.{key}", f"{prefix}{key.replace('_', '-')}-", value))
                continue
            name = prefix + key.replace("_", "-")
            spec = specs.get(name)
            if spec is None:
                known = [s.key[len(prefix) :] for s in specs.values() if s.name.startswith(prefix)]
                problems.add(where, key, "unknown key" + _did_you_mean(key, known))
                continue
            problem = _type_problem(spec, value)
            if problem is None and spec.kind == "param" and isinstance(value, str):
                problem = _file_problem(name, value)
            if problem:
                problems.add(where, key, problem)
                continue
            if name in out:
                problems.add(where, key, f"set twice (also as {spec.key} in [{section}])")
                continue
            out[name] = value
    return out


def _file_problem(name: str, value: str) -> str | None:
    """Options naming a directory (C{path}, C{*-dir}) or file (C{*-file}, C{*-cert}, C{*-key})."""
    if name == "path" or name.endswith(("-path", "-dir")):
        if not os.path.isdir(value):
            return f"expected an existing directory, got {value!r}"
    elif name.endswith(("-file", "-cert", "-key")) and not (
        os.path.isfile(value) and os.access(value, os.R_OK)
    ):
        return f"expected a readable file, got {value!r} (no such file)"
    return None


def apply_tls_defaults(description: str, tls: Mapping[str, str]) -> str:
    """An C{nstls:}/C{dtls:} description with no C{cert=}/C{sni=} gets C{[tls]}'s files."""
    if not tls.get("cert"):
        return description
    try:
        args, kwargs = split_description(description)
    except (ValueError, IndexError):
        return description
    if not args or args[0] not in ("nstls", "dtls") or "cert" in kwargs or "sni" in kwargs:
        return description
    for key, field in TLS_KEYS.items():
        if key in tls and field not in kwargs:
            escaped = tls[key].replace("\\", "\\\\").replace(":", "\\:")
            description += f":{field}={escaped}"
    return description


def _listen_options(specs: Mapping[str, OptionSpec]) -> list[str]:
    return [n for n, s in specs.items() if s.kind == "list" and n.endswith("listen")]


def _check_listens(
    config: Config,
    services: Mapping[str, type[usage.Options]],
    problems: _Problems,
    reactor: Any,
) -> None:
    """Parse every listen description (nothing listens) and find two doors on one port."""
    seen: dict[tuple[str, str, int], tuple[str, str]] = {}
    chosen = config.suite.get("services", list(services))
    for section, options_class in services.items():
        if section not in chosen:
            continue  # [suite] leaves it out: its doors do not listen
        specs = option_specs(options_class)
        values = config.values.get(section, {})
        datagram_allowed = getattr(options_class, "datagram_allowed", True)
        for name in _listen_options(specs):
            given = name in values
            descriptions = values.get(name, specs[name].default)
            if descriptions == ["none"]:
                continue
            where, key = _where(config, section, name)
            parsed = []
            for description in descriptions:
                full = apply_tls_defaults(description, config.tls)
                datagram = is_datagram(full)
                if given and datagram and not datagram_allowed:
                    problems.add(
                        where,
                        key,
                        f"expected a stream description, got {description!r} "
                        "(this door is stream-only)",
                    )
                    continue
                if given and full == description and config.tls_broken and _wants_tls(full):
                    continue  # its certificate was to come from [tls], already reported
                if given:
                    try:
                        parse = datagram_from_string if datagram else stream_from_string
                        parse(reactor, full)
                    except (DescriptionError, TLSConfigError) as e:
                        text = str(e)
                        if text.startswith(repr(full) + ": "):
                            text = text[len(repr(full)) + 2 :]
                        problems.add(
                            where,
                            key,
                            f"expected a listen description, got {description!r}: {text}",
                        )
                        continue
                parsed.append((description, full, datagram))
            if given and len(parsed) == len(descriptions):
                values[name] = [full for _, full, _ in parsed]
            for description, full, datagram in parsed:
                bound = _bound(full, datagram)
                if bound is None:
                    continue
                kind, interface, port = bound
                for (k, i, p), (other, other_where) in seen.items():
                    if (
                        k == kind
                        and p == port
                        and (i == interface or i in _WILDCARDS or interface in _WILDCARDS)
                    ):
                        problems.add(
                            where, key,
                            f"expected one door per port, got {description!r} on {kind} port "
                            f"{port}, already used by {other!r} ({other_where})",
                        )  # fmt: skip
                        break
                else:
                    seen[(kind, interface, port)] = (description, f"[{where}] {key}")


def _wants_tls(description: str) -> bool:
    """An C{nstls:}/C{dtls:} description that names no certificate of its own."""
    return apply_tls_defaults(description, {"cert": "-"}) != description


def _where(config: Config, section: str, name: str) -> tuple[str, str]:
    """The table and key a section's option was written as (for the line number)."""
    for (table, key), _ in config.lines.items():
        if key is None or not table.startswith(section):
            continue
        sub = table[len(section) + 1 :]
        written = (f"{sub}-" if sub else "") + key.replace("_", "-")
        if (table == section or table.startswith(section + ".")) and written == name:
            return table, key
    return section, name.replace("-", "_")


def _bound(description: str, datagram: bool) -> tuple[str, str, int] | None:
    """C{(kind, interface, port)} a description binds, or None (systemd:, unix:, port 0)."""
    try:
        args, kwargs = split_description(description)
    except (ValueError, IndexError):
        return None
    if len(args) < 2 or args[0] not in ("tcp", "tcp6", "nstls", "ssl", "tls", "udp", "dtls"):
        return None
    try:
        port = int(args[1])
    except ValueError:
        return None
    if port == 0:
        return None
    interface = kwargs.get("interface", "")
    with contextlib.suppress(ValueError):
        interface = str(ipaddress.ip_address(interface))
    return ("udp" if datagram else "tcp", interface, port)


def to_arguments(values: Mapping[str, Any], specs: Mapping[str, OptionSpec]) -> list[str]:
    """Command-line tokens that give the options C{values} (flags set false give none)."""
    out: list[str] = []
    for name, value in values.items():
        spec = specs[name]
        if spec.kind == "flag":
            if value:
                out.append(f"--{name}")
        elif spec.kind == "list":
            out += [f"--{name}={v}" for v in value]
        else:
            out.append(f"--{name}={value}")
    return out


def given_values(options: usage.Options, arguments: Sequence[str]) -> dict[str, Any]:
    """
    The options C{arguments} gives, parsed as C{options} would but not run: long name ->
    the text (a param), True (a flag) or every text in order (a repeatable option).
    """
    import getopt

    try:
        opts, _ = getopt.getopt(list(arguments), options.shortOpt, options.longOpt)
    except getopt.error:
        return {}
    specs = option_specs(type(options))
    out: dict[str, Any] = {}
    for opt, value in opts:
        opt = opt.lstrip("-")
        mangled = opt if opt in options.synonyms else opt.replace("-", "_")
        name = options.synonyms.get(mangled, mangled).replace("_", "-")
        spec = specs.get(name)
        if spec is not None and spec.kind == "list":
            out.setdefault(name, []).append(value)
        elif (spec is not None and spec.kind == "flag") or (
            value == "" and name in options.longOpt
        ):
            out[name] = True
        else:
            out[name] = value
    return out


def coerced(values: Mapping[str, Any], specs: Mapping[str, OptionSpec]) -> dict[str, Any]:
    """C{given_values}' texts as the config holds them (numbers as numbers)."""
    out = {}
    for name, value in values.items():
        spec = specs.get(name)
        if spec is None:
            continue
        if spec.kind == "param" and spec.coerce in (int, float):
            try:
                value = spec.coerce(value)
            except ValueError:
                continue
        out[name] = value
    return out


def merge_arguments(
    options: usage.Options, values: Mapping[str, Any], arguments: Sequence[str]
) -> list[str]:
    """
    The file's values as tokens, then C{arguments}: the command line, parsed last, wins;
    a repeatable option the command line gives drops the file's values of it.
    """
    specs = option_specs(type(options))
    given = given_values(options, arguments)
    kept = {n: v for n, v in values.items() if not (specs[n].kind == "list" and n in given)}
    return [*to_arguments(kept, specs), *arguments]


def effective(
    values: Mapping[str, Any], specs: Mapping[str, OptionSpec], given: Mapping[str, Any] = {}
) -> dict[str, Any]:
    """Every option's value: C{given} over C{values} over the defaults."""
    out = {}
    for name, spec in specs.items():
        out[name] = given.get(name, values.get(name, spec.default))
    return out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_string(str(v)) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def _toml_string(text: str) -> str:
    escapes = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
    body = "".join(escapes.get(c, c if c.isprintable() else f"\\u{ord(c):04x}") for c in text)
    return f'"{body}"'


def dump_toml(tables: Mapping[str, Mapping[str, Any]]) -> str:
    """
    TOML for C{tables} (section -> key -> str, int, float, bool or list of str). A value
    of None is written as a comment (TOML has no null): the key is there to be filled.
    Sections listed in L{SUBSECTIONS} write their prefixed options as C{[S.X]}.
    """
    out: list[str] = []
    for section, table in tables.items():
        prefixes = SUBSECTIONS.get(section, ())
        subs: dict[str, dict[str, Any]] = {p: {} for p in prefixes}
        own: dict[str, Any] = {}
        for name, value in table.items():
            prefix = next((p for p in prefixes if name.startswith(p + "-")), None)
            if prefix is None:
                own[name] = value
            else:
                subs[prefix][name[len(prefix) + 1 :]] = value
        for title, keys in [(section, own), *((f"{section}.{p}", subs[p]) for p in prefixes)]:
            if not keys and title != section:
                continue
            out.append(f"[{title}]")
            for name, value in keys.items():
                key = name.replace("-", "_")
                if value is None:
                    out.append(f"# {key} = (not set)")
                else:
                    out.append(f"{key} = {_toml_value(value)}")
            out.append("")
    return "\n".join(out)


def bound_address(description: str) -> tuple[str, str, int] | None:
    """C{(kind, interface, port)} a listen description binds, or None (systemd:, unix:, 0)."""
    return _bound(description, is_datagram(description))


def read_config(
    path: str,
    services: Mapping[str, type[usage.Options]],
    suite_options: type[usage.Options] | None = None,
    reactor: Any = None,
) -> Config:
    """Read the file C{path} and L{load} it; a file that cannot be read is one error."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        error = ConfigError(path, None, None, None, f"cannot read the config file: {reason}")
        return Config(path, {}, {}, {}, {}, [error], {})
    known = [s for s in KNOWN_SECTIONS if s not in services]
    return load(text, path, services, suite_options, known, reactor)


def usage_error(config: Config, section: str, message: str) -> ConfigError:
    """
    A service's own check (its C{postOptions}) refused a value: the error, at the line
    of the key the message's C{--NAME} came from when the file set it.
    """
    match = re.match(r"--([\w-]+)", message)
    if match and match.group(1) in config.values.get(section, {}):
        table, key = _where(config, section, match.group(1))
        line = config.lines.get((table, key))
        return ConfigError(config.file, line, table, key, message)
    return ConfigError(config.file, None, section, None, message)
