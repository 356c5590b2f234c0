"""Secrets out of a parsed message's fields before it is rendered, at a bounded cost.

The message, every structured data value (read as ``name=value``) and the raw text go through
the fail-closed redactor of ``bridge.secrets``, behind its cheap test for trigger words. The
redactor reads text at 0.5-2 us a character where trigger words are many: one hostile 64 KiB
datagram of ``key x key x ...`` held a worker for 136 ms. So it reads no text longer than
``TEXT_MAX``: such a text is cut at its first trigger word instead. No rule's secret starts
before its trigger word, so the cut fails closed: the text up to there stays, the rest
becomes ``<redacted>``, and the line says ``redacted: true``; :attr:`FieldRedactor.cut`
counts such lines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bridge.secrets import REDACTED, redact_line, redact_message
from bridge.trigger_words import first_trigger_word, might_hold_secret

__all__ = ["TEXT_MAX", "FieldRedactor"]

# Characters of one text the redactor reads (1-4 ms at worst): an echoed command is ~300, a
# FortiOS or PAN-OS config log up to ~1,500.
TEXT_MAX = 2048


class FieldRedactor:
    """Redacts the fields of one message after another, and counts the lines it cut."""

    __slots__ = ("_cutting", "cut")

    def __init__(self) -> None:
        self.cut = 0  # lines cut at a trigger word since the caller last reset it (a counter)
        self._cutting = False

    def redact(self, fields: dict[str, Any], data: bytes, maybe_secret: bool) -> bool:
        """Redact secrets in the message, structured data values and raw text of ``fields``
        (parsed from ``data``); True if any went.

        One test of the trigger words over the datagram first (unless the caller already
        found none in it): nearly every line stops there. The message and structured data
        values are pieces of its text (decoded with U+FFFD for bytes that are not UTF-8; an
        unescape drops only a backslash before '"', '\\' or ']'), so a word in them is a word
        in it. The raw text writes such bytes as ``\\xHH``, letters the datagram does not
        hold: then it is tested itself.
        """
        raw = fields.get("raw")
        if raw is not None and not data.isascii():
            maybe_secret = might_hold_secret(raw)
        elif maybe_secret:
            maybe_secret = might_hold_secret(data)
        if not maybe_secret:
            return False
        self._cutting = False
        changed = False
        for key in ("message", "raw"):
            text = fields.get(key)
            if isinstance(text, str) and might_hold_secret(text):
                redacted = self._bounded(text, redact_message)
                if redacted != text:
                    fields[key] = redacted
                    changed = True
        for params in (fields.get("structured_data") or {}).values():
            for name, value in params.items():
                new = self._param(name, value)
                if new is not value:
                    params[name] = new
                    changed = True
        if self._cutting:
            self.cut += 1
        return changed

    def _param(self, name: str, value: str | list[str]) -> str | list[str]:
        """A structured data value redacted as ``name=value`` would be (``value`` itself,
        the same object, if no secret is found in it)."""
        if isinstance(value, str):
            return self._value(name, value)
        values = [self._value(name, v) for v in value]
        return values if any(a is not b for a, b in zip(values, value, strict=True)) else value

    def _value(self, name: str, value: str) -> str:
        text = f"{name}={value}"
        if not might_hold_secret(text):
            return value
        redacted = self._bounded(text, redact_line)
        if redacted == text:
            return value
        return redacted.partition("=")[2] if redacted.startswith(name + "=") else redacted

    def _bounded(self, text: str, redact: Callable[[str], str]) -> str:
        """``redact(text)``, or ``text`` cut at its first trigger word when it is longer than
        ``TEXT_MAX``."""
        if len(text) <= TEXT_MAX:
            return redact(text)
        at = first_trigger_word(text)
        if at is None:
            return text
        self._cutting = True
        return text[:at] + REDACTED
