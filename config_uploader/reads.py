"""The read API's answers from the store: routers, versions, one version (redacted unless
asked otherwise and allowed), and the redacted diff between two versions."""

from __future__ import annotations

import asyncio
from typing import Any

from bridge.output import iso_utc
from config_uploader import diff as diffing
from config_uploader import identity, redact
from config_uploader.ingest import as_vendor
from config_uploader.normalise import decode, normalise
from config_uploader.store import RouterState, Store, VersionMeta, path_segment, version_id


def store_name(name: str) -> str | None:
    """The stored name for a name in a URL: canonical as identity makes it."""
    canonical = identity.canonical_name(name)
    return path_segment(canonical) if canonical else None


class Reads:
    """What ``GET /routers...`` shows; texts are redacted and diffed in a worker thread."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def router_summaries(self) -> list[dict[str, Any]]:
        return [
            {**state.to_dict(), "last_upload": iso_utc(state.last_upload)}
            for state in await self.router_states()
        ]

    async def router_states(self) -> list[RouterState]:
        """Every router's state, in the store's order."""
        out = []
        for router in await self.store.routers():
            state = await self.router_state(router)
            if state is not None:
                out.append(state)
        return out

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

    async def versions(self, name: str) -> list[VersionMeta]:
        router = store_name(name)
        return [] if router is None else await self.store.versions(router)

    async def read_version(self, name: str, version: str) -> tuple[VersionMeta, bytes] | None:
        router = store_name(name)
        if router is None:
            return None
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
