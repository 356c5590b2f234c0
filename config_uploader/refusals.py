"""Refused requests, counted one by one and logged without flooding stdout.

The first refusal of a reason after a quiet spell is one ``config.rejected`` line with its
detail, so an operator hears of it at once; the refusals that follow within ``interval`` are
counted by source and written as one ``config.rejected_summary`` line per reason and interval
(like the syslog receiver's ``syslog.rate_limited``). 10,000 failed logins are 10,000 in the
``rejected_auth`` counter and a handful of lines.
"""

from __future__ import annotations

from bridge.logging import get_logger
from bridge.metrics import Counters
from bridge.summary import DropSummary

# Paths and details are cut so no event line nears the 16 KiB limit.
MAX_DETAIL = 2000


class Refusals:
    """``rejected_<reason>`` counters plus the lines that tell of them."""

    def __init__(self, counters: Counters, interval: float) -> None:
        self.counters = counters
        self.interval = interval
        self._quiet_until: dict[str, float] = {}
        self._summaries: dict[str, DropSummary] = {}
        self.log = get_logger()

    def refuse(self, reason: str, source_ip: str, path: str, detail: str, now: float) -> None:
        self.counters.incr(f"rejected_{reason}")
        if now >= self._quiet_until.get(reason, float("-inf")):
            self._quiet_until[reason] = now + self.interval
            self.log.warning(
                "config.rejected",
                reason=reason,
                source_ip=source_ip,
                path=path[:MAX_DETAIL],
                detail=detail[:MAX_DETAIL],
            )
            return
        summary = self._summaries.get(reason)
        if summary is None:
            summary = self._summaries[reason] = DropSummary(self.interval)
        summary.add(source_ip)
        self.flush(now)

    def flush(self, now: float, final: bool = False) -> None:
        """Write the summaries whose interval is over (all of them at shutdown)."""
        for reason, summary in self._summaries.items():
            if not final and now < self._quiet_until.get(reason, float("-inf")):
                continue
            fields = summary.due(now, force=True)
            if fields is not None:
                self._quiet_until[reason] = now + self.interval
                rejected = fields.pop("dropped")
                untracked = fields.pop("dropped_from_untracked_sources", None)
                if untracked is not None:
                    fields["from_untracked_sources"] = untracked
                self.log.warning(
                    "config.rejected_summary", reason=reason, rejected=rejected, **fields
                )
