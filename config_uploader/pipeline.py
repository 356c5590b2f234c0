"""The one ingest pipeline: the asyncio adapter around :mod:`config_uploader.ingest`.

For each upload: :func:`~config_uploader.ingest.prepare` (decode, detect, normalise, name);
then, holding that router's lock, look up the desired config and commit the upload to the
store (unchanged when its normalised text equals the latest version's) together with the
router's state; while the store's thread waits for the disk, the upload is diffed against the
previous version and the desired config. The store keeps the original bytes; the lines written
to stdout passed through the redactor (the diffs print redacted lines).

What keeps an upload cheap (a 64 KiB config costs about 0.6 ms of CPU besides HTTP and the
disk, measured by ``bench/config_upload.py``): the normalised texts of each router's latest
version and desired config are kept split into lines (:class:`TextCache`), so each upload
splits one text; the desired config is read and normalised again only when its file or
object changes; vendor detection is remembered per config head (:class:`VendorMemo`); the
store is reached by one thread hop; and an upload's events go out in one write.

What keeps the loop free: an upload larger than :data:`INLINE_BYTES` is prepared and diffed in
a worker thread, at most ``workers`` at a time, so ``/healthz`` and small uploads are answered
meanwhile; the caps in :mod:`config_uploader.body` bound what one such upload can cost.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from bridge.metrics import Counters
from bridge.stdout import write_lines
from config_uploader import diff as diffing
from config_uploader import vendor
from config_uploader.body import Shape, decode_body, is_gzip
from config_uploader.compliance.judge import Judge, Judged, Version
from config_uploader.compliance.kind import COMMIT_IS_BOTH, history_key
from config_uploader.compliance.saved import UNKNOWN, SavedState
from config_uploader.desired import DesiredSource
from config_uploader.evidence import ConfigEvidence
from config_uploader.ingest import (
    MAX_ERROR,
    IngestResult,
    Intended,
    NameRouter,
    Prepared,
    Upload,
    as_vendor,
    change_diff,
    drift_diff,
    judged_lines,
    normalised_text,
    outcome_lines,
    prepare,
    redact_for,
)
from config_uploader.normalise import decode
from config_uploader.store import (
    CommitResult,
    RouterLocks,
    RouterState,
    Store,
    StoreError,
    VersionMeta,
    commit,
)
from config_uploader.vendor import Vendor

T = TypeVar("T")

# The vendors of the config heads seen last: a router's next upload almost always starts as the
# last one did, and a dict lookup costs a tenth of detection. 1024 heads of 8 KiB at most.
DETECTED_HEADS = 1024
# Normalised texts of the latest versions kept in memory for the next diff, and of the desired
# configs for the next drift check; bounded in bytes (a 64 KiB config takes about 300 KiB).
CACHE_BYTES = 64 * 1024 * 1024
DESIRED_CACHE_BYTES = 32 * 1024 * 1024
# Uploads up to this size are prepared on the event loop (about a millisecond); larger ones in
# a worker thread, so the loop keeps answering.
INLINE_BYTES = 256 * 1024


class TextCache:
    """Normalised texts (split into lines) by router, each under a key saying which content
    it is (a version id; a desired config's tag and vendor); LRU, bounded in total size."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, tuple[Hashable, diffing.Text]] = OrderedDict()
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
            self._bytes -= old[1].size
        self._items[router] = (key, text)
        self._bytes += text.size
        while self._bytes > self.max_bytes and len(self._items) > 1:
            _, (_, dropped) = self._items.popitem(last=False)
            self._bytes -= dropped.size


class VendorMemo:
    """:func:`vendor.detect` of a config's head, remembered for the heads seen last; safe to
    call from worker threads."""

    def __init__(self, size: int = DETECTED_HEADS) -> None:
        self.size = size
        self._heads: OrderedDict[str, Vendor] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, head: str) -> Vendor:
        with self._lock:
            kind = self._heads.get(head)
            if kind is not None:
                self._heads.move_to_end(head)
                return kind
        kind = vendor.detect(head)
        with self._lock:
            self._heads[head] = kind
            if len(self._heads) > self.size:
                self._heads.popitem(last=False)
        return kind

    def __len__(self) -> int:
        return len(self._heads)


