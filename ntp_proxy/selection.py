"""Which upstreams agree: the intersection of correctness intervals (RFC 5905 section 11.2.1).

Each upstream's offset lies, if the upstream tells the truth, within its root distance of what
it measured: a correctness interval. The intersection algorithm (Marzullo's, as ntpd runs it)
finds the smallest number of falsetickers f for which n - f intervals, a majority, share a
range; the upstreams whose intervals contain that whole range are the truechimers (chrony's
rule), and the rest must not move the served time. Two upstreams that disagree have no
majority, so neither can be trusted (chrony does the same); one is its own majority.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Interval = tuple[float, float]  # (lowest, highest) offset the upstream can be telling the truth


def intersection(intervals: Sequence[Interval]) -> Interval | None:
    """The range a majority of the intervals share, allowing as few falsetickers as can be.

    For f = 0, 1, ... while n - f is a majority: sweep the sorted edges from below to the first
    point inside n - f intervals, and from above likewise; if those do not cross, that range.
    """
    count = len(intervals)
    edges = sorted([(low, -1) for low, _ in intervals] + [(high, 1) for _, high in intervals])
    for falsetickers in range((count + 1) // 2):
        needed = count - falsetickers
        low = _first_point(edges, needed, upward=True)
        high = _first_point(reversed(edges), needed, upward=False)
        if low is not None and high is not None and low <= high:
            return low, high
    return None


def _first_point(edges: Iterable[tuple[float, int]], needed: int, upward: bool) -> float | None:
    """The first edge, in sweep order, at which ``needed`` intervals are open."""
    inside = 0
    for value, kind in edges:
        inside += -kind if upward else kind
        if inside >= needed:
            return value
    return None


def truechimers(intervals: Sequence[Interval]) -> list[int]:
    """Indexes of the intervals that contain the majority's whole intersection."""
    shared = intersection(intervals)
    if shared is None:
        return []
    low, high = shared
    return [i for i, (lo, hi) in enumerate(intervals) if lo <= low and hi >= high]
