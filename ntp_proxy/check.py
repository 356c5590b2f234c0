"""``edge-bridge ntp-check HOST[:PORT]``: what an NTP server answers, asked by an outside client.

It uses ntplib rather than this project's codec, so a bug in the codec cannot hide itself: an
operator (or an auditor) sees the server's own fields. Prints one JSON line; exits 0 when the
server claims synchronised time (LI != 3, stratum 1-15), 1 when it is unsynchronised, sends a
kiss-o'-death or does not answer, 2 on bad usage.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import ntplib

from bridge.output import envelope, fit, iso_utc
from bridge.settings import (
    HostPort,
    add_options,
    fail,
    host_port_default,
    new_parser,
    one_of,
    seconds,
    settings_from,
)
from bridge.stdout import write_lines
from ntp_proxy.packet import refid_text

PROG = "edge-bridge ntp-check"


@dataclasses.dataclass(frozen=True)
class CheckSettings:
    """Ask an NTP server for the time (via ntplib)."""

    timeout: float = seconds(3.0, "how long to wait for the answer")
    version: str = one_of("4", "3", "2", "1", help="NTP version of the request")


def _parse(argv: Sequence[str]) -> tuple[HostPort, CheckSettings]:
    parser = new_parser(PROG, CheckSettings.__doc__)
    parser.add_argument("server", metavar="HOST[:PORT]", help="server to ask (port 123 default)")
    add_options(parser, CheckSettings)
    values = vars(parser.parse_args(list(argv)))
    try:
        server = host_port_default(123)(values["server"])
    except ValueError as exc:
        fail(PROG, f"invalid HOST[:PORT] {values['server']!r}: {exc}")
    return server, settings_from(CheckSettings, values, os.environ, PROG)


def describe(stats: Any, server: HostPort) -> dict[str, Any]:
    """The answer's fields, named as ntpq and chronyc name them."""
    stratum = int(stats.stratum)
    leap = int(stats.leap)
    fields: dict[str, Any] = {
        "server": str(server),
        "leap": leap,
        "version": int(stats.version),
        "mode": int(stats.mode),
        "stratum": stratum,
        "refid": refid_text(stats.ref_id.to_bytes(4, "big"), stratum),
        "poll": int(stats.poll),
        "precision": int(stats.precision),
        "root_delay": stats.root_delay,
        "root_dispersion": stats.root_dispersion,
        "reference_time": iso_utc(stats.ref_time) if stats.ref_timestamp else None,
        "server_time": iso_utc(stats.tx_time),
        "offset": stats.offset,
        "delay": stats.delay,
    }
    if stratum == 0:
        code = int(stats.ref_id).to_bytes(4, "big").rstrip(b"\0")
        fields["kiss_code"] = code.decode("ascii", "replace")
    synchronised = leap != 3 and 1 <= stratum <= 15
    fields["synchronised"] = synchronised
    level = "info" if synchronised else "warning"
    return envelope("ntp.check", level, stats.dest_time, fields)


def main(argv: Sequence[str]) -> int:
    server, settings = _parse(argv)
    try:
        stats = ntplib.NTPClient().request(
            server.host, version=int(settings.version), port=server.port, timeout=settings.timeout
        )
    except (ntplib.NTPException, OSError) as exc:
        fields = {"server": str(server), "error": str(exc)}
        write_lines(fit(envelope("ntp.check_failed", "error", time.time(), fields)))
        return 1
    record = describe(stats, server)
    write_lines(fit(record))
    return 0 if record["synchronised"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
