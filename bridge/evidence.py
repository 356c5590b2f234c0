"""Per-router evidence lines: one summary per daemon per interval, and per-router EMF.

Each daemon keeps its own table (what it alone can see) and hands it here as
``{router: fields}``; this module turns it into lines that honour the output contract: the
summary is one ``<daemon>.evidence`` line, split into ``part``/``parts`` only when a fleet is
too large for 16 KiB, and per-router EMF lines (dimension ``router``) for at most
``EMF_ROUTERS`` routers, so a spoofed flood of sources cannot create unbounded metrics.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from bridge.metrics import emf_record
from bridge.output import MAX_LINE_BYTES, envelope

__all__ = ["EMF_ROUTERS", "evidence_lines", "router_emf_lines"]

EMF_ROUTERS = 100  # CloudWatch bills every metric: a flood of sources must not create more


def evidence_lines(
    event: str,
    routers: Mapping[str, Mapping[str, Any]],
    now: float,
    extra: Mapping[str, Any] | None = None,
    max_line: int = MAX_LINE_BYTES,
) -> list[bytes]:
    """The summary line(s): ``{"event", "level", "time", **extra, "routers": {...}}``.

    Routers are packed greedily in name order; a single router whose fields alone exceed the
    line is replaced by ``{"omitted": "too large"}`` rather than breaking the contract.
    """
    head = envelope(event, "info", now, extra or {})
    budget = max_line - len(orjson.dumps({**head, "routers": {}, "part": 99999, "parts": 99999}))
    chunks: list[dict[str, Any]] = [{}]
    used = 0
    for name in sorted(routers):
        size = len(orjson.dumps({name: routers[name]}))
        fields: Mapping[str, Any] = routers[name]
        if size > budget:
            fields = {"omitted": "too large"}
            size = len(orjson.dumps({name: fields}))
        if used + size > budget and chunks[-1]:
            chunks.append({})
            used = 0
        chunks[-1][name] = fields
        used += size
    if len(chunks) == 1:
        return [orjson.dumps({**head, "routers": chunks[0]}) + b"\n"]
    return [
        orjson.dumps({**head, "routers": chunk, "part": index, "parts": len(chunks)}) + b"\n"
        for index, chunk in enumerate(chunks, 1)
    ]


def router_emf_lines(
    event: str,
    metrics: Mapping[str, Mapping[str, float]],
    now: float,
    units: Mapping[str, str],
    limit: int = EMF_ROUTERS,
) -> list[bytes]:
    """One EMF line per router (at most ``limit``, in name order), dimension ``router``."""
    return [
        orjson.dumps(
            emf_record({"router": name}, dict(metrics[name]), now, event=event, units=dict(units))
        )
        + b"\n"
        for name in sorted(metrics)[:limit]
    ]