class IngestPipeline:
    """Uploads in, stored versions and event lines out; one per config service."""

    def __init__(
        self,
        store: Store,
        desired: DesiredSource | None,
        counters: Counters,
        name: NameRouter,
        workers: int = 2,
        judge: Judge | None = None,
        on_stored: Callable[[str, float], None] | None = None,
    ) -> None:
        self.store = store
        self.desired = desired
        self.counters = counters
        self.name = name
        self.locks = RouterLocks()
        self.texts = TextCache(CACHE_BYTES)
        self.intended = TextCache(DESIRED_CACHE_BYTES)
        self.detect = VendorMemo()
        self.evidence = ConfigEvidence()
        self.judge = judge if judge is not None else Judge(None, redact_for)
        self.unsaved: dict[str, SavedState] = {}
        """Routers whose running and startup configs differ, for the periodic metric."""
        self._workers = asyncio.Semaphore(workers)
        self.on_stored = on_stored

    async def _off_loop(self, heavy: bool, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` inline when it is light work, else in a worker thread."""
        if not heavy:
            return fn(*args)
        async with self._workers:
            return await asyncio.to_thread(fn, *args)

    async def decode(self, raw: bytes, encoding: str | None, limit: int) -> bytes:
        """:func:`~config_uploader.body.decode_body`, off the loop when gzipped or large."""
        heavy = len(raw) > INLINE_BYTES or is_gzip(raw, encoding)
        return await self._off_loop(heavy, decode_body, raw, encoding, limit)

    async def prepare(
        self, upload: Upload, raw: bytes, encoding: str | None, limit: int, shape: Shape
    ) -> Prepared:
        """Decode ``raw`` under the caps (``limit`` bytes, ``shape``) and
        :func:`~config_uploader.ingest.prepare` it; ``BodyError`` when refused."""

        def work() -> Prepared:
            data = decode_body(raw, encoding, limit, shape)
            decoded = dataclasses.replace(upload, data=data)
            return prepare(decoded, self.detect, self.name, upload.received_at)

        return await self._off_loop(len(raw) > INLINE_BYTES or is_gzip(raw, encoding), work)

    async def ingest(self, prepared: Prepared) -> IngestResult:
        """Store one prepared upload and report on it; :class:`StoreError` when the store
        fails. Its events are written together, in one write, when it is done (or failed)."""
        self.counters.incr("uploads")
        out = list(prepared.lines)
        try:
            async with self.locks.hold(prepared.router):
                result = await self._commit(prepared, out)
        finally:
            write_lines(out)
        received_at = prepared.upload.received_at
        if not is_startup(prepared):  # the evidence table follows the running config
            self.evidence.record(
                result.router, received_at, result.version, result.changed, result.drift
            )
        return result

    async def _commit(self, prepared: Prepared, out: list[bytes]) -> IngestResult:
        """The part under the router's lock: commit, then the verdicts."""
        router, kind, new = prepared.router, prepared.vendor, prepared.text
        if is_startup(prepared):
            return await self._commit_startup(prepared, out)
        received_at = prepared.upload.received_at
        intended = await self._intended(router, kind)
        drift = intended.drift(new.text) if intended is not None else None
        size = prepared.meta.size
        heavy = size > INLINE_BYTES
        # A Junos commit is also its saved configuration: no startup history to compare with.
        both = kind in COMMIT_IS_BOTH
        startup = None if both else await self._latest_version(history_key(router, "startup"))
        previous_saved = await self._saved_before(router, startup, new)
        compliance = Judged()
        if intended is not None and intended.text is not None and intended.location is not None:
            compliance = await self._off_loop(
                heavy,
                self.judge.compliance,
                router,
                "",
                kind,
                intended.location,
                intended.text.text,
                new.text,
            )
        saved_verdicts: dict[str, tuple[Judged, SavedState]] = {}

        def saved_for(meta: VersionMeta) -> tuple[Judged, SavedState]:
            if meta.version not in saved_verdicts:
                running = Version(meta.version, new)
                other = running if both else startup
                saved_verdicts[meta.version] = self.judge.saved(
                    router, kind, previous_saved, running, other, time.time()
                )
            return saved_verdicts[meta.version]

        def make_meta(version: str) -> VersionMeta:
            return dataclasses.replace(prepared.meta, version=version)

        def make_state(meta: VersionMeta, changed: bool) -> RouterState:
            judged_compliance = None
            if compliance.state is not None:
                judged_compliance = {**compliance.state, "version": meta.version}
            return RouterState(
                router,
                received_at,
                meta.version,
                changed,
                drift,
                meta.seq,
                saved=saved_for(meta)[0].state,
                compliance=judged_compliance,
            )

        def while_writing(
            previous: VersionMeta | None, meta: VersionMeta
        ) -> asyncio.Future[tuple[str | None, str]] | tuple[str | None, str]:
            """The diffs, computed while the store's thread waits for the disk."""
            before = None if previous is None else self.texts.get(router, previous.version)
            if not heavy:
                return _diffs(previous, before, meta, new, intended)
            return asyncio.ensure_future(
                self._off_loop(heavy, _diffs, previous, before, meta, new, intended)
            )

        result, new = await self._store_version(
            router, prepared, make_meta, make_state, while_writing
        )
        meta = result.meta
        now = time.time()
        if result.changed:
            self.counters.incr("changed")
            prepared_diffs = result.prepared
            if isinstance(prepared_diffs, asyncio.Future):
                prepared_diffs = await prepared_diffs
            change, drift_text = prepared_diffs or (None, "")
            if change is None:  # the previous text was not in memory
                before = await self._text_of(result)
                change = await self._off_loop(
                    heavy, change_diff, result.previous, before, meta, new
                )
        else:
            self.counters.incr("unchanged")
            change = None
            drift_text = await self._off_loop(heavy, drift_diff, intended, meta, new)
        if intended is not None and intended.error is None:
            self.counters.incr("drift" if drift else "in_sync")
        out += outcome_lines(
            meta, result.changed, result.previous, change, intended, drift, drift_text, now
        )
        for event in compliance.events:
            event.fields["version"] = meta.version
            self.counters.incr("compliant" if event.level == "info" else "non_compliant")
        out += judged_lines(compliance, now)
        saved_judged, saved_state = saved_for(meta)
        out += self._saved_lines(router, saved_judged, saved_state, now)
        if self.on_stored is not None:
            self.on_stored(router, received_at)
        if result.state_error is not None:
            raise StoreError(result.state_error)
        return IngestResult(router, meta.version, result.changed, drift)

    async def _commit_startup(self, prepared: Prepared, out: list[bytes]) -> IngestResult:
        """A startup configuration: its own history, then the saved/unsaved verdict against
        the latest running configuration (recorded in the router's state)."""
        router, kind, new = prepared.router, prepared.vendor, prepared.text
        key = history_key(router, "startup")
        received_at = prepared.upload.received_at

        def make_meta(version: str) -> VersionMeta:
            return dataclasses.replace(prepared.meta, router=key, version=version)

        def make_state(meta: VersionMeta, changed: bool) -> RouterState:
            return RouterState(key, received_at, meta.version, changed, None, meta.seq)

        def while_writing(previous: VersionMeta | None, meta: VersionMeta) -> str | None:
            before = None if previous is None else self.texts.get(key, previous.version)
            return change_diff(previous, before, meta, new)

        result, new = await self._store_version(key, prepared, make_meta, make_state, while_writing)
        meta = result.meta
        now = time.time()
        change = result.prepared if isinstance(result.prepared, str) else None
        if result.changed and change is None and result.previous is not None:
            change = change_diff(result.previous, await self._text_of(result), meta, new)
        self.counters.incr("changed" if result.changed else "unchanged")
        out += outcome_lines(meta, result.changed, result.previous, change, None, None, "", now)
        startup = Version(meta.version, new)
        running = await self._latest_version(router)
        state = await self.store.read_state(router) if running is not None else None
        previous = await self._saved_before(router, startup, running.text if running else None)
        judged, saved = self.judge.saved(router, kind, previous, running, startup, now)
        out += self._saved_lines(router, judged, saved, now)
        if state is not None:
            await self.store.write_state(dataclasses.replace(state, saved=judged.state))
        if result.state_error is not None:
            raise StoreError(result.state_error)
        return IngestResult(router, meta.version, result.changed, None)

    async def _store_version(
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

    async def _latest_version(self, key: str) -> Version | None:
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
            text = await self._off_loop(
                len(data) > INLINE_BYTES, lambda: normalised_text(decode(data)[0], vendor)
            )
            self.texts.put(key, latest.version, text)
        return Version(latest.version, text)

    async def _saved_before(
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
        state = await self.store.read_state(router)
        return SavedState.from_dict(state.saved if state is not None else None)

    def _saved_lines(
        self, router: str, judged: Judged, state: SavedState, now: float
    ) -> list[bytes]:
        if state.state == "unsaved":
            self.unsaved[router] = state
        else:
            self.unsaved.pop(router, None)
        for event in judged.events:
            self.counters.incr("saved" if event.name == "config.saved" else "unsaved")
        return judged_lines(judged, now)

    def unsaved_routers(self, now: float) -> int:
        """How many routers have been unsaved for longer than the grace period."""
        grace = self.judge.unsaved_grace
        return sum(state.overdue(now, grace) for state in self.unsaved.values())

    async def _text_of(self, result: CommitResult) -> diffing.Text | None:
        """The previous version's normalised text, re-read from the store."""
        previous = result.previous
        if previous is None:
            return None
        found = await self.store.read(previous.router, previous.version)
        if found is None:
            raise StoreError(f"version {previous.router}/{previous.version} disappeared")
        return normalised_text(decode(found[1])[0], as_vendor(previous.vendor))

    async def drift_from_desired(self, meta: VersionMeta, data: bytes) -> tuple[str | None, str]:
        """(where the router's desired config is, the redacted diff from it to this version),
        for the live page: empty when they match or when no desired config is kept for it."""
        kind = as_vendor(meta.vendor)
        intended = await self._intended(meta.router, kind)
        if intended is None:
            return None, ""
        heavy = len(data) > INLINE_BYTES
        text = await self._off_loop(heavy, lambda: normalised_text(decode(data)[0], kind))
        return intended.location, await self._off_loop(heavy, drift_diff, intended, meta, text)

    async def _intended(self, router: str, kind: Vendor) -> Intended | None:
        """The router's desired config, normalised by the upload's vendor rules (the intended
        file may lack the banner lines that detection relies on); None when no desired
        location is configured. Normalised once per content: a lookup that finds the same
        tag reuses it."""
        if self.desired is None:
            return None
        key = self.intended.key_of(router)
        known = key[0] if isinstance(key, tuple) and key[1] == kind else None
        try:
            found = await self.desired.get(router, known)
            if found is not None and found.data is None:
                text = self.intended.get(router, (found.tag, kind))
                if text is not None:
                    return Intended(found.location, text)
                found = await self.desired.get(router)  # dropped from memory meanwhile
        except StoreError as exc:
            # The version is still stored: answer the router, say the verdict is unknown.
            self.counters.incr("store_errors")
            return Intended(None, None, str(exc)[:MAX_ERROR])
        if found is None or found.data is None:
            return Intended(None, None)
        data = found.data
        text = await self._off_loop(
            len(data) > INLINE_BYTES, lambda: normalised_text(decode(data)[0], kind)
        )
        if found.tag is not None:
            self.intended.put(router, (found.tag, kind), text)
        return Intended(found.location, text)


def is_startup(prepared: Prepared) -> bool:
    """A startup configuration, kept in its own history (a Junos commit is running too)."""
    return prepared.kind == "startup" and prepared.vendor not in COMMIT_IS_BOTH


def _diffs(
    previous: VersionMeta | None,
    before: diffing.Text | None,
    meta: VersionMeta,
    new: diffing.Text,
    intended: Intended | None,
) -> tuple[str | None, str]:
    return change_diff(previous, before, meta, new), drift_diff(intended, meta, new)
