"""The served clock: local time plus the filtered upstream offset, and whether it may be trusted.

A container cannot set the system clock, so the proxy keeps an offset instead. A sample further
than ``max_offset`` from the local clock is rejected outright (the host clock is disciplined by
the same service, so such a sample means a broken or hostile upstream). Each upstream has an NTP
clock filter (the last eight poll rounds; the sample with the lowest delay wins, since queueing
only ever adds delay and asymmetric delay is what corrupts an offset). Of the upstreams that
answered lately, only those whose correctness intervals agree with a majority's
(:mod:`ntp_proxy.selection`) may be selected, the first of them in order of preference, so one
falseticker cannot move the served time. The clock is synchronised only until
``max_holdover`` seconds have passed without a fresh valid sample. State changes come
back as events for the caller to log, so this module reads no clock and writes nothing.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ntp_proxy.exchange import PHI, Sample
from ntp_proxy.packet import LEAP_UNSYNC, STRATUM_UNSYNC, to_ntp
from ntp_proxy.selection import truechimers

FILTER_ROUNDS = 8
REACH_ROUNDS = 4
INIT_REFID = b"INIT"


class ClockFilter:
    """The samples of the last ``rounds`` polls of one upstream (None for a missed poll)."""

    def __init__(self, rounds: int = FILTER_ROUNDS) -> None:
        self._slots: deque[Sample | None] = deque(maxlen=rounds)

    def add(self, sample: Sample | None) -> None:
        self._slots.append(sample)

    def best(self) -> Sample | None:
        """The lowest-delay sample still in the window."""
        samples = [s for s in self._slots if s is not None]
        return min(samples, key=lambda s: s.delay) if samples else None

    def latest(self) -> Sample | None:
        return self._slots[-1] if self._slots else None

    def reachable(self, rounds: int = REACH_ROUNDS) -> bool:
        """Whether any of the last ``rounds`` polls gave a valid sample."""
        recent = list(self._slots)[-rounds:]
        return any(s is not None for s in recent)

    def jitter(self) -> float:
        """RMS of the other samples' offsets about the best one (RFC 5905 peer jitter)."""
        best = self.best()
        others = [s for s in self._slots if s is not None and s is not best]
        if best is None or not others:
            return 0.0
        return math.sqrt(sum((s.offset - best.offset) ** 2 for s in others) / len(others))


@dataclass(frozen=True, slots=True)
class Event:
    """Something to log once: ``synchronised``, ``unsynchronised``, ``upstream_switched``,
    ``offset_rejected``, ``falseticker``, ``truechimer`` (``ntp.`` + name, at ``level``)."""

    name: str
    fields: dict[str, object] = field(default_factory=dict)
    level: str = "info"


