"""One received syslog message -> one JSON line for stdout, sans-IO.

The line carries the output contract of DESIGN.md: ``event``, ``level``, ``time``, where the
message came from, and the parsed fields. It never reaches ``MAX_LINE_BYTES``: Docker's log
drivers split longer lines into separate CloudWatch events, so a line over it goes through
``bridge.output.fit``, which cuts the raw text, then structured data too big to keep, then the
message, and the line says so with ``truncated`` and ``original_length`` (bytes as received).

Routers log typed commands (Cisco ``%PARSER-5-CFGLOG_LOGGEDCMD``, Junos
``UI_CMDLINE_READ_LINE`` and ``UI_CFGAUDIT_*``, ...), and a command can carry a secret
(``snmp-server community S3cret``). So the message, the structured data values and the raw
text pass through the fail-closed redactor of ``bridge.secrets`` first; a cheap test for its
trigger words lets the many lines without any go by untouched, and the redactor reads no
text longer than a bound (see redaction.py). A line that lost a secret says so with
``redacted: true``.
"""

from __future__ import annotations

from typing import Any

import orjson

from bridge.guard import RouterNames
from bridge.output import MAX_LINE_BYTES, envelope, fit
from syslog_receiver.redaction import FieldRedactor

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
# What gives way when a line is too long, the least valuable first: the raw text repeats the
# message; structured data too big to keep goes before a message that fits on its own.
_CUT = ("raw", "structured_data", "message")


class Renderer:
    """Builds output lines; holds what does not change per message (options, router names)."""

    __slots__ = (
        "_heads",
        "_sources",
        "include_raw",
        "max_line",
        "redacted",
        "redaction",
        "routers",
        "truncated",
    )

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
        self.redacted = 0  # lines that lost a secret since the caller last reset it
        self.redaction = FieldRedactor()
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
        maybe_secret: bool = True,
    ) -> bytes:
        """The line (ending in LF) for one message.

        ``fields`` is what the parser returned for ``data``, and is consumed: the line's
        optional keys are added to it. ``original_length`` is given when the receiver already
        cut ``data`` to its maximum message size. ``maybe_secret`` False says the caller found
        no trigger word in ``data`` (``bridge.trigger_words.holding_trigger_words`` over a whole
        batch), so the renderer need not look for one itself.

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
        if (maybe_secret or self.include_raw) and self.redaction.redact(fields, data, maybe_secret):
            fields["redacted"] = True
            self.redacted += 1
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
        source_fields = {"source_ip": source_ip, "source_port": source_port, "transport": transport}
        record = envelope(
            "syslog",
            LEVELS.get(severity, "info"),
            received_at,
            {"received_at": received_at, **source_fields, **fields},
        )
        if original_length is None:
            self.truncated += 1
            record["original_length"] = len(data)
        [line] = fit(record, cut=_CUT, max_line=self.max_line)
        return line

    def _head(self, severity: Any, received_at: str) -> bytes:
        if len(self._heads) >= 64:  # a new second: the old stamps are done with
            self._heads.clear()
        level = LEVELS.get(severity, "info")
        record = envelope("syslog", level, received_at, {"received_at": received_at})
        head = _dumps(record)[:-1] + b","  # the fields follow the envelope
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
