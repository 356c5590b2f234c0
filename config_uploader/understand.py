"""One call from an uploaded body to everything the uploader needs to know about the config.

``understand(raw)`` decodes the bytes, detects the vendor, normalises the text, redacts it and
finds the hostname written inside it; it never raises, whatever the bytes. The caller decides
what to do with a :attr:`Config.binary` body (a MikroTik ``.backup``, a still-compressed
archive): it is not a text config and should be refused.

The parts stay usable on their own: ``vendor.detect``, ``normalise.decode`` /
``normalise.normalise``, ``redact.redact`` / ``redact.redact_lines``, ``identity.identify``,
``diff.unified_diff`` / ``diff.split_diff`` / ``diff.budget_for``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from config_uploader.identity import from_config
from config_uploader.normalise import decode, normalise
from config_uploader.redact import redact
from config_uploader.vendor import Vendor, detect

_SNIFF: Final = 8192
_CONTROL: Final = frozenset(range(32)) - {9, 10, 12, 13, 27}


@dataclass(frozen=True, slots=True)
class Config:
    vendor: Vendor
    encoding: str
    """How the bytes were decoded: ``utf-8``, ``cp932`` or ``latin-1``."""
    normalised: str
    """The text versions are compared on (``normalise``); may hold secrets: never log it."""
    redacted: str
    """``normalised`` with every secret value replaced by ``<redacted>``: safe to show."""
    hostname: str | None
    """The router's own name from the config, already ``canonical_name``-d; ``None`` if absent."""
    binary: bool
    """The body is not text (NUL bytes or mostly control characters, gzip magic)."""


def looks_binary(raw: bytes) -> bool:
    """True for bodies that are no text config, judged from the first few KiB."""
    head = raw[:_SNIFF]
    if head.startswith(b"\x1f\x8b") or b"\x00" in head:
        return True
    controls = sum(1 for byte in head if byte in _CONTROL)
    return controls * 10 > len(head)


def understand(raw: bytes) -> Config:
    """Decode, detect, normalise, redact and name an uploaded config."""
    text, encoding = decode(raw)
    vendor = detect(text)
    normalised = normalise(text, vendor)
    return Config(
        vendor=vendor,
        encoding=encoding,
        normalised=normalised,
        redacted=redact(normalised, vendor),
        hostname=from_config(normalised, vendor),
        binary=looks_binary(raw),
    )
