"""Per-router log evidence, sans-IO: what PCI DSS 10.3.3 and 10.6 ask of each router's logs.

The syslog receiver calls :meth:`LogEvidence.observe` for every message it emits and
:meth:`LogEvidence.summary` once per ``--metrics-interval``; the summary becomes one
``syslog.evidence`` line (split into parts only when a large fleet would not fit 16 KiB), so
the evidence costs a few lines per interval whatever the message rate. ``edge-bridge report``
folds per-message lines through the same table, so both paths give the same numbers: that is
why it lives in bridge/ and not in the receiver.

Per router: first and last message seen since the receiver started (the last one is what
"routers without logs" is about), messages by severity in the interval, and clock skew: the
router's own timestamp minus the time the message arrived, median and worst of the interval.
A skew of minutes means the router's clock is off (an NTP finding) or that it stamps local time
without a zone; second-resolution stamps (RFC 3164, Cisco) read up to 1 s behind.

Memory is bounded: at most ``max_routers`` routers (named ones always fit, as they are
created up front) and ``SKEW_SAMPLES`` skew samples per router per interval (the latest ones),
taken at most every ``SKEW_EVERY`` seconds per router. Messages from sources past the bound
are counted, not itemised.
"""

from __future__ import annotations

import datetime
import statistics
from collections.abc import Iterable
from typing import Any

from bridge.output import iso_utc

__all__ = [
    "ROUTER_UNITS",
    "SKEW_EVERY",
    "SKEW_SAMPLES",
    "LogEvidence",
    "RouterLog",
    "epoch",
    "router_metrics",
    "skew_of",
]

SKEW_SAMPLES = 1024
_SEVERITIES = (None, 0, 1, 2, 3, 4, 5, 6, 7)
# A clock's offset moves slowly: one skew sample per router per this many seconds is plenty,
# and parsing every message's timestamp would cost the hot path a third of a microsecond more.
SKEW_EVERY = 0.1
MAX_ROUTERS = 4096


def epoch(text: Any) -> float | None:
    """ISO 8601 (``Z`` or an offset; naive taken as UTC) -> Unix seconds; None if not a time."""
    if not isinstance(text, str):
        return None
    try:
        stamp = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=datetime.UTC)
    return stamp.timestamp()


def skew_of(timestamp: Any, received_at: float) -> float | None:
    """The router's timestamp (ISO 8601) minus the arrival time, in seconds; None if unusable."""
    stamp = epoch(timestamp)
    return None if stamp is None else stamp - received_at


class RouterLog:
    """One router's evidence: cumulative first/last, and the current interval's counts."""

    __slots__ = (
        "by_severity",
        "first",
        "last",
        "messages",
        "next_skew",
        "skew_count",
        "skew_worst",
        "skews",
        "source_ip",
    )

    def __init__(self, source_ip: str | None) -> None:
        self.source_ip = source_ip
        self.first: float | None = None
        self.last = float("-inf")  # no message yet
        self.messages = 0
        self.by_severity: dict[int | None, int] = dict.fromkeys(_SEVERITIES, 0)
        self.skews: list[float] = []
        self.skew_count = 0
        self.skew_worst: float | None = None
        self.next_skew = float("-inf")

    def sample(self, timestamp: Any, received_at: float) -> None:
        skew = skew_of(timestamp, received_at)
        if skew is None:
            return
        skews = self.skews
        if len(skews) < SKEW_SAMPLES:
            skews.append(skew)
        else:
            skews[self.skew_count % SKEW_SAMPLES] = skew  # a ring of the latest samples
        self.skew_count += 1
        worst = self.skew_worst
        if worst is None or abs(skew) > abs(worst):
            self.skew_worst = skew

    def take(self, now: float) -> dict[str, Any]:
        """The interval's fields (and the cumulative first/last); starts the next interval."""
        last = None if self.first is None else self.last
        fields: dict[str, Any] = {
            "source_ip": self.source_ip,
            "first": None if self.first is None else iso_utc(self.first),
            "last": None if last is None else iso_utc(last),
            "silent_for": None if last is None else round(max(0.0, now - last), 3),
            "messages": self.messages,
            "by_severity": {
                ("none" if key is None else str(key)): count
                for key, count in sorted(self.by_severity.items(), key=_severity_order)
                if count
            },
            "skew_median": round(statistics.median(self.skews), 3) if self.skews else None,
            "skew_worst": None if self.skew_worst is None else round(self.skew_worst, 3),
            "skew_samples": self.skew_count,
        }
        self.messages = 0
        self.by_severity = dict.fromkeys(_SEVERITIES, 0)
        self.skews = []
        self.skew_count = 0
        self.skew_worst = None
        return fields


def _severity_order(item: tuple[int | None, int]) -> int:
    return -1 if item[0] is None else item[0]


class LogEvidence:
    """The per-router table of one receiver: keyed by router name, or by address if unnamed."""

    def __init__(
        self, named: Iterable[tuple[str, str]] = (), max_routers: int = MAX_ROUTERS
    ) -> None:
        self.routers: dict[str, RouterLog] = {}
        for ip, name in named:
            self.routers.setdefault(name, RouterLog(ip))
        self.max_routers = max(max_routers, len(self.routers))
        self.untracked = 0  # messages from sources past the bound, this interval

    def observe(
        self,
        router: str | None,
        source_ip: str,
        severity: int | None,
        timestamp: Any,
        received_at: float,
    ) -> None:
        key = router or source_ip
        entry = self.routers.get(key)
        if entry is None:
            if len(self.routers) >= self.max_routers:
                self.untracked += 1
                return
            entry = self.routers[key] = RouterLog(source_ip)
        # RouterLog's bookkeeping, inline: this runs once per message on the hot path.
        if received_at > entry.last:  # messages of one read share their arrival time
            entry.last = received_at
            if entry.first is None:
                entry.first = received_at
        elif entry.first is not None and received_at < entry.first:  # files out of order
            entry.first = received_at
        entry.messages += 1
        try:
            entry.by_severity[severity] += 1
        except KeyError:  # not a syslog severity: counted all the same
            entry.by_severity[severity] = 1
        if timestamp is not None and received_at >= entry.next_skew:
            entry.next_skew = received_at + SKEW_EVERY
            entry.sample(timestamp, received_at)

    def summary(self, now: float) -> dict[str, Any]:
        """Every router's fields for the interval ending ``now``."""
        routers = {name: entry.take(now) for name, entry in self.routers.items()}
        untracked, self.untracked = self.untracked, 0
        return {"routers": routers, "untracked_messages": untracked}


# The EMF metrics of a router's summary fields, and their units.
ROUTER_UNITS = {"messages": "Count", "silent_for": "Seconds", "skew_worst": "Seconds"}


def router_metrics(fields: dict[str, Any]) -> dict[str, float]:
    """A router's EMF values: messages this interval, silence so far, worst clock skew."""
    metrics: dict[str, float] = {"messages": float(fields["messages"])}
    if fields["silent_for"] is not None:
        metrics["silent_for"] = float(fields["silent_for"])
    if fields["skew_worst"] is not None:
        metrics["skew_worst"] = float(fields["skew_worst"])
    return metrics
