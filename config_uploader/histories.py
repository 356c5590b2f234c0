"""A router's histories (running and startup) as the ingest paths see them: the store, and
the normalised texts of their latest versions kept in memory.

Both :mod:`config_uploader.pipeline` (running configs) and :mod:`config_uploader.startup`
(startup configs) store an upload the same way, diff it against the latest version's text and
read the other kind's latest: this is where that is done once. Texts are kept split into lines
(:class:`TextCache`), so an upload splits only its own text, and a text read back from the
store (after a restart, or when it fell out of memory) is normalised again off the loop when
it is large.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from config_uploader import diff as diffing
from config_uploader.compliance.judge import Version
from config_uploader.ingest import Prepared, as_vendor, normalised_text
from config_uploader.normalise import decode
from config_uploader.store import (
    CommitResult,
    RouterState,
    Store,
    StoreError,
    VersionMeta,
    commit,
)

T = TypeVar("T")

# Uploads and stored texts up to this size are worked on on the event loop (about a
# millisecond); larger ones in a worker thread, so the loop keeps answering.
INLINE_BYTES = 256 * 1024
# Normalised texts of the latest versions kept in memory for the next diff; bounded in bytes
# (a 64 KiB config takes about 300 KiB, 440 KiB once all its lines were redacted).
CACHE_BYTES = 64 * 1024 * 1024


class TextCache:
    """Normalised texts (split into lines) by router, each under a key saying which content
    it is (a version id; a desired config's tag and vendor); LRU, bounded in total size (a
    text's size as it was put: the few lines later diffs redact in it are not counted)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, tuple[Hashable, diffing.Text, int]] = OrderedDict()
        self._bytes = 0

    def get(self, router: str, key: Hashable) -> diffing.Text | None:
        item = self._items.get(router)
        if item is None or item[0] != key:
            return None
        self._items.move_to_end(router)
        return item[1]

    def key_of(self, router: str) -> Hashable | None:
        item = self._items.get(router)
        return None if item is None else item[0]

    def put(self, router: str, key: Hashable, text: diffing.Text) -> None:
        old = self._items.pop(router, None)
        if old is not None:
            self._bytes -= old[2]
        size = text.size
        self._items[router] = (key, text, size)
        self._bytes += size
        while self._bytes > self.max_bytes and len(self._items) > 1:
            _, (_, _, dropped) = self._items.popitem(last=False)
            self._bytes -= dropped


class Histories:
    """The store and the latest texts of every history; one per ingest pipeline."""

    def __init__(self, store: Store, workers: int = 2) -> None:
        self.store = store
        self.texts = TextCache(CACHE_BYTES)
        self._workers = asyncio.Semaphore(workers)

    async def off_loop(self, heavy: bool, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` inline when it is light work, else in a worker thread (at most
        ``workers`` at a time)."""
        if not heavy:
            return fn(*args)
        async with self._workers:
            return await asyncio.to_thread(fn, *args)

    async def store_version(
        self,
        key: str,
        prepared: Prepared,
        make_meta: Callable[[str], VersionMeta],
        make_state: Callable[[VersionMeta, bool], RouterState],
        while_writing: Callable[[VersionMeta | None, VersionMeta], object],
    ) -> tuple[CommitResult, diffing.Text]:
        """Store the upload in history ``key`` and cache the stored version's normalised text
        (the one already stored, when nothing changed); both ingest paths end here."""
        result = await commit(
            self.store, key, prepared.upload.data, make_meta, make_state, while_writing
        )
        text = prepared.text
        if not result.changed:
            text = self.texts.get(key, result.meta.version) or text
        self.texts.put(key, result.meta.version, text)
        return result, text

    def cached(self, key: str, previous: VersionMeta | None) -> diffing.Text | None:
        """The text of version ``previous`` of history ``key`` if it is in memory."""
        return None if previous is None else self.texts.get(key, previous.version)

    async def latest_version(self, key: str) -> Version | None:
        """The latest version of a history with its normalised text (cached or re-read)."""
        latest = await self.store.latest(key)
        if latest is None:
            return None
        text = self.texts.get(key, latest.version)
        if text is None:
            found = await self.store.read(key, latest.version)
            if found is None:
                return None
            data = found[1]
            vendor = as_vendor(latest.vendor)
            text = await self.off_loop(
                len(data) > INLINE_BYTES, lambda: normalised_text(decode(data)[0], vendor)
            )
            self.texts.put(key, latest.version, text)
        return Version(latest.version, text)

    async def previous_text(self, result: CommitResult) -> diffing.Text | None:
        """The previous version's normalised text, re-read from the store."""
        previous = result.previous
        if previous is None:
            return None
        found = await self.store.read(previous.router, previous.version)
        if found is None:
            raise StoreError(f"version {previous.router}/{previous.version} disappeared")
        data, vendor = found[1], as_vendor(previous.vendor)
        return await self.off_loop(
            len(data) > INLINE_BYTES, lambda: normalised_text(decode(data)[0], vendor)
        )
