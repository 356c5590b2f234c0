"""Options declared once as dataclass fields, read from flags and ``EDGE_BRIDGE_*`` variables.

ECS task definitions configure the daemons through the environment and people use flags, so
both feed one parser per option; a flag beats the variable. A bad value must stop the daemon at
start with one line naming the option and exit status 2, never later and never with a trace.
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, NoReturn, TypeVar

from bridge.inventory import read_inventory

ENV_PREFIX = "EDGE_BRIDGE_"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

T = TypeVar("T")


class HostPort(NamedTuple):
    """A listen or peer address; ``host`` is bare (no brackets around IPv6)."""

    host: str
    port: int

    def __str__(self) -> str:
        return format_address(self.host, self.port)


def format_address(host: str, port: int) -> str:
    """``host:port``, with IPv6 hosts in brackets as URLs and most tools expect."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def option(
    default: Any,
    *,
    help: str,
    parse: Callable[[str], Any] = str,
    repeat: bool = False,
    metavar: str | None = None,
    secret: bool = False,
) -> Any:
    """Declare one option as a dataclass field (see docs/foundation.md).

    ``secret`` options (passwords) are never echoed in error messages.
    """
    return dataclasses.field(
        default=default,
        metadata={
            "help": help,
            "parse": parse,
            "repeat": repeat,
            "metavar": metavar,
            "secret": secret,
        },
    )


# -- value parsers: each raises ValueError with a short reason -----------------------------


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise ValueError("port must be 0-65535")
    return int(text)


def _host(text: str) -> str:
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
        ipaddress.IPv6Address(text.split("%")[0])
        return text
    if not text:
        raise ValueError("empty host")
    if ":" in text:
        raise ValueError("IPv6 addresses go in brackets: [::1]:514")
    return text


def _split_host_port(text: str) -> tuple[str, str | None]:
    text = text.strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError("missing ']'")
        rest = text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ValueError("expected HOST:PORT")
        return text[: end + 1], rest[1:] if rest else None
    if text.count(":") > 1:
        raise ValueError("IPv6 addresses go in brackets: [::1]:514")
    host, sep, port = text.partition(":")
    return host, port if sep else None


def host_port(text: str) -> HostPort:
    """``HOST:PORT`` or ``[V6]:PORT``; port 0 is allowed so tests can bind ephemeral ports."""
    host, port = _split_host_port(text)
    if port is None:
        raise ValueError("expected HOST:PORT")
    return HostPort(_host(host), _port(port))


def host_port_default(default_port: int) -> Callable[[str], HostPort]:
    """``HOST[:PORT]``, for peers that usually sit on their protocol's well-known port."""

    def parse(text: str) -> HostPort:
        host, port = _split_host_port(text)
        return HostPort(_host(host), default_port if port is None else _port(port))

    parse.__name__ = "host_port"
    return parse


def cidr(text: str) -> IPNetwork:
    """An address or network; host bits set are an error, as they usually mean a typo."""
    try:
        return ipaddress.ip_network(text.strip())
    except ValueError as exc:
        raise ValueError(str(exc)) from None


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError("must be > 0")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must be >= 0")
    return value


def _finite(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("must be a finite number")
    return value


def positive_float(text: str) -> float:
    value = _finite(text)
    if value <= 0:
        raise ValueError("must be > 0")
    return value


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd]?)$")
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``24h``, ``30d`` -> seconds."""
    m = _DURATION.match(text.strip())
    if m is None:
        raise ValueError("expected a duration such as 90s, 15m, 24h or 30d")
    return float(m.group(1)) * _DURATION_UNITS[m.group(2)]


def non_negative_float(text: str) -> float:
    value = _finite(text)
    if value < 0:
        raise ValueError("must be >= 0")
    return value


_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]?)(i?b)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def byte_size(text: str) -> int:
    """``65536``, ``64KiB``, ``16MiB``, ``8M``: binary units, since buffers are sized so."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError("expected a size such as 65536, 64KiB or 16MiB")
    value = int(match.group(1)) * _SIZE_UNITS[match.group(2).lower()]
    if value <= 0:
        raise ValueError("must be > 0")
    return value


