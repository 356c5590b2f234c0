"""Per-router config evidence, sans-IO: the ``config.evidence`` line of each interval.

Uploads are rare (a router uploads on change and daily), so the per-upload events say what
happened and this table says how things stand: for every router the store knows, its last
upload, how long ago, its latest version, its drift verdict, and the uploads and changes of
the interval. It is seeded from the store at start, so a restarted task still lists every
router, and a router that stops uploading shows a growing ``since_upload``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bridge.output import iso_utc
from config_uploader.store import RouterState

__all__ = ["MAX_ROUTERS", "ConfigEvidence"]

MAX_ROUTERS = 4096


@dataclass
class _Router:
    last_upload: float
    version: str
    drift: bool | None
    uploads: int = 0
    changes: int = 0


class ConfigEvidence:
    """The table; names are the store's, at most ``max_routers`` of them (then counted)."""

    def __init__(self, max_routers: int = MAX_ROUTERS) -> None:
        self.max_routers = max_routers
        self.routers: dict[str, _Router] = {}
        self.untracked_uploads = 0

    def seed(self, states: Iterable[RouterState]) -> None:
        for state in states:
            if len(self.routers) < self.max_routers:
                self.routers[state.router] = _Router(
                    state.last_upload, state.last_version, state.drift
                )

    def record(
        self, router: str, at: float, version: str, changed: bool, drift: bool | None
    ) -> None:
        entry = self.routers.get(router)
        if entry is None:
            if len(self.routers) >= self.max_routers:
                self.untracked_uploads += 1
                return
            entry = self.routers[router] = _Router(at, version, drift)
        entry.last_upload = max(entry.last_upload, at)
        entry.version = version
        entry.drift = drift
        entry.uploads += 1
        entry.changes += changed

    def summary(self, now: float) -> dict[str, Any]:
        """Every router's fields; the interval's counts start again."""
        routers = {}
        for name, entry in self.routers.items():
            routers[name] = {
                "last_upload": iso_utc(entry.last_upload),
                "since_upload": round(max(0.0, now - entry.last_upload), 3),
                "version": entry.version,
                "drift": entry.drift,
                "uploads": entry.uploads,
                "changes": entry.changes,
            }
            entry.uploads = entry.changes = 0
        untracked, self.untracked_uploads = self.untracked_uploads, 0
        return {"routers": routers, "untracked_uploads": untracked}
