"""Upload bodies to config bytes: gzip undone under a cap, nothing else guessed.

Junos archives arrive as ``.gz`` whatever the Content-Encoding says, so a body is gunzipped
when the header asks for it *or* when it starts with the gzip magic bytes. Decompression runs
with ``max_length`` so a bomb (a few KiB expanding to gigabytes) costs at most ``limit + 1``
bytes of memory before it is refused.
"""

from __future__ import annotations

import zlib

GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 16 + zlib.MAX_WBITS


class BodyError(Exception):
    """A body that cannot become a config; ``reason`` names the counter and the HTTP status."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class TooLarge(BodyError):
    def __init__(self, limit: int) -> None:
        super().__init__("too_large", f"body larger than {limit} bytes")


def is_gzip(data: bytes, content_encoding: str | None) -> bool:
    encoding = (content_encoding or "").strip().lower()
    return encoding in ("gzip", "x-gzip") or data.startswith(GZIP_MAGIC)


def gunzip_capped(data: bytes, limit: int) -> bytes:
    """Decompress every gzip member of ``data``; :class:`TooLarge` past ``limit`` bytes."""
    out: list[bytes] = []
    total = 0
    pending = data
    while True:
        inflater = zlib.decompressobj(_GZIP_WBITS)
        tail = pending
        while not inflater.eof:
            try:
                chunk = inflater.decompress(tail, limit - total + 1)
            except zlib.error as exc:
                raise BodyError("undecodable", f"bad gzip data: {exc}") from None
            total += len(chunk)
            if total > limit:
                raise TooLarge(limit)
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


def decode_body(data: bytes, content_encoding: str | None, limit: int) -> bytes:
    """The config bytes of one upload: gunzipped when needed, never longer than ``limit``."""
    if len(data) > limit:
        raise TooLarge(limit)
    if is_gzip(data, content_encoding):
        data = gunzip_capped(data, limit)
    if not data.strip():
        raise BodyError("empty", "empty body")
    return data
