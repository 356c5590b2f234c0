"""A router's own line behind the header an rsyslog or syslog-ng relay puts in front of it.

Sites that already run a relay forward router lines with the relay's header prepended. With
rsyslog's and syslog-ng's default forwarding templates a Cisco line arrives as

    <189>Nov 30 16:35:24 rtr1.dc1 000123: *Nov 30 16:35:23.123: %SYS-5-CONFIG_I: Configured...
    <189>1 2026-11-30T16:35:24Z rtr1.dc1 000123 - - - *Nov 30 16:35:23.123: %SYS-5-CONFIG_I: ...

(the relay could not read the Cisco header, so it took "000123:" for a tag and wrote its own
timestamp and the host it heard the line from), and a relay that does not parse at all
(syslog-ng's ``flags(no-parse)``) puts the whole line, PRI and all, after its header.

Behind a header that names a host, what follows is taken for the router's own line when it
is one of: a whole syslog line with its own PRI; an RFC 5424 line without its PRI (Junos); a
Cisco message (a counter, a Cisco timestamp or the %FAC-SEV-MNEMONIC right after the host,
never "word: %..." since that is how Arista and others write an ordinary tag); a Yamaha RTX
line ("[INSPECT] ...", "PP[01] ..."). The router's fields win. ``relay`` holds the host the
relay's header names; where the router's line names no host itself, ``hostname`` is that host
too (the relays put there the host they heard the line from). The timestamp stays the
router's own, None for an uptime stamp: the relay's clock is not the router's, and a router's
clock skew must not be read from it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from syslog_receiver.cisco import parse_cisco
from syslog_receiver.record import record
from syslog_receiver.rfc5424 import parse_rfc5424

_YAMAHA = re.compile(r"\[[A-Z][A-Z0-9_]{1,15}\] |(?:PP|TUNNEL|IP Tunnel)\[\d{1,3}\] ")


def behind_header(
    text: str,
    pos: int,
    relay: dict[str, Any],
    now: float,
    parse_line: Callable[[str, float], dict[str, Any]],
) -> dict[str, Any] | None:
    """The router's record for text[pos:], which follows the header of record `relay`.

    None when text[pos:] is not recognisably a router's line (then `relay` is the answer).
    `parse_line` parses a whole line with its own PRI; it must not call back into here.
    """
    n = len(text)
    while pos < n and text[pos] == " ":
        pos += 1
    if pos >= n:
        return None
    pri = (relay["facility"] << 3) | relay["severity"]
    first = text[pos]
    router: dict[str, Any] | None = None
    if first == "<":
        router = parse_line(text[pos:], now)
        if router["format"] == "raw":  # a '<' that starts no PRI
            router = None
    elif first == "1" and text.startswith("1 ", pos):
        router = parse_rfc5424(text, pos, pri)
    elif text.find("%", pos) >= 0 and _cisco_shaped(relay):
        router = parse_cisco(text, pos, pri, now)
    elif first in "[PTI" and _YAMAHA.match(text, pos) is not None:
        router = record("yamaha", pri, None, None, None, None, None, None, text[pos:])
    return None if router is None else adopt(router, relay)


def cisco_behind_rfc5424(rec: dict[str, Any], now: float) -> dict[str, Any] | None:
    """A Cisco line forwarded in RFC 5424 form: the relay's APP-NAME holds its counter."""
    app = rec["app_name"]
    if rec["hostname"] is None or rec["structured_data"] is not None:
        return None
    if not (app is None or app.isdigit()):
        return None
    pri = (rec["facility"] << 3) | rec["severity"]
    router = parse_cisco(rec["message"], 0, pri, now)
    if router is None:
        return None
    if app is not None and router["cisco"]["sequence"] is None:
        router["cisco"]["sequence"] = int(app)
    return adopt(router, rec)


def _cisco_shaped(relay: dict[str, Any]) -> bool:
    """Whether the BSD reading of the rest leaves room for a Cisco header (see the module)."""
    app = relay["app_name"]
    return app is None or app.isdigit() or not relay["message"].startswith("%")


def adopt(router: dict[str, Any], relay: dict[str, Any]) -> dict[str, Any]:
    """The router's record, marked with the relay's host."""
    router["relay"] = relay["hostname"]
    if router["hostname"] is None:
        router["hostname"] = relay["hostname"]
    return router
