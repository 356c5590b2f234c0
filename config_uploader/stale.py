"""Routers that stopped uploading, sans-IO: drift is judged on upload, so a router that never
uploads again would otherwise look in sync for ever.

The routers expected to upload are those of the inventory and of ``--desired``; each check
(once per metrics interval, ``now`` passed in) yields, for every expected router whose last
upload is older than ``--stale-after`` (or that never uploaded since the watch began), one
``config.stale`` line that is also an EMF record: dimension ``router``, metric ``stale`` = 1,
with ``last_upload`` (null if none is known) and ``silent_seconds``. Bounded by the number of
expected routers, and only the stale ones cost a line; the service's ``stale_routers`` gauge
(in its EMF line) is what the CloudFormation alarm watches.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from bridge.metrics import emf_record
from bridge.output import iso_utc


class StaleWatch:
    def __init__(self, stale_after: float, started: float) -> None:
        self.stale_after = stale_after
        self.started = started
        self.expected: set[str] = set()
        self.last: dict[str, float] = {}

    def expect(self, routers: Iterable[str]) -> None:
        self.expected = set(routers)

    def uploaded(self, router: str, at: float) -> None:
        if at > self.last.get(router, float("-inf")):
            self.last[router] = at

    def stale(self, now: float) -> list[tuple[str, float | None]]:
        """(router, last upload or None) of every expected router silent for too long."""
        out = []
        for router in sorted(self.expected):
            last = self.last.get(router)
            since = self.started if last is None else last
            if now - since >= self.stale_after:
                out.append((router, last))
        return out

    def lines(self, now: float) -> list[bytes]:
        out = []
        for router, last in self.stale(now):
            record = emf_record(
                {"router": router},
                {"stale": 1.0},
                now,
                event="config.stale",
                units={"stale": "Count"},
            )
            record["level"] = "warning"
            record["last_upload"] = None if last is None else iso_utc(last)
            record["silent_seconds"] = None if last is None else round(now - last)
            record["stale_after"] = self.stale_after
            out.append(orjson.dumps(record) + b"\n")
        return out
