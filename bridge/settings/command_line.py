"""Reading options from flags and ``EDGE_BRIDGE_*`` variables into a settings dataclass.

ECS task definitions configure the daemons through the environment and people use flags, so
both feed the one parser each option declares; a flag beats the variable. A bad value stops
the daemon at start with one line naming the option (:func:`bridge.settings.failure.fail`).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from bridge.settings.failure import fail, new_parser
from bridge.settings.values import HostPort, boolean, router_entry

ENV_PREFIX = "EDGE_BRIDGE_"

T = TypeVar("T")


def flag_name(field_name: str, prefix: str = "") -> str:
    return "--" + (prefix + field_name).replace("_", "-")


def env_name(field_name: str, prefix: str = "") -> str:
    return ENV_PREFIX + (prefix + field_name).upper()


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
    "non_negative_duration": "DURATION",
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
