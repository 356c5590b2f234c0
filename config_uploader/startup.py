"""Startup (saved) configurations: their own history per router, and the saved/unsaved verdict.

A router comes back from a reload with its startup configuration, so a running config that
differs from it is a change that a reload would lose (PCI DSS 1.2.8). Routers upload both kinds
(``?kind=startup`` or a ``-startup`` file name); a startup upload joins the router's startup
history (:func:`~config_uploader.compliance.kind.history_key`) and is judged against the
latest running config, and each running upload is judged against the latest startup config
(:mod:`config_uploader.pipeline`). :class:`SavedVerdicts` keeps what both paths share: each
router's saved state between uploads, and the ``config.saved``/``config.unsaved`` lines and
counters. A Junos commit is its saved configuration too, so Junos has no startup history.
"""

from __future__ import annotations

import dataclasses
import time

from bridge.metrics import Counters
from config_uploader import diff as diffing
from config_uploader.compliance.judge import Judge, Judged, Version
from config_uploader.compliance.kind import COMMIT_IS_BOTH, history_key
from config_uploader.compliance.saved import UNKNOWN, SavedState
from config_uploader.histories import Histories
from config_uploader.ingest import IngestResult, Prepared, change_diff, judged_lines, outcome_lines
from config_uploader.store import RouterState, StoreError, VersionMeta


def is_startup(prepared: Prepared) -> bool:
    """A startup configuration, kept in its own history (a Junos commit is running too)."""
    return prepared.kind == "startup" and prepared.vendor not in COMMIT_IS_BOTH


class SavedVerdicts:
    """Each router's saved state (running against startup) as the uploads leave it."""

    def __init__(self, histories: Histories, judge: Judge, counters: Counters) -> None:
        self.histories = histories
        self.judge = judge
        self.counters = counters
        self.unsaved: dict[str, SavedState] = {}
        """Routers whose running and startup configs differ, for the periodic metric."""

    async def before(
        self, router: str, other: Version | None, text: diffing.Text | None
    ) -> SavedState:
        """The router's saved state before this upload: from memory, or, when the two kinds
        differ now and memory has nothing (a restarted task), from the stored state, so an
        unsaved router keeps the time it became unsaved."""
        known = self.unsaved.get(router)
        if known is not None:
            return known
        if other is None or text is None or other.text.text == text.text:
            return UNKNOWN
        state = await self.histories.store.read_state(router)
        return SavedState.from_dict(state.saved if state is not None else None)

    def lines(self, router: str, judged: Judged, state: SavedState, now: float) -> list[bytes]:
        """The verdict's event and metric lines; the state is remembered for the next one."""
        if state.state == "unsaved":
            self.unsaved[router] = state
        else:
            self.unsaved.pop(router, None)
        for event in judged.events:
            self.counters.incr("saved" if event.name == "config.saved" else "unsaved")
        return judged_lines(judged, now)

    def overdue(self, now: float) -> int:
        """How many routers have been unsaved for longer than the grace period."""
        grace = self.judge.unsaved_grace
        return sum(state.overdue(now, grace) for state in self.unsaved.values())

    async def commit(self, prepared: Prepared, out: list[bytes]) -> IngestResult:
        """Store a startup configuration in its own history, then judge it against the latest
        running configuration (the verdict is recorded in the router's state); the event
        lines go to ``out``. Called under the router's lock."""
        histories = self.histories
        router, kind, new = prepared.router, prepared.vendor, prepared.text
        key = history_key(router, "startup")
        received_at = prepared.upload.received_at

        def make_meta(version: str) -> VersionMeta:
            return dataclasses.replace(prepared.meta, router=key, version=version)

        def make_state(meta: VersionMeta, changed: bool) -> RouterState:
            return RouterState(key, received_at, meta.version, changed, None, meta.seq)

        def while_writing(previous: VersionMeta | None, meta: VersionMeta) -> str | None:
            return change_diff(previous, histories.cached(key, previous), meta, new)

        result, new = await histories.store_version(
            key, prepared, make_meta, make_state, while_writing
        )
        meta = result.meta
        now = time.time()
        change = result.prepared if isinstance(result.prepared, str) else None
        if result.changed and change is None and result.previous is not None:
            change = change_diff(result.previous, await histories.previous_text(result), meta, new)
        self.counters.incr("changed" if result.changed else "unchanged")
        out += outcome_lines(meta, result.changed, result.previous, change, None, None, "", now)
        startup = Version(meta.version, new)
        running = await histories.latest_version(router)
        store = histories.store
        state = await store.read_state(router) if running is not None else None
        previous = await self.before(router, startup, running.text if running else None)
        judged, saved = self.judge.saved(router, kind, previous, running, startup, now)
        out += self.lines(router, judged, saved, now)
        if state is not None:
            await store.write_state(dataclasses.replace(state, saved=judged.state))
        if result.state_error is not None:
            raise StoreError(result.state_error)
        return IngestResult(router, meta.version, result.changed, None)
