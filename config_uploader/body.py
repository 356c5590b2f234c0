"""Upload bodies to config bytes: gzip undone under caps, nothing else guessed.

Junos archives arrive as ``.gz`` whatever the Content-Encoding says, so a body is gunzipped
when the header asks for it *or* when it starts with the gzip magic bytes. Decompression runs
:data:`CHUNK` bytes of output at a time, and every chunk is checked against the caps as it
comes: the bytes left to the request (``limit``), the number of lines and the longest line
(:class:`Shape`). A bomb (a few KiB expanding to gigabytes, or to millions of two-byte lines)
is refused after at most one chunk past a cap, before any of it is normalised.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field

GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 16 + zlib.MAX_WBITS
CHUNK = 256 * 1024
UNLIMITED_LINES = 1 << 62


class BodyError(Exception):
    """A body that cannot become a config; ``reason`` names the counter and the HTTP status."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class TooLarge(BodyError):
    def __init__(self, limit: int) -> None:
        super().__init__("too_large", f"body larger than {limit} bytes")


@dataclass
class Shape:
    """Counts the lines of a config as its bytes arrive; ``BodyError`` past a cap."""

    max_lines: int = UNLIMITED_LINES
    max_line: int = UNLIMITED_LINES
    lines: int = 0
    _run: int = 0  # bytes of the line not yet ended
    _too_long: re.Pattern[bytes] | None = field(default=None, repr=False)

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.lines += chunk.count(b"\n")
        if self.lines > self.max_lines:
            raise BodyError("too_many_lines", f"config has more than {self.max_lines} lines")
        if self.max_line >= UNLIMITED_LINES:
            return
        first = chunk.find(b"\n")
        if first < 0:
            self._run += len(chunk)
        else:
            if self._run + first > self.max_line:
                self._too_long_error()
            if self._too_long is None:
                # Led by the newline, so each line is scanned once from its start: a pattern
                # that may start anywhere rescans every line from each of its bytes.
                self._too_long = re.compile(rb"\n[^\n]{%d}" % (self.max_line + 1))
            if len(chunk) - first > self.max_line and self._too_long.search(chunk, first):
                self._too_long_error()
            self._run = len(chunk) - chunk.rfind(b"\n") - 1
        if self._run > self.max_line:
            self._too_long_error()

    def _too_long_error(self) -> None:
        raise BodyError("line_too_long", f"config has a line longer than {self.max_line} bytes")


def is_gzip(data: bytes, content_encoding: str | None) -> bool:
    encoding = (content_encoding or "").strip().lower()
    return encoding in ("gzip", "x-gzip") or data.startswith(GZIP_MAGIC)


def gunzip_capped(data: bytes, limit: int, shape: Shape | None = None) -> bytes:
    """Decompress every gzip member of ``data``; :class:`TooLarge` past ``limit`` bytes,
    the ``shape``'s errors past its caps."""
    out: list[bytes] = []
    total = 0
    pending = data
    while True:
        inflater = zlib.decompressobj(_GZIP_WBITS)
        tail = pending
        while not inflater.eof:
            try:
                chunk = inflater.decompress(tail, min(CHUNK, limit - total + 1))
            except zlib.error as exc:
                raise BodyError("undecodable", f"bad gzip data: {exc}") from None
            total += len(chunk)
            if total > limit:
                raise TooLarge(limit)
            if shape is not None:
                shape.feed(chunk)
            out.append(chunk)
            tail = inflater.unconsumed_tail
            # No input left and no output made: the stream ends before its trailer.
            if not tail and not chunk and not inflater.eof:
                raise BodyError("undecodable", "truncated gzip data")
        pending = inflater.unused_data
        # Another member follows (concatenated .gz files); anything else is trailing padding.
        if not pending.startswith(GZIP_MAGIC):
            break
    return b"".join(out)


def decode_body(
    data: bytes, content_encoding: str | None, limit: int, shape: Shape | None = None
) -> bytes:
    """The config bytes of one upload: gunzipped when needed, never longer than ``limit``
    and within the ``shape``'s caps."""
    if len(data) > limit:
        raise TooLarge(limit)
    if is_gzip(data, content_encoding):
        data = gunzip_capped(data, limit, shape)
    elif shape is not None:
        shape.feed(data)
    if not data.strip():
        raise BodyError("empty", "empty body")
    return data
