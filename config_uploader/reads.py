"""The read API's answers from the store: routers, versions, one version (redacted unless
asked otherwise and allowed), the redacted diff between two versions, a router's remediation
and the fleet's compliance.

Each router's startup configurations are a history of their own (``?kind=startup``); they
are stored under a key the router list never shows (see ``compliance.kind.history_key``)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bridge.output import iso_utc
from config_uploader import diff as diffing
from config_uploader import identity, redact
from config_uploader.compliance.judge import Judge, fleet_summary
from config_uploader.compliance.kind import Kind, history_key, is_startup_key
from config_uploader.compliance.saved import SavedState
from config_uploader.desired import DesiredSource
from config_uploader.ingest import as_vendor
from config_uploader.normalise import decode, normalise
from config_uploader.store import RouterState, Store, VersionMeta, path_segment, version_id


def store_name(name: str) -> str | None:
    """The stored name for a name in a URL: canonical as identity makes it."""
    canonical = identity.canonical_name(name)
    return path_segment(canonical) if canonical else None


class Reads:
    """What ``GET /routers...`` shows; texts are redacted and diffed in a worker thread.

    A router silent for ``stale_after`` (``--stale-after``, as ``config.stale`` uses) is
    ``stale`` in its summary and in ``GET /compliance``."""

    def __init__(
        self,
        store: Store,
        judge: Judge | None,
        desired: DesiredSource | None,
        stale_after: float,
    ) -> None:
        self.store = store
        self.judge = judge
        self.desired = desired
        self.stale_after = stale_after

    async def router_summaries(self) -> list[dict[str, Any]]:
        now = time.time()
        return [self.summary_of(state, now) for state in await self.router_states()]

    async def router_states(self) -> list[RouterState]:
        """Every router's state, in the store's order (startup histories are not routers)."""
        out = []
        for router in await self.store.routers():
            if is_startup_key(router):
                continue
            state = await self.router_state(router)
            if state is not None:
                out.append(state)
        return out

    def summary_of(self, state: RouterState, now: float) -> dict[str, Any]:
        """One router's state as shown: times in ISO 8601, ``saved`` with ``overdue``."""
        summary = state.to_dict()
        summary["last_upload"] = iso_utc(state.last_upload)
        summary["stale"] = now - state.last_upload > self.stale_after
        if state.saved is not None and self.judge is not None:
            saved = SavedState.from_dict(state.saved)
            summary["saved"] = {
                **saved.to_dict(),
                "since": None if saved.since is None else iso_utc(saved.since),
                "overdue": saved.overdue(now, self.judge.unsaved_grace),
            }
        return summary

    async def router(self, name: str) -> dict[str, Any] | None:
        """``GET /routers/{name}``: the summary and the number of startup versions."""
        router = store_name(name)
        if router is None:
            return None
        state = await self.router_state(router)
        if state is None:
            return None
        summary = self.summary_of(state, time.time())
        startup = await self.store.latest(history_key(router, "startup"))
        summary["startup_versions"] = 0 if startup is None else startup.seq
        return summary

    async def compliance(self) -> dict[str, Any]:
        """``GET /compliance``: the fleet summary."""
        now = time.time()
        states = await self.router_states()
        stale = [s.router for s in states if now - s.last_upload > self.stale_after]
        grace = self.judge.unsaved_grace if self.judge is not None else 0.0
        summary = fleet_summary([s.to_dict() for s in states], now, grace, stale)
        summary["rules"] = self.judge.rules.source if self.judge and self.judge.rules else None
        return summary

    async def remediation(self, name: str, redacted: bool) -> dict[str, Any] | None:
        """``GET /routers/{name}/remediation`` for the latest running version; None when the
        router, its latest version or its desired config is missing."""
        if self.judge is None or self.desired is None:
            return None
        found = await self.read_version(name, "latest")
        if found is None:
            return None
        meta, data = found
        desired = await self.desired.get(meta.router)
        if desired is None or desired.data is None:
            return None
        kind = as_vendor(meta.vendor)
        judge = self.judge
        desired_data = desired.data

        def answer() -> dict[str, Any]:
            actual = normalise(decode(data)[0], kind)
            intended = normalise(decode(desired_data)[0], kind)
            return judge.remediation_answer(kind, intended, actual, redacted)

        body = await asyncio.to_thread(answer)
        return {"router": meta.router, "version": meta.version, "desired": desired.location, **body}

    async def router_state(self, router: str) -> RouterState | None:
        """The router's state; rebuilt from its latest version when the process was killed
        between the commit and the state."""
        state = await self.store.read_state(router)
        if state is not None:
            return state
        latest = await self.store.latest(router)
        if latest is None:
            return None
        return RouterState(router, latest.received_at, latest.version, True, None, latest.seq)

    async def versions(self, name: str, kind: Kind = "running") -> list[VersionMeta]:
        router = store_name(name)
        return [] if router is None else await self.store.versions(history_key(router, kind))

    async def read_version(
        self, name: str, version: str, kind: Kind = "running"
    ) -> tuple[VersionMeta, bytes] | None:
        router = store_name(name)
        if router is None:
            return None
        router = history_key(router, kind)
        if version == "latest":
            latest = await self.store.latest(router)
            if latest is None:
                return None
            version = latest.version
        return await self.store.read(router, version)

    @staticmethod
    async def redacted_text(data: bytes, kind: str) -> str:
        return await asyncio.to_thread(lambda: redact.redact(decode(data)[0], as_vendor(kind)))

    async def diff_versions(self, name: str, old: str | None, new: str | None) -> str | None:
        """Redacted diff between two versions (default: the latest and the one before)."""
        to = await self.read_version(name, new or "latest")
        if to is None:
            return None
        to_meta = to[0]
        if old is None:
            if to_meta.seq <= 1:
                return ""
            old = version_id(to_meta.seq - 1)
        frm = await self.read_version(name, old)
        if frm is None:
            return None
        return await asyncio.to_thread(_diff, frm, to)


def _diff(frm: tuple[VersionMeta, bytes], to: tuple[VersionMeta, bytes]) -> str:
    (from_meta, old), (to_meta, new) = frm, to
    return diffing.unified_diff(
        normalise(decode(old)[0], as_vendor(from_meta.vendor)),
        normalise(decode(new)[0], as_vendor(to_meta.vendor)),
        as_vendor(from_meta.vendor),
        as_vendor(to_meta.vendor),
        fromfile=f"{from_meta.router}/{from_meta.version}",
        tofile=f"{to_meta.router}/{to_meta.version}",
    )
