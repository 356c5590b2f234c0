"""Running versus startup: would a reload lose a change (PCI DSS v4.0 1.2.8)?

A router that is changed but not saved runs a configuration it will not come back with after
a reload, and the saved file is then no longer "consistent with the active configuration". The
state of a router is the comparison of its latest running and latest startup uploads, both
normalised (so banners and timestamps do not count). A change being made is not yet a finding:
the router is *overdue* only once it has been unsaved for longer than a grace period, and that
is what the ``unsaved`` metric and its alarm report.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

State = Literal["saved", "unsaved", "unknown"]


@dataclass(frozen=True, slots=True)
class SavedState:
    """One router's running-versus-startup verdict, kept with its state in the store."""

    state: State
    """``unknown`` until both a running and a startup configuration have been uploaded."""
    running: str | None = None
    """The version id of the latest running upload."""
    startup: str | None = None
    """The version id of the latest startup upload."""
    since: float | None = None
    """When the router became unsaved (the first upload that made the two differ)."""

    def overdue(self, now: float, grace: float) -> bool:
        """Unsaved for at least ``grace`` seconds: a finding, no longer a change in progress."""
        return self.state == "unsaved" and self.since is not None and now - self.since >= grace

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "running": self.running,
            "startup": self.startup,
            "since": self.since,
        }

    @classmethod
    def from_dict(cls, data: object) -> SavedState:
        """The inverse of :meth:`to_dict`; anything unreadable is ``unknown``."""
        if not isinstance(data, dict):
            return UNKNOWN
        state = data.get("state")
        since = data.get("since")
        running, startup = data.get("running"), data.get("startup")
        if state not in ("saved", "unsaved", "unknown"):
            return UNKNOWN
        return cls(
            state,
            running if isinstance(running, str) else None,
            startup if isinstance(startup, str) else None,
            float(since) if isinstance(since, int | float) else None,
        )


UNKNOWN = SavedState("unknown")


def compare(
    previous: SavedState,
    running: str | None,
    startup: str | None,
    same: bool | None,
    now: float,
) -> SavedState:
    """The state after an upload: ``running``/``startup`` are the latest version ids of each
    kind, ``same`` whether their normalised texts are equal (None when either is missing).
    An unsaved router keeps the time it first became unsaved, however many uploads follow."""
    if running is None or startup is None or same is None:
        return SavedState("unknown", running, startup)
    if same:
        return SavedState("saved", running, startup)
    since = previous.since if previous.state == "unsaved" and previous.since is not None else now
    return replace(previous, state="unsaved", running=running, startup=startup, since=since)
