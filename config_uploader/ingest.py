"""The config ingest core, sans-IO: an upload and what is known before it in, a decision and
the event lines out.

No sockets, no store, no clock of its own: :func:`prepare` turns an :class:`Upload` into a
:class:`Prepared` (decoded, vendor detected, normalised, named, the ``config.received`` line)
or refuses it with a :class:`~config_uploader.body.BodyError`; once the store has said whether
the version is new, :func:`outcome_lines` turns the prepared upload, the previous version's
text and the desired config (:class:`Intended`) into the ``config.changed`` /
``config.unchanged`` and verdict lines. :mod:`config_uploader.pipeline` is the adapter that
holds the locks, the caches and the store around these calls. Every event line carries the
``now`` it is given; no line reaches 16 KiB (long diffs are split into ``part``/``parts``).

Events, in the order an upload writes them:

* ``config.received``: router, identified_by, source_ip, via, filename, vendor, kind
  (``running`` or ``startup``), size, sha256
* ``config.changed``: router, version, previous (null for a first upload), vendor, diff;
  ``kind: startup`` for the startup history
* ``config.unchanged``: router, version (the stored one this upload equals), ``kind``
* ``config.in_sync`` / ``config.drift``: router, version, desired (where the intended config was
  read), reason (``differs`` or ``no_desired_config``), diff; ``config.desired_error`` when the
  desired source failed
* an EMF line per drift check: ``{"event": "config.drift_metric", "router": ..., "drift": 0|1}``
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bridge.metrics import emf_record
from bridge.output import envelope, fit
from config_uploader import diff as diffing
from config_uploader import redact, vendor
from config_uploader.body import BodyError
from config_uploader.compliance.judge import Judged
from config_uploader.compliance.kind import Kind, KindError, classify, split_key, without_marker
from config_uploader.normalise import decode, joined, normalise_lines
from config_uploader.store import VersionMeta, path_segment
from config_uploader.vendor import Vendor

# Vendor banners and characteristic commands come early; scanning all of a 64 KiB config
# (vendor.SCAN_CHARS) costs more than the rest of an upload's parsing together.
DETECT_CHARS = 8192
# Error texts (boto, OS) are cut so no event line nears the 16 KiB limit.
MAX_ERROR = 2000


Role = Literal["router", "uploader", "reader"]


@dataclass(frozen=True)
class Principal:
    """Who a credential proved the client to be (see :mod:`config_uploader.credentials`)."""

    user: str
    role: Role
    router: str | None = None  # the router a ``router`` credential belongs to


@dataclass(frozen=True)
class Upload:
    """One config as received, before it is understood."""

    data: bytes
    source_ip: str
    via: str  # "raw", "multipart" or "oxidized"
    path: str  # below /upload/, "" for Oxidized
    filename: str | None  # a multipart part's filename
    router_hint: str | None  # ?router= or Oxidized's node
    received_at: float
    context: dict[str, str] = field(default_factory=dict)
    principal: Principal | None = None
    """Who the upload's credential proved the client to be; None without auth."""
    kind: str | None = None
    """``running`` or ``startup`` as the request said (``?kind=``, a multipart field)."""


@dataclass(frozen=True)
class Naming:
    """The router an upload is filed under, and what decided it."""

    router: str
    identified_by: str
    claimed: str | None = None
    """A different name the upload itself carried (file name, config), kept for the record."""


NameRouter = Callable[[Upload, str, Vendor], Naming]
"""(upload, normalised text, vendor) -> :class:`Naming`; raises ``BodyError("identity")``."""


@dataclass(frozen=True)
class Prepared:
    """An upload understood: what the store commits and the diffs work on."""

    upload: Upload
    text: diffing.Text
    meta: VersionMeta  # its ``version`` is given by the store at commit
    lines: list[bytes]  # ``config.received``
    kind: Kind = "running"
    """Running or startup (saved) configuration: which of the router's histories it joins."""

    @property
    def router(self) -> str:
        return self.meta.router

    @property
    def vendor(self) -> Vendor:
        return as_vendor(self.meta.vendor)


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


def prepare(
    upload: Upload, detect: Callable[[str], Vendor], name: NameRouter, now: float
) -> Prepared:
    """Decode, detect, normalise and name one upload; :class:`BodyError` when it is refused."""
    data = upload.data
    if not data.strip():
        raise BodyError("empty", "empty config")
    if b"\x00" in data:
        raise BodyError("undecodable", "binary data (NUL bytes), not a config text")
    try:
        history = classify(upload.kind, (upload.path, upload.filename))
    except KindError as exc:
        raise BodyError("kind", str(exc)) from None
    text, _encoding = decode(data)
    kind = detect(text[:DETECT_CHARS])
    lines = normalise_lines(text, kind)
    normalised = joined(lines)
    # rtr1-startup-config names router rtr1, as rtr1-config does.
    named_as = upload
    if history == "startup":
        path, filename = without_marker(upload.path), without_marker(upload.filename)
        named_as = dataclasses.replace(upload, path=path or "", filename=filename)
    naming = name(named_as, normalised, kind)
    router = path_segment(naming.router)
    meta = VersionMeta(
        router=router,
        version="",
        vendor=kind,
        received_at=upload.received_at,
        source_ip=upload.source_ip,
        sha256=hashlib.sha256(data).hexdigest(),
        normalised_sha256=hashlib.sha256(normalised.encode()).hexdigest(),
        size=len(data),
        filename=upload.filename or upload.path or None,
    )
    fields: dict[str, Any] = {
        "router": router,
        "identified_by": naming.identified_by,
        "source_ip": upload.source_ip,
        "via": upload.via,
        "filename": meta.filename,
        "vendor": kind,
        "kind": history,
        "size": meta.size,
        "sha256": meta.sha256,
        **upload.context,
    }
    if naming.claimed is not None:
        fields["claimed"] = naming.claimed
    received = event_lines("config.received", "info", fields, now)
    return Prepared(upload, diffing.Text(normalised, lines), meta, received, history)


