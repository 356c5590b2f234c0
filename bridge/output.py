"""JSON lines on stdout, the one channel by which everything reaches CloudWatch Logs: the
contract each line keeps, sans-IO (``bridge.stdout`` writes them).

Every line is built by :func:`envelope` (``event``, ``level``, ``time`` first, then the fields)
and kept under the line budget by :func:`fit`: Docker's log drivers split a line at 16 KiB into
separate CloudWatch events, which no reader would join again. A field meant to be read whole (a
config diff) is spread over several lines with ``part``/``parts``; anything else too long is
cut, and the line says ``truncated: true``.

Hot paths render their own lines with orjson (the syslog receiver splices a cached envelope
before the parsed fields, and only a line over the budget goes through :func:`fit`) and hand
over whole batches to ``bridge.stdout.write_lines``, so a burst costs one write; structlog
writes through the same buffer, so the order of lines on stdout is the order they were made.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson

# Docker's log drivers split lines at 16 KiB into separate CloudWatch events: stay below.
MAX_LINE_BYTES: Final = 16383
ENVELOPE: Final = ("event", "level", "time")

_UTC = datetime.UTC
_second_cache: tuple[int, str] = (-1, "")
_NEWLINE = orjson.OPT_APPEND_NEWLINE
_MIN_BUDGET: Final = 8  # two quotes and the longest escape (\u001f)
_WIDEST_PART: Final = 10**9  # part numbers at their widest, when the budget is worked out


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


def envelope(
    event: str, level: str, time: float | str, fields: Mapping[str, Any]
) -> dict[str, Any]:
    """A stdout line's record: ``event``, ``level``, ``time`` (ISO 8601 UTC) first, then fields.

    ``time`` is Unix seconds, or a stamp already formatted by :func:`iso_utc`.
    """
    stamp = time if isinstance(time, str) else iso_utc(time)
    return {"event": event, "level": level, "time": stamp, **fields}


def text_default(value: Any) -> Any:
    """Render what orjson does not know (addresses, exceptions, sets) as text, never fail."""
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def dumps(record: Mapping[str, Any]) -> bytes:
    """One line (ending in LF), whatever the values are."""
    return orjson.dumps(record, default=text_default, option=_NEWLINE)


def fit(
    record: Mapping[str, Any],
    *,
    split: str | None = None,
    cut: Sequence[str] = (),
    max_line: int = MAX_LINE_BYTES,
) -> list[bytes]:
    """``record`` as lines (each ending in LF) of at most ``max_line`` bytes.

    A string at ``split`` is spread over as many lines as it needs, each a copy of the other
    fields with ``part`` (from 1) and ``parts``: joined in order, the pieces give it back whole.
    Any other line too long is cut to one that fits, marked ``truncated: true``: the fields in
    ``cut`` give way first, in that order (the least valuable first), then the others, the
    largest first; see :func:`_truncate`.
    """
    text = record.get(split) if split else None
    if not isinstance(text, str) or not text:
        line = dumps(record)
        return [line] if len(line) <= max_line else [_truncate(dict(record), cut, max_line)]
    assert split is not None
    head = {key: value for key, value in record.items() if key != split}
    room = budget_for({**head, "part": _WIDEST_PART, "parts": _WIDEST_PART}, split, max_line)
    if room < _MIN_BUDGET:  # the other fields leave no room: the line cannot be split
        return [_truncate(dict(record), [split, *cut], max_line)]
    pieces = split_text(text, room)
    return [
        dumps({**head, "part": n, "parts": len(pieces), split: piece})
        for n, piece in enumerate(pieces, 1)
    ]


# -- cutting -------------------------------------------------------------------------------


def _truncate(record: dict[str, Any], cut: Sequence[str], max_line: int) -> bytes:
    """Cut fields until the line fits, and say so.

    Fields give way in order: the listed ones, then the rest, largest first (the envelope
    never). While cutting one field (just as much as needed) would be enough, that one is cut
    and the line is done; when none would be, the first that still holds something is given up
    whole (a string emptied, anything else set to null) and the search starts again. So a long
    message beside small structured data is cut and the data kept, while structured data too
    big to keep goes before a message that fits on its own.
    """
    record["truncated"] = True
    listed = [key for key in cut if key in record]
    rest = [key for key in record if key not in listed and key not in ENVELOPE]
    saving = {key: _saving(record[key]) for key in listed + rest}
    rest.sort(key=saving.__getitem__, reverse=True)
    held = [key for key in listed + rest if saving[key] > 0]
    line = dumps(record)
    while len(line) > max_line and held:
        excess = len(line) - max_line
        key = next((k for k in held if saving[k] >= excess), None)
        if key is None:
            key = held.pop(0)
            record[key] = "" if isinstance(record[key], str) else None
        elif isinstance(value := record[key], str):
            record[key] = _prefix(value, len(orjson.dumps(value)) - excess)
        else:
            record[key] = None
        line = dumps(record)
    if len(line) > max_line:  # only an absurd event name or level gets here
        line = dumps(
            {k: str(record[k])[:200] for k in ENVELOPE if k in record} | {"truncated": True}
        )
    return line


def _saving(value: Any) -> int:
    """Bytes saved by giving ``value`` up: a string emptied, a container or number set to null."""
    if isinstance(value, str):
        return len(orjson.dumps(value)) - 2
    if value is None or isinstance(value, bool):
        return 0
    return len(orjson.dumps(value, default=text_default)) - 4


def _prefix(text: str, budget: int) -> str:
    """The longest prefix of ``text`` whose JSON string encoding fits ``budget`` bytes.

    A character costs 1 to 6 bytes once encoded (``\\u0000`` escapes), so bisect the prefix.
    """
    low, high = 0, min(len(text), max(0, budget - 2))
    while low < high:
        middle = (low + high + 1) // 2
        if len(orjson.dumps(text[:middle])) <= budget:
            low = middle
        else:
            high = middle - 1
    return text[:low]


def budget_for(record: Mapping[str, Any], field: str, max_line: int = MAX_LINE_BYTES) -> int:
    """Bytes left for ``field``'s JSON string (quotes included) in a one-line ``record``.

    ``record`` must hold every other field the line will carry, varying ones (part numbers)
    at their largest, so that the line with the piece stays within ``max_line``.
    """
    rest = len(dumps({**record, field: ""}))  # the newline included
    return max_line - rest + 2  # the empty string's quotes are counted in rest


def split_text(text: str, budget: int) -> list[str]:
    """Cut ``text`` into pieces whose ``orjson.dumps`` is at most ``budget`` bytes each.

    ``"".join(pieces) == text``. Pieces end at line ends unless one line alone is too long.
    """
    if budget < _MIN_BUDGET:
        raise ValueError(f"budget {budget} is below {_MIN_BUDGET} bytes")
    room = budget - 2  # the quotes
    pieces: list[str] = []
    current: list[str] = []
    used = 0
    for line in text.splitlines(keepends=True):
        cost = len(orjson.dumps(line)) - 2  # escapes are per character, so costs add up
        if used + cost > room and current:
            pieces.append("".join(current))
            current, used = [], 0
        while cost > room:  # one line alone too long: cut it inside
            head = _prefix(line, budget)
            pieces.append(head)
            line = line[len(head) :]
            cost = len(orjson.dumps(line)) - 2
        if line:
            current.append(line)
            used += cost
    if current:
        pieces.append("".join(current))
    return pieces
