"""HTTP Basic credentials, checked in constant time."""

from __future__ import annotations

import base64
import binascii
import hmac


class Credentials:
    """``user:password`` pairs for HTTP Basic auth, checked in constant time."""

    def __init__(self, pairs: list[str]) -> None:
        self._pairs = [pair.encode() for pair in pairs]

    @property
    def enabled(self) -> bool:
        return bool(self._pairs)

    def check(self, header: str | None) -> bool:
        if not header:
            return False
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        # Compare with every pair, no early exit: timing says nothing about which one matched.
        matched = False
        for pair in self._pairs:
            matched |= hmac.compare_digest(given, pair)
        return matched
