"""The config uploader service: one upload in, one stored version and its verdicts out.

For each upload: decode, detect the vendor, normalise, name the router, then, holding that
router's lock, look up the desired config, and commit the upload to the store (unchanged when
its normalised text equals the latest version's) together with the router's state; while the
store's thread waits for the disk, the upload is diffed against the previous version and the
desired config. Everything written to stdout passes through the redactor first: the store
keeps the original bytes, the logs never see a secret.

What makes an upload cheap (a 64 KiB config costs about 0.6 ms of CPU besides HTTP and the
disk, measured by ``bench/config_upload.py``): the normalised texts of each router's latest
version and desired config are kept split into lines (:class:`TextCache`), so each upload
splits one text; the desired config is read and normalised again only when its file or
object changes; vendor detection is remembered per config head; the store is reached by one
thread hop; and an upload's events go out in one write, after it is stored.

Events (one JSON line each, none reaching 16 KiB), in this order:

* ``config.received``: router, identified_by, source_ip, via, filename, vendor, size, sha256
* ``config.changed``: router, version, previous (null for a first upload), vendor, diff, and
  ``part``/``parts`` when the diff is spread over several lines
* ``config.unchanged``: router, version (the stored one this upload equals)
* ``config.in_sync`` / ``config.drift``: router, version, desired (where the intended config was
  read), reason (``differs`` or ``no_desired_config``), diff, part/parts
* ``config.rejected``: reason, source_ip, path, detail; ``config.store_error``: error, path
* an EMF line per drift check: ``{"event": "config.drift_metric", "router": ..., "drift": 0|1}``
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from bridge.guard import Allowlist, RateLimiter, RouterNames, unmapped
from bridge.logging import get_logger
from bridge.metrics import Counters, emf_record
from bridge.output import iso_utc, write_lines
from bridge.settings import HostPort, fail, format_address
from config_uploader import diff as diffing
from config_uploader import identity, redact, vendor
from config_uploader.app import Credentials, UploadApp
from config_uploader.body import BodyError
from config_uploader.desired import DesiredSource, open_desired
from config_uploader.normalise import decode, joined, normalise, normalise_lines
from config_uploader.settings import ConfigSettings, read_credentials_file
from config_uploader.store import (
    CommitResult,
    RouterLocks,
    RouterState,
    Store,
    StoreError,
    VersionMeta,
    commit,
    open_store,
    path_segment,
    version_id,
)
from config_uploader.vendor import Vendor

REJECT_REASONS = ("empty", "undecodable", "too_large", "auth", "forbidden", "rate")
# Vendor banners and characteristic commands come early; scanning all of a 64 KiB config
# (vendor.SCAN_CHARS) costs more than the rest of an upload's parsing together.
DETECT_CHARS = 8192
# The vendors of the config heads seen last: a router's next upload almost always starts as the
# last one did, and a dict lookup costs a tenth of detection. 1024 heads of 8 KiB at most.
DETECTED_HEADS = 1024
# Error texts (boto, OS) are cut so no event line nears the 16 KiB limit.
MAX_ERROR = 2000
# Uploads in flight get this long to finish at SIGTERM (the runner gives a service 5 s).
STOP_GRACE = 4.0
# Normalised texts of the latest versions kept in memory for the next diff, and of the desired
# configs for the next drift check; bounded in bytes (a 64 KiB config takes about 300 KiB).
CACHE_BYTES = 64 * 1024 * 1024
DESIRED_CACHE_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class Upload:
    """One config as received, before it is understood."""

    data: bytes
    text: str
    source_ip: str
    via: str  # "raw", "multipart" or "oxidized"
    path: str  # below /upload/, "" for Oxidized
    filename: str | None  # a multipart part's filename
    router_hint: str | None  # ?router= or Oxidized's node
    received_at: float
    context: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class IngestResult:
    router: str
    version: str
    changed: bool
    drift: bool | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "router": self.router,
            "version": self.version,
            "changed": self.changed,
            "drift": self.drift,
        }


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


@dataclass(frozen=True)
class Intended:
    """The desired config of one upload's router, as far as it could be found."""

    location: str | None  # None: the router has no desired config
    text: diffing.Text | None
    error: str | None = None  # the source failed: no verdict this time

    def drift(self, normalised: str) -> bool | None:
        if self.error is not None:
            return None
        return self.text is None or self.text.text != normalised