def change_diff(
    previous: VersionMeta | None, before: diffing.Text | None, meta: VersionMeta, new: diffing.Text
) -> str | None:
    """The diff from the previous version (from empty for a first one); None when the previous
    version's text is not at hand."""
    if previous is None:
        old, old_vendor, label = diffing.Text(""), as_vendor(meta.vendor), "empty"
    elif before is None:
        return None
    else:
        old, old_vendor = before, as_vendor(previous.vendor)
        label = f"{meta.router}/{previous.version}"
    return diffing.unified_diff(
        old,
        new,
        old_vendor,
        as_vendor(meta.vendor),
        fromfile=label,
        tofile=f"{meta.router}/{meta.version}",
    )


def drift_diff(intended: Intended | None, meta: VersionMeta, new: diffing.Text) -> str:
    if intended is None or intended.text is None:
        return ""
    return diffing.unified_diff(
        intended.text,
        new,
        as_vendor(meta.vendor),
        fromfile="desired",
        tofile=f"{meta.router}/{meta.version}",
    )


def outcome_lines(
    meta: VersionMeta,
    changed: bool,
    previous: VersionMeta | None,
    change: str | None,
    intended: Intended | None,
    drift: bool | None,
    drift_text: str,
    now: float,
) -> list[bytes]:
    """``config.changed``/``config.unchanged``, then the verdict lines when a desired source
    is configured (``intended`` not None)."""
    router, history = split_key(meta.router)
    fields: dict[str, Any] = {"router": router, "version": meta.version}
    if history == "startup":
        fields["kind"] = history
    if changed:
        fields["previous"] = None if previous is None else previous.version
        fields["vendor"] = meta.vendor
        out = event_lines("config.changed", "info", fields, now, change)
    else:
        out = event_lines("config.unchanged", "info", fields, now)
    if intended is not None:
        out += verdict_lines(router, meta.version, intended, bool(drift), drift_text, now)
    return out


def verdict_lines(
    router: str, version: str, intended: Intended, drift: bool, diff: str, now: float
) -> list[bytes]:
    """``config.in_sync``/``config.drift`` (or ``config.desired_error``) and the EMF line."""
    if intended.error is not None:
        return event_lines(
            "config.desired_error",
            "error",
            {"router": router, "version": version, "error": intended.error[:MAX_ERROR]},
            now,
        )
    fields: dict[str, Any] = {"router": router, "version": version}
    if intended.location is None:
        fields.update(desired=None, reason="no_desired_config")
        out = event_lines("config.drift", "warning", fields, now)
    else:
        fields["desired"] = intended.location
        if drift:
            fields["reason"] = "differs"
            out = event_lines("config.drift", "warning", fields, now, diff)
        else:
            out = event_lines("config.in_sync", "info", fields, now)
    record = emf_record(
        {"router": router},
        {"drift": 1.0 if drift else 0.0},
        now,
        event="config.drift_metric",
        units={"drift": "Count"},
    )
    out += fit(record)
    return out


def event_lines(
    event: str, level: str, fields: dict[str, Any], now: float, diff: str | None = None
) -> list[bytes]:
    """One event line, or one per piece of ``diff`` (``part``/``parts``), each < 16 KiB."""
    return fit(
        envelope(event, level, now, {**fields, "diff": diff} if diff else fields), split="diff"
    )


def judged_lines(judged: Judged, now: float) -> list[bytes]:
    """The event and EMF lines of an unsaved or compliance verdict."""
    out: list[bytes] = []
    for event in judged.events:
        out += event_lines(event.name, event.level, event.fields, now, event.diff)
    for metric in judged.metrics:
        units = {name: UNITS.get(name, "None") for name in metric.values}
        record = emf_record(metric.dimensions, metric.values, now, event=metric.event, units=units)
        out += fit(record)
    return out


UNITS = {"unsaved": "Count", "compliance": "Percent", "unsaved_routers": "Count"}


def redact_for(lines: Sequence[str], kind: str) -> list[str]:
    """Config lines redacted by the rules of the vendor named ``kind``."""
    return redact.redact_lines(lines, as_vendor(kind))


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
