"""The one ingest pipeline: the asyncio adapter around :mod:`config_uploader.ingest`.

For each upload: :func:`~config_uploader.ingest.prepare` (decode, detect, normalise, name);
then, holding that router's lock, look up the desired config and commit the upload to the
store (unchanged when its normalised text equals the latest version's) together with the
router's state; while the store's thread waits for the disk, the upload is diffed against the
previous version and the desired config. The store keeps the original bytes; the lines written
to stdout passed through the redactor (the diffs print redacted lines). Startup configurations
take their own path (:mod:`config_uploader.startup`); what both paths share (the store, the
latest texts) is :class:`~config_uploader.histories.Histories`.

What keeps an upload cheap (a 64 KiB config costs about 0.6 ms of CPU besides HTTP and the
disk, measured by ``bench/config_upload.py``): the normalised texts of each router's latest
version and desired config are kept split into lines
(:class:`~config_uploader.histories.TextCache`), so each upload splits one text, and each line
a diff shows is redacted once per text; the desired config is read and normalised again only
when its file or object changes; vendor detection is remembered per config head
(:class:`VendorMemo`); and an upload's events go out in one write.

What keeps the loop free: an upload larger than :data:`~config_uploader.histories.INLINE_BYTES`
is prepared and diffed in a worker thread, at most ``workers`` at a time, so ``/healthz`` and
small uploads are answered meanwhile; the caps in :mod:`config_uploader.body` bound what one
such upload can cost.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from bridge.metrics import Counters
from bridge.stdout import write_lines
from config_uploader import diff as diffing
from config_uploader import vendor
from config_uploader.body import Shape, decode_body, is_gzip
from config_uploader.compliance.judge import Judge, Judged, Version
from config_uploader.compliance.kind import COMMIT_IS_BOTH, history_key
from config_uploader.compliance.saved import SavedState
from config_uploader.desired import DesiredSource
from config_uploader.evidence import ConfigEvidence
from config_uploader.histories import INLINE_BYTES, Histories, TextCache
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
from config_uploader.startup import SavedVerdicts, is_startup
from config_uploader.store import RouterLocks, RouterState, Store, StoreError, VersionMeta
from config_uploader.vendor import Vendor

# The vendors of the config heads seen last: a router's next upload almost always starts as the
# last one did, and a dict lookup costs a tenth of detection. 1024 heads of 8 KiB at most.
DETECTED_HEADS = 1024
# Normalised desired configs kept for the next drift check, bounded in bytes.
DESIRED_CACHE_BYTES = 32 * 1024 * 1024


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
        self.histories = Histories(store, workers)
        self.intended = TextCache(DESIRED_CACHE_BYTES)
        self.detect = VendorMemo()
        self.evidence = ConfigEvidence()
        self.judge = judge if judge is not None else Judge(None, redact_for)
        self.saved = SavedVerdicts(self.histories, self.judge, counters)
        self.on_stored = on_stored

    async def decode(self, raw: bytes, encoding: str | None, limit: int) -> bytes:
        """:func:`~config_uploader.body.decode_body`, off the loop when gzipped or large."""
        heavy = len(raw) > INLINE_BYTES or is_gzip(raw, encoding)
        return await self.histories.off_loop(heavy, decode_body, raw, encoding, limit)

    async def prepare(
        self, upload: Upload, raw: bytes, encoding: str | None, limit: int, shape: Shape
    ) -> Prepared:
        """Decode ``raw`` under the caps (``limit`` bytes, ``shape``) and
        :func:`~config_uploader.ingest.prepare` it; ``BodyError`` when refused."""

        def work() -> Prepared:
            data = decode_body(raw, encoding, limit, shape)
            decoded = dataclasses.replace(upload, data=data)
            return prepare(decoded, self.detect, self.name, upload.received_at)

        heavy = len(raw) > INLINE_BYTES or is_gzip(raw, encoding)
        return await self.histories.off_loop(heavy, work)

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
            return await self.saved.commit(prepared, out)
        received_at = prepared.upload.received_at
        intended = await self._intended(router, kind)
        drift = intended.drift(new.text) if intended is not None else None
        size = prepared.meta.size
        heavy = size > INLINE_BYTES
        # A Junos commit is also its saved configuration: no startup history to compare with.
        both = kind in COMMIT_IS_BOTH
        histories = self.histories
        startup = None if both else await histories.latest_version(history_key(router, "startup"))
        previous_saved = await self.saved.before(router, startup, new)
        compliance = Judged()
        if intended is not None and intended.text is not None and intended.location is not None:
            compliance = await histories.off_loop(
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
            before = histories.cached(router, previous)
            if not heavy:
                return _diffs(previous, before, meta, new, intended)
            return asyncio.ensure_future(
                histories.off_loop(heavy, _diffs, previous, before, meta, new, intended)
            )

        result, new = await histories.store_version(
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
                before = await histories.previous_text(result)
                change = await histories.off_loop(
                    heavy, change_diff, result.previous, before, meta, new
                )
        else:
            self.counters.incr("unchanged")
            change = None
            drift_text = await histories.off_loop(heavy, drift_diff, intended, meta, new)
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
        out += self.saved.lines(router, saved_judged, saved_state, now)
        if self.on_stored is not None:
            self.on_stored(router, received_at)
        if result.state_error is not None:
            raise StoreError(result.state_error)
        return IngestResult(router, meta.version, result.changed, drift)

    def unsaved_routers(self, now: float) -> int:
        """How many routers have been unsaved for longer than the grace period."""
        return self.saved.overdue(now)

    async def drift_from_desired(self, meta: VersionMeta, data: bytes) -> tuple[str | None, str]:
        """(where the router's desired config is, the redacted diff from it to this version),
        for the live page: empty when they match or when no desired config is kept for it."""
        kind = as_vendor(meta.vendor)
        intended = await self._intended(meta.router, kind)
        if intended is None:
            return None, ""
        heavy = len(data) > INLINE_BYTES
        off_loop = self.histories.off_loop
        text = await off_loop(heavy, lambda: normalised_text(decode(data)[0], kind))
        return intended.location, await off_loop(heavy, drift_diff, intended, meta, text)

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
        text = await self.histories.off_loop(
            len(data) > INLINE_BYTES, lambda: normalised_text(decode(data)[0], kind)
        )
        if found.tag is not None:
            self.intended.put(router, (found.tag, kind), text)
        return Intended(found.location, text)


def _diffs(
    previous: VersionMeta | None,
    before: diffing.Text | None,
    meta: VersionMeta,
    new: diffing.Text,
    intended: Intended | None,
) -> tuple[str | None, str]:
    return change_diff(previous, before, meta, new), drift_diff(intended, meta, new)
