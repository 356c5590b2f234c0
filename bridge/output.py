"""JSON lines on stdout: the one channel by which everything reaches CloudWatch Logs.

Hot paths render their own lines with orjson and hand over whole batches, so a burst of
messages costs one write and one flush; structlog writes through the same buffer, so the order
of lines on stdout is the order in which they were produced.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from bridge import stdout

# Docker's log drivers split lines at 16 KiB into separate CloudWatch events: stay below.
MAX_LINE_BYTES = 16383

_UTC = datetime.UTC
_second_cache: tuple[int, str] = (-1, "")


def iso_utc(ts: float) -> str:
    """``2026-11-30T16:35:23.123456Z``; the part up to the second is cached (hot path)."""
    global _second_cache
    second = int(ts // 1)
    cached_second, prefix = _second_cache
    if second != cached_second:
        prefix = datetime.datetime.fromtimestamp(second, _UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _second_cache = (second, prefix)
    micros = int((ts - second) * 1_000_000)
    return f"{prefix}.{min(micros, 999_999):06d}Z"


def write_lines(lines: Iterable[bytes]) -> None:
    """Hand ready lines (each ending in b"\\n") to stdout in one call (bridge/stdout.py)."""
    stdout.write(b"".join(lines))
