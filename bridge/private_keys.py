"""PEM private key blocks in config text: every line of the key goes, its markers stay.

A key spans lines, so unlike the line rules of :mod:`bridge.secrets` this reads the whole text
once and answers with the redacted form of each line inside a block. Certificates are public
and stay.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import Final

from bridge.secrets import FLAGS, REDACTED

_PEM_BEGIN: Final = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----", FLAGS)
_PEM_END: Final = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----", FLAGS)


def private_key_lines(lines: Sequence[str], text: str | None = None) -> dict[int, str]:
    """Every line of every PEM private key block, redacted, by index.

    ``text`` is ``"\\n".join(lines)`` (possibly with one more newline) if the caller has it.
    Certificates are public and stay; a key's BEGIN and END markers stay too.
    """
    if text is None:
        text = "\n".join(lines)
    at = text.find("-----")
    if at < 0:
        return {}
    starts = [0, *accumulate(len(line) + 1 for line in lines)]
    out: dict[int, str] = {}
    while at >= 0:
        k = bisect_right(starts, at) - 1
        if _PEM_BEGIN.search(lines[k]):
            out[k], going_on = _pem_begin(lines[k])
            while going_on and k + 1 < len(lines):
                k += 1
                out[k], going_on = _pem_body(lines[k])
        at = text.find("-----", starts[k + 1]) if k + 1 < len(lines) else -1
    return out


def _pem_begin(line: str) -> tuple[str, bool]:
    """Keep the BEGIN marker, redact what follows it; True if the block goes on."""
    begin = _PEM_BEGIN.search(line)
    assert begin is not None
    head, rest = line[: begin.end()], line[begin.end() :]
    end = _PEM_END.search(rest)
    if end:
        body = REDACTED if rest[: end.start()].strip() else rest[: end.start()]
        return head + body + rest[end.start() :], False
    return head + (REDACTED if rest.strip() else rest), True


def _pem_body(line: str) -> tuple[str, bool]:
    """A line inside a private key: only an END marker (and what follows it) survives."""
    end = _PEM_END.search(line)
    if end is None:
        return _blank_out(line), True
    return _blank_out(line[: end.start()]) + line[end.start() :], False


def _blank_out(text: str) -> str:
    stripped = text.lstrip()
    if not stripped:
        return text
    return text[: len(text) - len(stripped)] + REDACTED
