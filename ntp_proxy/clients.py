"""Per-router time evidence (PCI DSS 10.6.1): what each client's requests say about its clock.

Every request carries the client's leap indicator, stratum, reference ID, poll and root
dispersion, and its transmit timestamp read on the client's clock: against the proxy's served
receive time that is the client's clock error, low by the one-way network delay. The hot path
only keeps each client's last header, its served receive time and a count (sans-IO, bounded);
the fields are read once per interval for one ``ntp.clients`` summary and per-router EMF, and
named routers that stop asking or start claiming to be unsynchronised are reported once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.guard import RouterNames
from bridge.output import iso_utc
from ntp_proxy.packet import STRATUM_UNSYNC, from_ntp, from_short, refid_text

MAX_CLIENTS = 4096
UNNAMED_IN_SUMMARY = 100  # clients without a --router name listed per summary (most recent)
# A transmit timestamp further than this from the served time is no clock reading: chronyd
# and other privacy-minded clients send a random one.
PLAUSIBLE_ERROR = 86_400.0
# A client of stratum 0 (SNTP, ntpdate: a Yamaha RTX) claims nothing about its clock; it counts
# as synchronised when its measured clock error is within this.
SNTP_TOLERANCE = 1.0


@dataclass(slots=True)
class Seen:
    """One client: its last request header, when it came (served clock), and counts."""

    header: bytes
    last: float
    requests: int = 0  # since the last summary
    total: int = 0
    signed_key: int | None = None


@dataclass
class ClientWarning:
    """A named router to warn about: ``ntp.client_silent`` or ``ntp.client_unsynchronised``."""

    event: str
    fields: dict[str, Any] = field(default_factory=dict)


def clock_error(seen: Seen) -> float | None:
    """The client's transmit time minus the served receive time, if it is a clock reading."""
    error = from_ntp(int.from_bytes(seen.header[40:48], "big"), seen.last) - seen.last
    return error if abs(error) < PLAUSIBLE_ERROR else None


def synchronised(seen: Seen) -> bool | None:
    """What the last request says of its sender's clock: claimed (LI != 3, stratum 1-15) by
    an NTP client; measured (clock error within SNTP_TOLERANCE) for a stratum 0 SNTP client;
    None when neither is possible (SNTP with a random transmit timestamp)."""
    header = seen.header
    if header[1] != 0:
        return header[0] >> 6 != 3 and header[1] < STRATUM_UNSYNC
    error = clock_error(seen)
    return None if error is None else abs(error) <= SNTP_TOLERANCE


class ClientTable:
    """The clients seen lately, at most ``max_clients`` (the least recent forgotten first)."""

    def __init__(self, names: RouterNames, silence: float, max_clients: int = MAX_CLIENTS) -> None:
        self.names = names
        self.silence = silence
        self.max_clients = max_clients
        self._seen: dict[str, Seen] = {}
        self._silent: set[str] = set()  # named routers already reported silent
        self._synced: dict[str, bool] = {}  # what each named router claimed at the last summary

    def observe(self, ip: str, request: bytes, served: float, signed_key: int | None) -> None:
        """A served request (hot path): ``served`` is the proxy's receive time as served."""
        seen = self._seen.pop(ip, None)
        if seen is None:
            if len(self._seen) >= self.max_clients:
                del self._seen[next(iter(self._seen))]
            seen = Seen(request[:48], served)
        seen.header, seen.last, seen.signed_key = request[:48], served, signed_key
        seen.requests += 1
        seen.total += 1
        self._seen[ip] = seen  # most recent last

    def summary(self, now: float, served_stratum: int) -> dict[str, dict[str, Any]]:
        """Per router (its name, or its address when unnamed): the evidence of this interval."""
        routers: dict[str, dict[str, Any]] = {}
        unnamed = 0
        for ip, seen in reversed(self._seen.items()):
            name = self.names.get(ip)
            if name is None:
                unnamed += 1
                if unnamed > UNNAMED_IN_SUMMARY:
                    continue
            routers[name or ip] = describe(ip, seen, served_stratum)
            seen.requests = 0
        return routers

    def warnings(self, now: float) -> list[ClientWarning]:
        """Named routers that went silent or started claiming to be unsynchronised."""
        found: list[ClientWarning] = []
        for ip, seen in self._seen.items():
            name = self.names.get(ip)
            if name is None:
                continue
            quiet = now - seen.last > self.silence
            if quiet and name not in self._silent:
                self._silent.add(name)
                found.append(
                    ClientWarning(
                        "ntp.client_silent",
                        {"router": name, "source_ip": ip, "last_request": iso_utc(seen.last)},
                    )
                )
            elif not quiet:
                self._silent.discard(name)
            synced = synchronised(seen) is not False
            if self._synced.get(name) and not synced:
                found.append(
                    ClientWarning(
                        "ntp.client_unsynchronised",
                        {"router": name, "source_ip": ip, **_claim(seen.header)},
                    )
                )
            self._synced[name] = synced
        return found


def _claim(header: bytes) -> dict[str, Any]:
    stratum = header[1]
    return {
        "leap": header[0] >> 6,
        "stratum": stratum,
        "refid": refid_text(header[12:16], stratum),
    }


def describe(ip: str, seen: Seen, served_stratum: int) -> dict[str, Any]:
    """The fields of one client, as the auditor's report reads them."""
    header = seen.header
    error = clock_error(seen)
    synced = synchronised(seen)
    return {
        "source_ip": ip,
        "last_request": iso_utc(seen.last),
        "requests": seen.requests,
        "requests_total": seen.total,
        **_claim(header),
        "poll": int.from_bytes(header[2:3], "big", signed=True),
        "root_dispersion": from_short(int.from_bytes(header[8:12], "big")),
        "synchronised": synced,
        "synchronised_to_proxy": bool(synced) and header[1] in (0, served_stratum + 1),
        "clock_error": None if error is None else round(error, 6),
        "authenticated_key": seen.signed_key,
    }


def router_metrics(fields: Mapping[str, Any]) -> dict[str, float]:
    """Per-router EMF values from a summary entry."""
    metrics = {
        "requests": float(fields["requests"]),
        "synchronised": 1.0 if fields["synchronised"] else 0.0,  # unknown counts as not
    }
    if fields["clock_error"] is not None:
        metrics["clock_error_seconds"] = float(fields["clock_error"])
    return metrics


ROUTER_UNITS = {"requests": "Count", "synchronised": "None", "clock_error_seconds": "Seconds"}
