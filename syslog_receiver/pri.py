"""The <PRI> prefix shared by every syslog dialect.

PRI = facility * 8 + severity, 0..191 (RFC 5424 section 6.2.1). The caller must tell three
cases apart, because they lead to different formats: no PRI at all (RFC 3164 section 4.3.3:
facility user, severity notice), a valid PRI, and a PRI that is there but broken ("<abc>",
"<192>", "<13" with no '>'), which makes the whole message `raw`. Leading zeros ("<013>") are
forbidden by the RFCs but unambiguous, so they are accepted.
"""

from __future__ import annotations

NO_PRI = -1
BAD_PRI = -2


_cache: dict[str, tuple[int, int]] = {}
_CACHE_MAX = 4096


def split_pri(text: str) -> tuple[int, int]:
    """(pri, offset of the text after '>'), or (NO_PRI, 0) / (BAD_PRI, 0)."""
    # The answer depends on the first five characters only, and a router repeats its PRIs:
    # a bounded memo of them costs one slice and one lookup.
    head = text[:5]
    try:
        return _cache[head]
    except KeyError:
        pass
    result = _split_pri(head)
    if len(_cache) >= _CACHE_MAX:
        _cache.clear()
    _cache[head] = result
    return result


def _split_pri(text: str) -> tuple[int, int]:
    if not text.startswith("<"):
        return NO_PRI, 0
    end = text.find(">", 1, 5)
    if end < 2:
        return BAD_PRI, 0
    digits = text[1:end]
    if not digits.isascii() or not digits.isdigit():
        return BAD_PRI, 0
    pri = int(digits)
    if pri > 191:
        return BAD_PRI, 0
    return pri, end + 1