def read_credentials(settings: ConfigSettings, prog: str) -> Credentials:
    """Basic auth pairs from the file and the variable; bad ones stop the daemon (exit 2)."""
    pairs: list[str] = []
    if settings.basic_auth_file:
        try:
            pairs = read_credentials_file(settings.basic_auth_file)
        except ValueError as exc:
            fail(prog, f"invalid --basic-auth-file {settings.basic_auth_file!r}: {exc}")
    if settings.basic_auth:
        pairs.append(settings.basic_auth)
    return Credentials(pairs)


class ConfigService:
    """The ``config`` service of :mod:`bridge.runner`; serves its own ``/healthz``."""

    name = "config"
    health: HostPort | None = None

    def __init__(
        self,
        settings: ConfigSettings,
        prog: str = "edge-bridge config",
        store: Store | None = None,
        desired: DesiredSource | None = None,
    ) -> None:
        self.settings = settings
        self.counters = Counters(
            "uploads",
            "changed",
            "unchanged",
            "drift",
            "in_sync",
            "store_errors",
            "internal_errors",
            *(f"rejected_{reason}" for reason in REJECT_REASONS),
        )
        self.credentials = read_credentials(settings, prog)
        self.store = store if store is not None else open_store(settings.store)
        self.desired = (
            desired if desired is not None else open_desired(settings.desired, settings.max_body)
        )
        self.allowlist = Allowlist(settings.allow)
        self.limiter = RateLimiter(settings.rate_limit, settings.rate_burst)
        self.names = RouterNames(settings.router)
        self.locks = RouterLocks()
        self.texts = TextCache(CACHE_BYTES)
        self.intended = TextCache(DESIRED_CACHE_BYTES)
        self.detected: OrderedDict[str, Vendor] = OrderedDict()
        self.log = get_logger()
        self._runner: web.AppRunner | None = None
        self.app: UploadApp | None = None
        self._serving = False

    # -- Service protocol --------------------------------------------------------------------

    def ready(self) -> bool:
        return self._serving

    async def start(self) -> dict[str, str]:
        await self.store.open()
        self.app = UploadApp(self, self.credentials)
        app = self.app.build()
        # auto_decompress off: body.py gunzips under --max-body, aiohttp would not cap it.
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            auto_decompress=False,
            shutdown_timeout=0.5,
        )
        await runner.setup()
        self._runner = runner
        listen = self.settings.listen
        site = web.TCPSite(runner, listen.host, listen.port, reuse_address=True)
        await site.start()
        host, port = runner.addresses[0][:2]
        self._serving = True
        return {
            "listen": format_address(host, port),
            "store": self.store.description,
            "desired": self.desired.description if self.desired else "",
            "auth": "basic" if self.credentials.enabled else "none",
        }

    async def stop(self) -> None:
        """Close the listener, let uploads in flight finish (up to STOP_GRACE), then close."""
        self._serving = False
        if self._runner is not None:
            for site in list(self._runner.sites):
                await site.stop()
            if self.app is not None:
                try:
                    async with asyncio.timeout(STOP_GRACE):
                        await self.app.drained()
                except TimeoutError:
                    self.log.warning("config.stop_timeout", in_flight=self.app.in_flight)
            await self._runner.cleanup()
            self._runner = None
        await self.store.close()

    # -- uploads -----------------------------------------------------------------------------

    def upload(
        self,
        data: bytes,
        source_ip: str,
        via: str,
        path: str,
        filename: str | None,
        router_hint: str | None,
        received_at: float,
        context: dict[str, str] | None = None,
    ) -> Upload:
        """Check and decode one config; :class:`BodyError` when it is empty or not text."""
        if not data.strip():
            raise BodyError("empty", "empty config")
        if b"\x00" in data:
            raise BodyError("undecodable", "binary data (NUL bytes), not a config text")
        text, _encoding = decode(data)
        return Upload(
            data=data,
            text=text,
            source_ip=source_ip,
            via=via,
            path=path,
            filename=filename,
            router_hint=router_hint,
            received_at=received_at,
            context=context or {},
        )

    def rejected(self, reason: str, source_ip: str, path: str, detail: str) -> None:
        self.counters.incr(f"rejected_{reason}")
        self.log.warning(
            "config.rejected",
            reason=reason,
            source_ip=source_ip,
            path=path[:MAX_ERROR],
            detail=detail[:MAX_ERROR],
        )

    def internal_error(self, exc: Exception, path: str) -> None:
        self.counters.incr("internal_errors")
        self.log.error("config.internal_error", error=repr(exc)[:MAX_ERROR], path=path[:MAX_ERROR])

    def store_failed(self, error: str, path: str) -> None:
        self.counters.incr("store_errors")
        self.log.error("config.store_error", error=error[:MAX_ERROR], path=path[:MAX_ERROR])

    def identify(self, upload: Upload, text: str, kind: Vendor) -> tuple[str, str]:
        """(router name, how it was found): explicit, file name, config, static map, address."""
        # A part's filename below the URL's directories: /upload/RTX1210/edge1/ + "261130.txt".
        where = "/".join(p for p in (upload.path, upload.filename) if p)
        found = identity.identify(upload.router_hint, where, text, kind)
        if found is not None:
            return found.name, found.source
        ip = unmapped(upload.source_ip.split("%")[0])
        named = self.names.get(ip)
        if named and (name := identity.canonical_name(named)):
            return name, "static"
        # IPv6 colons become dashes; a leading dash would be stripped, so keep a zero there.
        fallback = ip.replace(":", "-")
        return identity.canonical_name(
            "0" + fallback if fallback.startswith("-") else fallback
        ) or ("unknown"), "source_ip"

    async def ingest(self, upload: Upload) -> IngestResult:
        """Store one upload and report on it; :class:`StoreError` when the store fails.

        Its events are written together, in one write, when it is done (or has failed).
        """
        kind = self.detect(upload.text[:DETECT_CHARS])
        normalised_lines = normalise_lines(upload.text, kind)
        normalised = joined(normalised_lines)
        router, identified_by = self.identify(upload, normalised, kind)
        router = path_segment(router)
        raw_sha = hashlib.sha256(upload.data).hexdigest()
        norm_sha = hashlib.sha256(normalised.encode()).hexdigest()
        received = VersionMeta(
            router=router,
            version="",  # given by the store at commit
            vendor=kind,
            received_at=upload.received_at,
            source_ip=upload.source_ip,
            sha256=raw_sha,
            normalised_sha256=norm_sha,
            size=len(upload.data),
            filename=upload.filename or upload.path or None,
        )
        self.counters.incr("uploads")
        out = self.event_lines(
            "config.received",
            "info",
            {
                "router": router,
                "identified_by": identified_by,
                "source_ip": upload.source_ip,
                "via": upload.via,
                "filename": received.filename,
                "vendor": kind,
                "size": received.size,
                "sha256": raw_sha,
                **upload.context,
            },
        )
        try:
            async with self.locks.hold(router):
                return await self._ingest(upload, received, normalised, normalised_lines, out)
        finally:
            write_lines(out)

    def detect(self, head: str) -> Vendor:
        """:func:`vendor.detect` of a config's head, remembered for the heads seen last."""
        kind = self.detected.get(head)
        if kind is None:
            kind = self.detected[head] = vendor.detect(head)
            if len(self.detected) > DETECTED_HEADS:
                self.detected.popitem(last=False)
        else:
            self.detected.move_to_end(head)
        return kind

    async def _ingest(
        self,
        upload: Upload,
        received: VersionMeta,
        normalised: str,
        normalised_lines: list[str],
        out: list[bytes],
    ) -> IngestResult:
        """The part under the router's lock: commit, then the verdicts."""
        router, kind = received.router, as_vendor(received.vendor)
        intended = await self._intended(router, kind)
        drift = intended.drift(normalised) if intended is not None else None
        # Split into lines when first needed: while the version is written, or, for an
        # unchanged upload, only if its version's text is not in memory already.
        prepared: list[diffing.Text] = []

        def text_for(version: str | None) -> diffing.Text:
            if not prepared:
                cached = self.texts.get(router, version) if version else None
                prepared.append(cached or diffing.Text(normalised, normalised_lines))
            return prepared[0]

        def make_meta(version: str) -> VersionMeta:
            return dataclasses.replace(received, version=version)

        def make_state(meta: VersionMeta, changed: bool) -> RouterState:
            return RouterState(router, upload.received_at, meta.version, changed, drift, meta.seq)

        def while_writing(
            previous: VersionMeta | None, meta: VersionMeta
        ) -> tuple[str | None, str]:
            """The diffs, computed while the store's thread waits for the disk."""
            new = text_for(None)
            return self._change_diff(previous, meta, new), self._drift_diff(intended, meta, new)

        result = await commit(self.store, router, upload.data, make_meta, make_state, while_writing)
        meta = result.meta
        new = text_for(meta.version)
        self.texts.put(router, meta.version, new)
        if result.changed:
            self.counters.incr("changed")
            change, drift_text = result.prepared or (None, "")
            if change is None:  # the previous text was not in memory
                change = self._change_diff(result.previous, meta, new, await self._text_of(result))
            previous = result.previous
            fields = {
                "router": router,
                "version": meta.version,
                "previous": None if previous is None else previous.version,
                "vendor": kind,
            }
            out += self.event_lines("config.changed", "info", fields, change)
        else:
            self.counters.incr("unchanged")
            drift_text = self._drift_diff(intended, meta, new)
            out += self.event_lines(
                "config.unchanged", "info", {"router": router, "version": meta.version}
            )
        if intended is not None:
            out += self._verdict_lines(router, meta.version, intended, drift, drift_text)
        if result.state_error is not None:
            raise StoreError(result.state_error)
        return IngestResult(router, meta.version, result.changed, drift)

    async def _text_of(self, result: CommitResult) -> diffing.Text | None:
        """The previous version's normalised text, re-read from the store."""
        previous = result.previous
        if previous is None:
            return None
        found = await self.store.read(previous.router, previous.version)
        if found is None:
            raise StoreError(f"version {previous.router}/{previous.version} disappeared")
        return normalised_text(decode(found[1])[0], as_vendor(previous.vendor))

    def _change_diff(
        self,
        previous: VersionMeta | None,
        meta: VersionMeta,
        new: diffing.Text,
        before: diffing.Text | None = None,
    ) -> str | None:
        """The diff from the previous version; None when its text is not at hand."""
        if previous is None:
            old, old_vendor, label = diffing.Text(""), as_vendor(meta.vendor), "empty"
        else:
            cached = before or self.texts.get(meta.router, previous.version)
            if cached is None:
                return None
            old, old_vendor = cached, as_vendor(previous.vendor)
            label = f"{meta.router}/{previous.version}"
        return diffing.unified_diff(
            old,
            new,
            old_vendor,
            as_vendor(meta.vendor),
            fromfile=label,
            tofile=f"{meta.router}/{meta.version}",
        )

    @staticmethod
    def _drift_diff(intended: Intended | None, meta: VersionMeta, new: diffing.Text) -> str:
        if intended is None or intended.text is None:
            return ""
        kind = as_vendor(meta.vendor)
        return diffing.unified_diff(
            intended.text, new, kind, fromfile="desired", tofile=f"{meta.router}/{meta.version}"
        )

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
        text = normalised_text(decode(found.data)[0], kind)
        if found.tag is not None:
            self.intended.put(router, (found.tag, kind), text)
        return Intended(found.location, text)

    def _verdict_lines(
        self, router: str, version: str, intended: Intended, drift: bool | None, diff: str
    ) -> list[bytes]:
        """``config.in_sync``/``config.drift`` (or ``config.desired_error``) and the EMF line."""
        if intended.error is not None:
            return self.event_lines(
                "config.desired_error",
                "error",
                {"router": router, "version": version, "error": intended.error},
            )
        fields: dict[str, Any] = {"router": router, "version": version}
        if intended.location is None:
            fields.update(desired=None, reason="no_desired_config")
            out = self.event_lines("config.drift", "warning", fields)
        else:
            fields["desired"] = intended.location
            if drift:
                fields["reason"] = "differs"
                out = self.event_lines("config.drift", "warning", fields, diff)
            else:
                out = self.event_lines("config.in_sync", "info", fields)
        self.counters.incr("drift" if drift else "in_sync")
        record = emf_record(
            {"router": router},
            {"drift": 1.0 if drift else 0.0},
            time.time(),
            event="config.drift_metric",
            units={"drift": "Count"},
        )
        out.append(orjson.dumps(record) + b"\n")
        return out

    def emit(self, event: str, level: str, fields: dict[str, Any], diff: str | None = None) -> None:
        write_lines(self.event_lines(event, level, fields, diff))

    @staticmethod
    def event_lines(
        event: str, level: str, fields: dict[str, Any], diff: str | None = None
    ) -> list[bytes]:
        """One event line, or one per piece of ``diff`` (``part``/``parts``), each < 16 KiB."""
        head = {"event": event, "level": level, "time": iso_utc(time.time()), **fields}
        if not diff:
            return [orjson.dumps(head) + b"\n"]
        widest = {**head, "part": 10**9, "parts": 10**9}
        pieces = diffing.split_diff(diff, diffing.budget_for(widest))
        return [
            orjson.dumps({**head, "part": n, "parts": len(pieces), "diff": piece}) + b"\n"
            for n, piece in enumerate(pieces, 1)
        ]

    # -- read API ----------------------------------------------------------------------------

    @staticmethod
    def store_name(name: str) -> str | None:
        """The stored name for a name in a URL: canonical as identity makes it."""
        canonical = identity.canonical_name(name)
        return path_segment(canonical) if canonical else None

    async def router_summaries(self) -> list[dict[str, Any]]:
        out = []
        for router in await self.store.routers():
            state = await self.store.read_state(router)
            if state is None:  # killed between commit and state: rebuild from the version
                latest = await self.store.latest(router)
                if latest is None:
                    continue
                state = RouterState(
                    router, latest.received_at, latest.version, True, None, latest.seq
                )
            summary = state.to_dict()
            summary["last_upload"] = iso_utc(state.last_upload)
            out.append(summary)
        return out

    async def versions(self, name: str) -> list[VersionMeta]:
        router = self.store_name(name)
        return [] if router is None else await self.store.versions(router)

    async def read_version(self, name: str, version: str) -> tuple[VersionMeta, bytes] | None:
        router = self.store_name(name)
        if router is None:
            return None
        if version == "latest":
            latest = await self.store.latest(router)
            if latest is None:
                return None
            version = latest.version
        return await self.store.read(router, version)

    @staticmethod
    def redacted_text(data: bytes, kind: str) -> str:
        return redact.redact(decode(data)[0], as_vendor(kind))

    def unredacted_read(self, meta: VersionMeta, source_ip: str) -> None:
        """Reading secrets is an auditable act: it leaves a line in the log."""
        self.log.warning(
            "config.unredacted_read",
            router=meta.router,
            version=meta.version,
            source_ip=source_ip,
        )

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
        from_meta = frm[0]
        return diffing.unified_diff(
            normalise(decode(frm[1])[0], as_vendor(from_meta.vendor)),
            normalise(decode(to[1])[0], as_vendor(to_meta.vendor)),
            as_vendor(from_meta.vendor),
            as_vendor(to_meta.vendor),
            fromfile=f"{from_meta.router}/{from_meta.version}",
            tofile=f"{to_meta.router}/{to_meta.version}",
        )


def normalised_text(text: str, kind: Vendor) -> diffing.Text:
    """``text`` normalised, with its lines, for diffs."""
    lines = normalise_lines(text, kind)
    return diffing.Text(joined(lines), lines)


def as_vendor(name: str) -> Vendor:
    """A stored vendor name back as a :data:`Vendor` (``unknown`` for anything else)."""
    for known in vendor.VENDORS:
        if name == known:
            return known
    return "unknown"
