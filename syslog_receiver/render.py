"""One received syslog message -> one JSON line for stdout, sans-IO.

The line carries the output contract of DESIGN.md: ``event``, ``level``, ``time``, where the
message came from, and the parsed fields. It never reaches ``MAX_LINE_BYTES``: Docker's log
drivers split longer lines into separate CloudWatch events, so a long message is cut here and
the line says so with ``truncated`` and ``original_length`` (bytes as received).
"""

from __future__ import annotations

from typing import Any

import orjson

from bridge.guard import RouterNames
from bridge.output import MAX_LINE_BYTES

__all__ = ["LEVELS", "Renderer"]

# Syslog severity -> the line's ``level``, so CloudWatch filters on level see router alarms.
LEVELS: dict[Any, str] = {
    0: "critical",  # emerg
    1: "critical",  # alert
    2: "critical",  # crit
    3: "error",
    4: "warning",
    5: "info",  # notice
    6: "info",
    7: "debug",
}

_dumps = orjson.dumps
_NEWLINE = orjson.OPT_APPEND_NEWLINE
# A line must fit even if every parsed field is at its longest; past the message these are
# capped at this many characters each, far above what RFC 5424 allows them.
_FIELD_CAP = 255


class Renderer:
    """Builds output lines; holds what does not change per message (options, router names)."""

    __slots__ = ("_heads", "_sources", "include_raw", "max_line", "routers", "truncated")

    def __init__(
        self,
        *,
        include_raw: bool = False,
        routers: RouterNames | None = None,
        max_line: int = MAX_LINE_BYTES,
    ) -> None:
        self.include_raw = include_raw
        self.routers = routers or RouterNames(())
        self.max_line = max_line
        self.truncated = 0  # lines cut since the caller last reset it (a counter)
        # Encoded pieces that repeat from line to line: the envelope up to ``time`` and
        # ``received_at`` (one per severity for the current second's stamp), and the
        # source address, port and transport (routers send from one port).
        self._heads: dict[Any, bytes] = {}
        self._sources: dict[tuple[str, int, str], bytes] = {}

    def render(
        self,
        fields: dict[str, Any],
        data: bytes,
        source_ip: str,
        source_port: int,
        transport: str,
        received_at: str,
        original_length: int | None = None,
    ) -> bytes:
        """The line (ending in LF) for one message.

        ``fields`` is what the parser returned for ``data``, and is consumed: the line's
        optional keys are added to it. ``original_length`` is given when the receiver already
        cut ``data`` to its maximum message size.

        The fixed head of the line is spliced in as ready bytes, and orjson encodes only the
        parser's fields: on the hot path that halves the cost of a line.
        """
        router = self.routers.get(source_ip)
        if router is not None:
            fields["router"] = router
        if original_length is not None:
            self.truncated += 1
            fields["truncated"] = True
            fields["original_length"] = original_length
        if self.include_raw:
            fields["raw"] = data.decode("utf-8", "backslashreplace")
        severity = fields.get("severity")
        head = self._heads.get((severity, received_at))
        if head is None:
            head = self._head(severity, received_at)
        source = self._sources.get((source_ip, source_port, transport))
        if source is None:
            source = self._source(source_ip, source_port, transport)
        body = _dumps(fields, option=_NEWLINE)
        # body[1:] drops its "{"; with no fields at all, the source's "," must go instead.
        line = head + source + body[1:] if len(body) > 3 else head + source[:-1] + b"}\n"
        if len(line) <= self.max_line:
            return line
        record: dict[str, Any] = {
            "event": "syslog",
            "level": LEVELS.get(severity, "info"),
            "time": received_at,
            "received_at": received_at,
            "source_ip": source_ip,
            "source_port": source_port,
            "transport": transport,
        }
        record.update(fields)
        return self._fit(record, len(data) if original_length is None else original_length)

    def _head(self, severity: Any, received_at: str) -> bytes:
        if len(self._heads) >= 64:  # a new second: the old stamps are done with
            self._heads.clear()
        stamp = _dumps(received_at)
        head = b'{"event":"syslog","level":%s,"time":%s,"received_at":%s,' % (
            _dumps(LEVELS.get(severity, "info")),
            stamp,
            stamp,
        )
        self._heads[(severity, received_at)] = head
        return head

    def _source(self, source_ip: str, source_port: int, transport: str) -> bytes:
        if len(self._sources) >= 4096:
            self._sources.clear()
        source = b'"source_ip":%s,"source_port":%d,"transport":%s,' % (
            _dumps(source_ip),
            source_port,
            _dumps(transport),
        )
        self._sources[(source_ip, source_port, transport)] = source
        return source

    def _shrink(self, record: dict[str, Any], key: str, line: bytes, whole: bool) -> bytes:
        """Cut the string at ``key`` so the line fits; with ``whole``, only if that suffices."""
        value = record.get(key)
        excess = len(line) - self.max_line
        if excess <= 0 or not isinstance(value, str) or not value:
            return line
        encoded = len(_dumps(value))
        if whole and encoded - 2 < excess:
            return line
        record[key] = _cut(value, encoded - excess)
        return _dumps(record, option=_NEWLINE)

    def _fit(self, record: dict[str, Any], original_length: int) -> bytes:
        """Cut long fields until the line fits: raw, then the message or structured data."""
        if "truncated" not in record:
            self.truncated += 1
        record["truncated"] = True
        record["original_length"] = original_length
        line = _dumps(record, option=_NEWLINE)
        line = self._shrink(record, "raw", line, whole=False)
        # Cut the message if that is enough; else structured data too big to keep is given
        # up first (a short message beside it is worth more), then the message is cut.
        line = self._shrink(record, "message", line, whole=True)
        if len(line) > self.max_line and record.get("structured_data") is not None:
            record["structured_data"] = None
            line = _dumps(record, option=_NEWLINE)
        line = self._shrink(record, "message", line, whole=False)
        if len(line) > self.max_line:
            # Only an absurd parser result (huge hostname, app name, extra fields) gets here.
            for key, value in list(record.items()):
                if isinstance(value, str) and len(value) > _FIELD_CAP:
                    record[key] = value[:_FIELD_CAP]
                elif isinstance(value, dict | list):
                    record[key] = None
            line = _dumps(record, option=_NEWLINE)
        if len(line) > self.max_line:
            keep = ("event", "level", "time", "received_at", "source_ip", "source_port")
            line = _dumps(
                {k: record[k] for k in keep if k in record}
                | {"truncated": True, "original_length": original_length},
                option=_NEWLINE,
            )
        return line


def _cut(text: str, budget: int) -> str:
    """The longest prefix of ``text`` whose JSON string encoding fits ``budget`` bytes.

    A character costs 1 to 6 bytes once encoded (``\\u0000`` escapes), so bisect the prefix.
    """
    low, high = 0, min(len(text), max(0, budget - 2))
    while low < high:
        middle = (low + high + 1) // 2
        if len(_dumps(text[:middle])) <= budget:
            low = middle
        else:
            high = middle - 1
    return text[:low]
