"""Whether text holds a trigger word of the redactor's rules: the cheap test before redacting.

Every rule of :mod:`bridge.secrets` names the words without which it cannot match (``pass``,
``key``, ``communit``, ``$1$``, ``7 0``...). The syslog receiver looks for them in every
datagram and redacts only where one is found: nearly every line stops here. One pass of an
Aho-Corasick automaton (`ahocorasick-rs`) finds them all, about 0.3 us for a 150-byte
datagram. It is leftmost-longest, so where a public key word is written (``publickey``,
``ssh-key``) that word is found and hides the ``key`` inside it; no trigger word starts
within one, so nothing else is hidden. Text is lowered in ASCII letters only, as the rules
fold case.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from itertools import accumulate
from typing import Final

import ahocorasick_rs

from bridge.secrets import PUBLIC_KEYS, RULES, lower

__all__ = ["TRIGGER_WORDS", "first_trigger_word", "holding_trigger_words", "might_hold_secret"]

TRIGGER_WORDS: Final = sorted({word for each in RULES for word in each.triggers})
_FINDER: Final = ahocorasick_rs.BytesAhoCorasick(
    [word.encode() for word in (*TRIGGER_WORDS, *PUBLIC_KEYS)],
    matchkind=ahocorasick_rs.MATCHKIND_LEFTMOST_LONGEST,
)


def _starts(low: bytes) -> Iterator[int]:
    """Where trigger words start in lowered text, in order (public key words passed over)."""
    triggers = len(TRIGGER_WORDS)
    return (start for word, start, _ in _FINDER.find_matches_as_indexes(low) if word < triggers)


def _encoded(text: str) -> bytes:
    return lower(text).encode("utf-8", "surrogatepass")


def might_hold_secret(text: str | bytes) -> bool:
    """False when no rule of :data:`bridge.secrets.RULES` can match ``text``.

    Bytes are taken as they are: the syslog receiver tests a whole datagram, whose message and
    structured data are pieces of its text.
    """
    return next(_starts(text.lower() if isinstance(text, bytes) else _encoded(text)), -1) >= 0


def first_trigger_word(text: str) -> int | None:
    """Where the first trigger word starts in ``text`` (None if it holds none). No rule's
    secret begins before it, so text cut there (``text[:at]``) holds no secret."""
    low = _encoded(text)
    start = next(_starts(low), -1)
    return None if start < 0 else len(low[:start].decode("utf-8", "surrogatepass"))


def holding_trigger_words(texts: Sequence[bytes]) -> set[int]:
    """The indexes of ``texts`` of which :func:`might_hold_secret` is True, found in one pass
    over them all: a batch of datagrams costs one call instead of one per datagram."""
    joined = b"\0".join(texts).lower()  # no trigger word holds a NUL: none spans two texts
    starts = list(_starts(joined))
    if not starts:
        return set()
    ends = list(accumulate(len(text) + 1 for text in texts))
    return {bisect_right(ends, start) for start in starts}
