"""Text lines -> records for the report, counting every line it cannot use and why.

Accepts what people have at hand: the daemons' stdout saved to a file, ``docker compose
logs`` (each line prefixed ``service-1  | ``), CloudWatch event messages. A line is
``used`` when it is an edge-bridge record, else counted as ``truncated`` (it starts a JSON
object that never ends, as a cut-off copy does), ``not_json`` or ``foreign`` (JSON, but
not an edge-bridge line).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from bridge.report.facts import Facts

__all__ = ["InputCounts", "fold_lines"]


@dataclass
class InputCounts:
    lines: int = 0
    used: int = 0
    skipped: dict[str, int] = field(
        default_factory=lambda: {"truncated": 0, "not_json": 0, "foreign": 0, "blank": 0}
    )

    def as_dict(self) -> dict[str, Any]:
        return {"lines": self.lines, "used": self.used, "skipped": dict(self.skipped)}


def decode(line: str | bytes) -> tuple[dict[str, Any] | None, str]:
    """One line -> (record, "") or (None, why it was skipped)."""
    text = (line.decode("utf-8", "replace") if isinstance(line, bytes) else line).strip()
    if not text:
        return None, "blank"
    if not text.startswith("{"):
        brace = text.find("{")  # a docker compose prefix: "config-1  | {...}"
        if brace < 0:
            return None, "not_json"
        text = text[brace:]
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None, "not_json" if text.endswith("}") else "truncated"
    if not isinstance(value, dict):
        return None, "foreign"
    return value, ""


def fold_lines(lines: Iterable[str | bytes], facts: Facts, counts: InputCounts) -> None:
    """Decode each line and hand the edge-bridge records to ``facts``."""
    for line in lines:
        counts.lines += 1
        record, why = decode(line)
        if record is not None and facts.add(record):
            counts.used += 1
        else:
            counts.skipped[why or "foreign"] += 1
