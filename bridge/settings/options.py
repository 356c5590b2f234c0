"""Declaring options: each is one dataclass field, its kind saying how its text is read.

A daemon's settings class is the table of its options (see docs/foundation.md): the field's
name gives the flag and the variable, the kind (``seconds``, ``count``, ``size``...) the
parser and what 0 may mean, so each option is said once, in one line where its help allows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from bridge.inventory import read_inventory
from bridge.settings.values import (
    HostPort,
    boolean,
    byte_size,
    choice,
    cidr,
    duration,
    host_port,
    non_negative_duration,
    non_negative_float,
    positive_float,
    positive_int,
    router_entry,
)


def option(
    default: Any,
    *,
    help: str,
    parse: Callable[[str], Any] = str,
    repeat: bool = False,
    metavar: str | None = None,
    secret: bool = False,
) -> Any:
    """Declare one option as a dataclass field.

    ``secret`` options (passwords, keys) are never echoed in error messages nor in a repr.
    """
    return dataclasses.field(
        default=default,
        repr=not secret,
        metadata={
            "help": help,
            "parse": parse,
            "repeat": repeat,
            "metavar": metavar,
            "secret": secret,
        },
    )


# -- kinds: the options that recur, each with the parser that fits it ----------------------


def seconds(default: float, help: str) -> Any:
    """A timeout, interval, grace period or tolerance (``90``, ``90s``, ``15m``, ``100ms``; a
    bare number is seconds): 0 is refused, since a span of nothing would close, poll or judge
    at once, or tolerate nothing."""
    return option(default, parse=duration, help=help)


def seconds_or_off(default: float, help: str) -> Any:
    """A span of time where 0 turns the thing off; ``help`` must say what 0 does."""
    return option(default, parse=non_negative_duration, help=help)


def per_second(default: float, help: str) -> Any:
    """A rate limit; 0 lifts it (``help`` says so)."""
    return option(default, parse=non_negative_float, help=help)


def burst(default: float, help: str) -> Any:
    """How far above its rate limit a source may go at once."""
    return option(default, parse=positive_float, help=help)


def count(default: int, help: str) -> Any:
    """A number of things (connections, lines, workers), at least 1."""
    return option(default, parse=positive_int, help=help)


def size(default: int, help: str) -> Any:
    """A number of bytes, ``65536`` or ``64KiB``."""
    return option(default, parse=byte_size, help=help)


def one_of(*values: str, help: str) -> Any:
    """One of a few words; the first is the default."""
    return option(values[0], parse=choice(*values), help=help)


def switch(help: str) -> Any:
    """Off unless given: a bare flag, or the variable set to true."""
    return option(False, parse=boolean, help=help)


def address(default: HostPort, help: str) -> Any:
    """A listen address, ``HOST:PORT`` or ``[V6]:PORT``."""
    return option(default, parse=host_port, help=help)


# -- options more than one daemon has ------------------------------------------------------


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
    return address(HostPort("0.0.0.0", port), "address of the GET /healthz server")


@dataclasses.dataclass(frozen=True)
class CommonSettings:
    """Options every daemon has."""

    metrics_interval: float = seconds(60.0, "seconds between EMF metric lines on stdout")
    # About a minute of the syslog receiver at 2000 messages/s (~500-byte lines) while
    # CloudWatch catches up; bounded, so a stdout that never recovers cannot take the memory.
    stdout_buffer: int = size(
        64 * 1024**2,
        "lines waiting for a slow stdout are held up to this size, then dropped and counted",
    )
    stdout_stall: float = seconds(
        10.0, "seconds one write to stdout may block before /healthz answers 503"
    )
