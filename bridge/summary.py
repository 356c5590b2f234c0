"""Per-interval summaries of drops, sans-IO: a flood yields one warning line, not one per drop.

The first drop after a quiet spell is reported at the next check, so an operator hears of it
promptly; after that at most one summary per interval says how many were dropped and from whom.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DropSummary"]

_TOP = 10


class DropSummary:
    """Drop counts by source since the last summary; at most ``max_sources`` sources kept."""

    __slots__ = ("_by_source", "_next", "_other", "_total", "interval", "max_sources")

    def __init__(self, interval: float, max_sources: int = 1024) -> None:
        self.interval = interval
        self.max_sources = max_sources
        self._by_source: dict[str, int] = {}
        self._total = 0
        self._other = 0
        self._next = float("-inf")

    def add(self, source: str, n: int = 1) -> None:
        self._total += n
        by_source = self._by_source
        if source in by_source:
            by_source[source] += n
        elif len(by_source) < self.max_sources:
            by_source[source] = n
        else:
            self._other += n  # still counted in the total; only the breakdown is bounded

    def due(self, now: float, force: bool = False) -> dict[str, Any] | None:
        """The summary's fields if there were drops and one may be written now, else None.

        ``force`` is for the last summary at shutdown, which must not be held back.
        """
        if not self._total or (now < self._next and not force):
            return None
        top = sorted(self._by_source.items(), key=lambda item: item[1], reverse=True)[:_TOP]
        fields: dict[str, Any] = {
            "dropped": self._total,
            "sources": len(self._by_source),
            "top_sources": dict(top),
        }
        if self._other:
            fields["dropped_from_untracked_sources"] = self._other
        self._by_source = {}
        self._total = 0
        self._other = 0
        self._next = now + self.interval
        return fields