def choice(*values: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in values:
            raise ValueError("expected one of " + ", ".join(values))
        return text

    parse.__name__ = "choice"
    parse.values = values  # type: ignore[attr-defined]
    return parse


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("expected true or false")


def credentials(text: str) -> str:
    """``USER:PASSWORD`` for HTTP Basic auth, or the JSON Secrets Manager keeps,
    ``{"username": ..., "password": ...}``; declare such options ``secret=True``."""
    if text.lstrip().startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            raise ValueError("expected USER:PASSWORD or JSON with username and password") from None
        user, password = doc.get("username"), doc.get("password")
        if not (isinstance(user, str) and isinstance(password, str)):
            raise ValueError("expected JSON with username and password strings")
        text = f"{user}:{password}"
    user, sep, password = text.partition(":")
    if text and (not sep or not user or not password):
        raise ValueError("expected USER:PASSWORD")
    return text


_ROUTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


def router_entry(text: str) -> tuple[str, str]:
    """``IP=NAME``: a static source-address -> router-name entry."""
    ip, sep, name = text.partition("=")
    if not sep:
        raise ValueError("expected IP=NAME")
    address = ipaddress.ip_address(ip.strip())
    if not _ROUTER_NAME.match(name.strip()):
        raise ValueError("router names are letters, digits, '.', '_' and '-'")
    return str(address), name.strip()


# -- loading -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CommonSettings:
    """Options every daemon has."""

    metrics_interval: float = option(
        60.0, parse=positive_float, help="seconds between EMF metric lines on stdout"
    )
    # About a minute of the syslog receiver at 2000 messages/s (~500-byte lines) while
    # CloudWatch catches up; bounded, so a stdout that never recovers cannot take the memory.
    stdout_buffer: int = option(
        64 * 1024**2,
        parse=byte_size,
        help="lines waiting for a slow stdout are held up to this size, then dropped and counted",
    )
    stdout_stall: float = option(
        10.0,
        parse=positive_float,
        help="seconds one write to stdout may block before /healthz answers 503",
    )


def allow_option(help: str) -> Any:
    """``--allow CIDR`` (repeatable): every listener has one; none given = everyone."""
    return option((), parse=cidr, repeat=True, help=help)


def router_option(help: str) -> Any:
    """``--router IP=NAME`` (repeatable): names routers by their source address."""
    return option((), parse=router_entry, repeat=True, help=help)


def inventory_file(text: str) -> str:
    """A router inventory file, read once here so a mistake in it stops the daemon at start;
    the daemon reads it again (:func:`bridge.inventory.read_inventory`) to use it."""
    read_inventory(text)
    return text


def inventory_option() -> Any:
    """``--inventory FILE``: the router inventory (names, addresses, credential hashes)."""
    return option(
        "",
        parse=inventory_file,
        metavar="FILE",
        help="router inventory (TOML [[router]] tables: name, addresses, credential hash); "
        "names routers by source address like --router",
    )


def health_option(port: int) -> Any:
    """``--health``: daemons whose protocol is not HTTP serve /healthz on a port of its own."""
    return option(
        HostPort("0.0.0.0", port), parse=host_port, help="address of the GET /healthz server"
    )


def flag_name(field_name: str, prefix: str = "") -> str:
    return "--" + (prefix + field_name).replace("_", "-")


def env_name(field_name: str, prefix: str = "") -> str:
    return ENV_PREFIX + (prefix + field_name).upper()


def fail(prog: str, message: str) -> NoReturn:
    """One line on stderr and exit status 2: the contract for bad settings."""
    print(f"{prog}: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        fail(self.prog, message)


def _describe(field: dataclasses.Field[Any], prefix: str) -> str:
    default = field.default
    if isinstance(default, tuple) and default and not isinstance(default, HostPort):
        shown = ",".join(str(item) for item in default)
    elif isinstance(default, bool) or default in ((), None):
        shown = ""
    else:
        shown = str(default)
    text = str(field.metadata["help"])
    if shown:
        text += f" (default {shown})"
    return text + f" [{env_name(field.name, prefix)}]"


_METAVARS = {
    "host_port": "HOST:PORT",
    "cidr": "CIDR",
    "byte_size": "SIZE",
    "duration": "DURATION",
    "router_entry": "IP=NAME",
    "positive_int": "N",
    "non_negative_int": "N",
    "positive_float": "N",
    "non_negative_float": "N",
}


def _metavar(parse: Callable[[str], Any], name: str) -> str:
    values = getattr(parse, "values", None)
    if values:
        return "{" + ",".join(values) + "}"
    return _METAVARS.get(getattr(parse, "__name__", ""), name.upper())


def new_parser(prog: str, description: str | None = None) -> argparse.ArgumentParser:
    """An argparse parser whose errors are one line and exit status 2."""
    return _OneLineParser(prog=prog, description=description)


def add_options(parser: argparse.ArgumentParser, cls: type[Any], prefix: str = "") -> None:
    """One flag per dataclass field (``--{prefix}{field}``); values stay raw strings."""
    for field in dataclasses.fields(cls):
        meta = field.metadata
        if not meta:
            continue
        kwargs: dict[str, Any] = {"dest": prefix + field.name, "help": _describe(field, prefix)}
        if meta["parse"] is boolean:
            kwargs.update(action="store_const", const="true")
        else:
            kwargs.update(metavar=meta["metavar"] or _metavar(meta["parse"], field.name))
            if meta["repeat"]:
                kwargs["action"] = "append"
        parser.add_argument(flag_name(field.name, prefix), **kwargs)


def _convert(parse: Callable[[str], Any], raw: str, source: str, prog: str, secret: bool) -> Any:
    try:
        return parse(raw)
    except ValueError as exc:
        shown = "(value not shown)" if secret else repr(raw)
        fail(prog, f"invalid {source} {shown}: {exc}")


def settings_from(
    cls: type[T],
    values: Mapping[str, Any],
    environ: Mapping[str, str],
    prog: str,
    prefix: str = "",
) -> T:
    """Resolve each field: the flag's raw value, else the variable, else the default."""
    resolved: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        meta = field.metadata
        if not meta:
            continue
        parse = meta["parse"]
        flag_value = values.get(prefix + field.name)
        variable = env_name(field.name, prefix)
        if flag_value is not None:
            source, raw = flag_name(field.name, prefix), flag_value
        elif variable in environ:
            source, raw = variable, environ[variable]
            if meta["repeat"]:
                raw = [item for item in raw.split(",") if item.strip()]
        else:
            continue
        secret = meta["secret"]
        if meta["repeat"]:
            resolved[field.name] = tuple(
                _convert(parse, item, source, prog, secret) for item in raw
            )
        else:
            resolved[field.name] = _convert(parse, raw, source, prog, secret)
    return cls(**resolved)


def load_settings(
    cls: type[T],
    argv: Sequence[str],
    prog: str,
    environ: Mapping[str, str] | None = None,
) -> T:
    """Parse flags and variables into ``cls``; bad input exits 2 with one line on stderr."""
    parser = new_parser(prog, cls.__doc__)
    add_options(parser, cls)
    namespace = parser.parse_args(list(argv))
    return settings_from(cls, vars(namespace), os.environ if environ is None else environ, prog)


def settings_argv(settings: Any) -> list[str]:
    """The flags that rebuild ``settings`` in a child process, through the same parsers.

    The inverse of :func:`settings_from`: a parent hands its validated settings to workers
    as a command line, which each worker parses as the parent did.
    """
    argv: list[str] = []
    for field in dataclasses.fields(settings):
        meta = field.metadata
        if not meta:
            continue
        value = getattr(settings, field.name)
        flag = flag_name(field.name)
        if meta["parse"] is boolean:
            if value:
                argv.append(flag)
        elif meta["repeat"]:
            for item in value:
                text = f"{item[0]}={item[1]}" if meta["parse"] is router_entry else str(item)
                argv += [flag, text]
        else:
            argv += [flag, str(value)]
    return argv
