"""The one shape every dialect parser returns, so the server never checks for missing keys."""

from __future__ import annotations

from typing import Any

# SD-ID -> param -> value; a param repeated inside one element keeps all values as a list.
StructuredData = dict[str, dict[str, str | list[str]]]

FIELDS = (
    "format",
    "facility",
    "severity",
    "timestamp",
    "hostname",
    "app_name",
    "procid",
    "msgid",
    "structured_data",
    "message",
)
# Keys a record carries only when they say something: ``cisco`` (the mnemonic's parts, on
# Cisco messages), ``relay`` (the host named by a relay's header in front of the router's own
# line, see relay.py) and ``sd_malformed`` (true where structured data had to be read
# leniently, see sd_lenient.py).
OPTIONAL_FIELDS = ("cisco", "relay", "sd_malformed")


def record(
    fmt: str,
    pri: int,
    timestamp: str | None,
    hostname: str | None,
    app_name: str | None,
    procid: str | None,
    msgid: str | None,
    structured_data: StructuredData | None,
    message: str,
) -> dict[str, Any]:
    """A new parse result; `pri` < 0 means unknown facility and severity."""
    if message.startswith("\ufeff"):
        message = message[1:]
    return {
        "format": fmt,
        "facility": pri >> 3 if pri >= 0 else None,
        "severity": pri & 7 if pri >= 0 else None,
        "timestamp": timestamp,
        "hostname": hostname,
        "app_name": app_name,
        "procid": procid,
        "msgid": msgid,
        "structured_data": structured_data,
        "message": message,
    }


def add_param(params: dict[str, str | list[str]], name: str, value: str) -> None:
    """A structured-data parameter repeated in one element keeps every value, in order."""
    old = params.get(name)
    if old is None:
        params[name] = value
    elif isinstance(old, list):
        old.append(value)
    else:
        params[name] = [old, value]
