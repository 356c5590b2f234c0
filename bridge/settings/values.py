"""The values options take: each parser turns one flag's or variable's text into a value, or
raises ``ValueError`` with a short reason that :mod:`bridge.settings.command_line` puts on
the one error line.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from typing import NamedTuple, TypeVar

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class HostPort(NamedTuple):
    """A listen or peer address; ``host`` is bare (no brackets around IPv6)."""

    host: str
    port: int

    def __str__(self) -> str:
        return format_address(self.host, self.port)


def format_address(host: str, port: int) -> str:
    """``host:port``, with IPv6 hosts in brackets as URLs and most tools expect."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


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


Number = TypeVar("Number", int, float)


def _positive(value: Number) -> Number:
    if value <= 0:
        raise ValueError("must be > 0")
    return value


def _non_negative(value: Number) -> Number:
    if value < 0:
        raise ValueError("must be >= 0")
    return value


def _finite(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("must be a finite number")
    return value


def positive_int(text: str) -> int:
    return _positive(int(text))


def non_negative_int(text: str) -> int:
    return _non_negative(int(text))


def positive_float(text: str) -> float:
    return _positive(_finite(text))


def non_negative_float(text: str) -> float:
    return _non_negative(_finite(text))


_DURATION = re.compile(r"^([-+]?\d+(?:\.\d*)?(?:e[-+]?\d+)?)\s*(ms|[smhd])?$", re.IGNORECASE)
_DURATION_UNITS = {"": 1, "ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _seconds(text: str) -> float:
    m = _DURATION.match(text.strip())
    if m is None:
        raise ValueError("expected a duration such as 90s, 15m, 24h, 30d or 100ms")
    return _finite(m.group(1)) * _DURATION_UNITS[(m.group(2) or "").lower()]


def duration(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``24h``, ``30d``, ``100ms`` -> seconds (a bare number is
    seconds): a span that must pass (a timeout, an interval, a grace period, a tolerance), so
    never 0, which would fire at once or tolerate nothing."""
    return _positive(_seconds(text))


def non_negative_duration(text: str) -> float:
    """A duration where 0 has a meaning of its own (off, none, now)."""
    return _non_negative(_seconds(text))


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