class Clock:
    """What the responder needs per request, refreshed once per poll round."""

    def __init__(
        self,
        upstreams: Sequence[str],
        max_holdover: float,
        max_offset: float = 0.0,
        holdovers: Sequence[float] | None = None,
    ) -> None:
        """``holdovers``: per upstream, when shorter than ``max_holdover`` (a source such as
        ecs-metadata that vouches only for the moment it was read)."""
        if not upstreams:
            raise ValueError("at least one upstream")
        self.upstreams = tuple(upstreams)
        self.max_holdover = max_holdover
        self.holdovers = tuple(holdovers or [max_holdover] * len(self.upstreams))
        self.max_offset = max_offset  # 0: no limit
        self.filters = [ClockFilter() for _ in self.upstreams]
        self.selected: int | None = None
        self.falsetickers: set[int] = set()
        # Served fields; these defaults are what RFC 5905 prescribes before the first sample.
        self.offset = 0.0
        self.leap = LEAP_UNSYNC
        self.stratum = STRATUM_UNSYNC
        self.refid = INIT_REFID
        self.root_delay = 0.0
        self.base_dispersion = 0.0
        self.updated: float | None = None
        self.reference = 0
        self.valid_until = -math.inf
        self._synchronised = False
        self._withdrawn: str | None = None

    # -- per poll round --------------------------------------------------------------------

    def end_round(self, results: Sequence[Sample | None], now: float) -> list[Event]:
        """Feed one poll round (a sample or None per upstream, in order); return changes."""
        if len(results) != len(self.filters):
            raise ValueError("one result per upstream")
        events: list[Event] = []
        results = [self._sane(sample, events) for sample in results]
        for flt, sample in zip(self.filters, results, strict=True):
            flt.add(sample)
        choice = self._select(now, events)
        if choice is not None and choice != self.selected:
            previous = None if self.selected is None else self.upstreams[self.selected]
            current = self.upstreams[choice]
            events.append(Event("upstream_switched", {"previous": previous, "upstream": current}))
            self.selected = choice
        if choice is not None and results[choice] is not None:
            self._apply(choice, now)
        events.extend(self.check(now))
        return events

    def _sane(self, sample: Sample | None, events: list[Event]) -> Sample | None:
        """The sample, or None (and a warning) when it is further off than ``max_offset``."""
        if sample is None or not self.max_offset or abs(sample.offset) <= self.max_offset:
            return sample
        fields: dict[str, object] = {
            "upstream": sample.upstream,
            "offset": sample.offset,
            "limit": self.max_offset,
        }
        events.append(Event("offset_rejected", fields, "warning"))
        return None

    def _select(self, now: float, events: list[Event]) -> int | None:
        """The most preferred reachable upstream among the truechimers, if there is a majority."""
        candidates: list[int] = []
        intervals: list[tuple[float, float]] = []
        for index, flt in enumerate(self.filters):
            best = flt.best()
            if best is None or not flt.reachable():
                continue
            reach = best.root_distance + PHI * max(now - best.taken, 0.0) + flt.jitter()
            candidates.append(index)
            intervals.append((best.offset - reach, best.offset + reach))
        agreeing = {candidates[i] for i in truechimers(intervals)}
        falsetickers = set(candidates) - agreeing
        for index in sorted(falsetickers ^ self.falsetickers):
            best = self.filters[index].best()
            fields: dict[str, object] = {
                "upstream": self.upstreams[index],
                "offset": None if best is None else best.offset,
            }
            if index in falsetickers:
                events.append(Event("falseticker", fields, "warning"))
            elif index in candidates:
                events.append(Event("truechimer", fields))
        self.falsetickers = falsetickers
        return next((i for i in candidates if i in agreeing), None)

    def _apply(self, index: int, now: float) -> None:
        flt = self.filters[index]
        best = flt.best()
        latest = flt.latest()
        assert best is not None and latest is not None
        self.offset = best.offset
        self.leap = latest.leap
        self.stratum = min(latest.stratum + 1, STRATUM_UNSYNC)
        self.refid = latest.refid
        self.root_delay = latest.root_delay + best.delay
        self.base_dispersion = (
            latest.root_dispersion + best.dispersion + PHI * max(now - best.taken, 0.0)
        )
        self.updated = now
        self.reference = to_ntp(now + self.offset)
        if self.stratum < STRATUM_UNSYNC and self.leap != LEAP_UNSYNC:
            self.valid_until = now + min(self.max_holdover, self.holdovers[index])
        else:
            self.valid_until = -math.inf

    def withdraw(self, index: int, now: float, reason: str) -> list[Event]:
        """The selected upstream says its time is not good now: unsynchronised at once."""
        if index != self.selected or not self.synchronised(now):
            return []
        self.valid_until = -math.inf
        self._withdrawn = f"{self.upstreams[index]}: {reason}"
        return self.check(now)

    def check(self, now: float) -> list[Event]:
        """Events for a change of synchronisation since the last call (holdover expiry)."""
        synchronised = self.synchronised(now)
        if synchronised == self._synchronised:
            return []
        self._synchronised = synchronised
        if synchronised:
            return [Event("synchronised", self.describe(now))]
        reason = "holdover expired" if self.updated is not None else "no valid sample"
        reason, self._withdrawn = self._withdrawn or reason, None
        return [Event("unsynchronised", {"reason": reason, **self.describe(now)}, "warning")]

    # -- per request -----------------------------------------------------------------------

    def synchronised(self, now: float) -> bool:
        return now <= self.valid_until

    def root_dispersion(self, now: float) -> float:
        """Grows by PHI per second since the last update: the holdover error bound."""
        if self.updated is None:
            return self.base_dispersion
        return self.base_dispersion + PHI * max(now - self.updated, 0.0)

    def describe(self, now: float) -> dict[str, object]:
        return {
            "upstream": None if self.selected is None else self.upstreams[self.selected],
            "offset": self.offset,
            "stratum": self.stratum if self.synchronised(now) else STRATUM_UNSYNC,
            "root_delay": self.root_delay,
            "root_dispersion": self.root_dispersion(now),
            "since_update": None if self.updated is None else now - self.updated,
        }


class TransmitDelay:
    """How long a reply takes to leave after its transmit timestamp is read (sans-IO).

    The server reads the clock, packs and sends; the kernel stamps sampled datagrams as they
    leave. A low quantile of the recent differences (the warm path that replies under load
    take) is added to every transmit timestamp, so replies carry the time they left rather
    than the time they were packed. Differences outside 0..``max_delay`` (a preempted
    process) are discarded.
    """

    def __init__(self, window: int = 31, max_delay: float = 100e-6) -> None:
        self.value = 0.0
        self.max_delay = max_delay
        self._delays: deque[float] = deque(maxlen=window)
        self._pending: dict[bytes, float] = {}

    def sent(self, tag: bytes, read: float) -> None:
        """A stamped send of a datagram ending in ``tag``, timestamped from clock ``read``."""
        self._pending[tag] = read
        if len(self._pending) > 64:  # stamps that never came back (a driver without them)
            del self._pending[next(iter(self._pending))]

    @property
    def awaiting(self) -> bool:
        return bool(self._pending)

    def stamped(self, tag: bytes, left: float) -> None:
        """The kernel says the datagram ending in ``tag`` left at ``left``."""
        read = self._pending.pop(tag, None)
        if read is None:
            return
        delay = left - read
        if 0.0 <= delay <= self.max_delay:
            self._delays.append(delay)
            self.value = sorted(self._delays)[len(self._delays) // 10]


def measure_precision(read: Callable[[], float], reads: int = 2000) -> int:
    """log2 of the local clock's precision: its resolution or the cost of a read, if larger.

    This is what ntpd and chronyd measure at start and advertise in the precision field.
    """
    values = [read() for _ in range(reads)]
    steps = [b - a for a, b in itertools.pairwise(values) if b > a]
    resolution = min(steps) if steps else 1.0
    cost = (values[-1] - values[0]) / (reads - 1)
    return max(-30, min(0, math.ceil(math.log2(max(resolution, cost, 2.0**-30)))))
