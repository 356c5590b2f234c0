"""Turn an uploaded config into the text that versions are compared on.

Routers stamp their configs with things that change on every upload without any change of
configuration (the time of the report, the byte count, the clock drift), and transports add
their own noise (CRLF line ends, trailing blanks, RouterOS's line wrapping). Compared raw, every
upload would look like a change and every router would look drifted. Normalising removes
exactly that noise and nothing else:

* bytes are decoded by :func:`decode` (UTF-8, else Shift_JIS as Yamaha consoles may use, else
  Latin-1, which never fails);
* line ends become LF, trailing whitespace is dropped from every line, and leading and trailing
  blank lines are dropped; a non-empty result ends with exactly one LF;
* the command echoed as the first line (Yamaha's HTTP upload writes ``show config``; captures
  start with ``show running-config``, ``show configuration``, ``/export``) is dropped;
* volatile lines are dropped and volatile parts of kept lines cut, as the vendor's profile in
  ``config_uploader/vendors`` declares (with ``"unknown"``, every profile's): report dates
  (Yamaha ``# Reporting Date:``, Junos ``## Last commit:``), byte counts and change stamps
  (IOS ``Current configuration : N bytes``, ``! Last configuration change at ...``), the
  RouterOS export date (``# nov/30/2026 16:35:23 by RouterOS 7.16`` keeps ``# by RouterOS
  7.16``), the FortiOS ``#conf_file_ver=`` and the admin who saved it;
* where a profile says a ``\\`` at a line end continues the line (RouterOS), continued lines
  are joined (the wrap points move whenever a value's length does);
* lines naming firmware (``# RTX1210 Rev.14.01.05 ...``, ``version 15.9``,
  ``version 21.4R3.15;``, ``! device: ... EOS-4.28.3M``, RouterOS's version) stay: an upgrade
  is a real change.

Everything is line-based regular expressions over already decoded text: linear in its length.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from config_uploader.vendor import Vendor
from config_uploader.vendors import PROFILES, Profile

ECHO: Final = re.compile(
    r"(?:[\w.@()\[\]/-]{0,64}[>#] ?)?"
    r"(?:show (?:config(?:uration)?|running-config|startup-config|run)\b.*|/?export\b.*)"
)


def _uses(vendor: Vendor) -> tuple[Profile, ...]:
    """The profiles whose rules normalise a config of ``vendor``: its own, or all if unknown."""
    profile = PROFILES.get(vendor)
    return (profile,) if profile is not None else tuple(PROFILES.values())


def _volatile(vendor: Vendor) -> re.Pattern[str] | None:
    """Whole volatile lines, each with the newline before it, in one expression: it runs over
    the text with a newline put in front, so re jumps from newline to newline."""
    lines = sorted({line for p in _uses(vendor) for line in p.volatile})
    return re.compile(r"\n(?:" + "|".join(lines) + r")(?=\n|\Z)") if lines else None


def _rewrites(vendor: Vendor) -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple(
        (re.compile(r"\n" + pattern + r"(?=\n|\Z)"), replacement)
        for p in _uses(vendor)
        for pattern, replacement in p.rewrites
    )


_DROP: Final = {vendor: _volatile(vendor) for vendor in (*PROFILES, "unknown")}
_REWRITE: Final = {vendor: _rewrites(vendor) for vendor in (*PROFILES, "unknown")}
_JOIN: Final = {
    vendor: any(p.continued_lines for p in _uses(vendor)) for vendor in (*PROFILES, "unknown")
}
_CONTINUATION: Final = re.compile(r"\\[ \t]*\n[ \t]*")


def decode(raw: bytes) -> tuple[str, str]:
    """``(text, encoding)``: UTF-8 (a BOM is dropped), else cp932, else Latin-1."""
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return raw.decode(encoding), "utf-8" if encoding == "utf-8-sig" else encoding
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1"), "latin-1"


def normalise(text: str, vendor: Vendor) -> str:
    """The comparable form of ``text`` (see the module docstring for what is removed)."""
    return joined(normalise_lines(text, vendor))


def joined(lines: list[str]) -> str:
    """The text of :func:`normalise_lines`: each line ended by one LF; ``""`` for none."""
    if not lines:
        return ""
    lines.append("")
    try:
        return "\n".join(lines)
    finally:
        lines.pop()


# Past this many dropped lines, the kept ones are gathered anew rather than deleted one by one.
_MANY_DROPS: Final = 64


def normalise_lines(text: str, vendor: Vendor) -> list[str]:
    """The lines of :func:`normalise`'s result, without their line ends.

    The text is split once and the lines are what a diff works on, so the caller need not
    split the result again. Volatile lines and lines to rewrite are found by one regular
    expression each over the whole text (a per-line loop in Python costs several times more
    on a 64 KiB config) and then taken out of, or replaced in, the list by index.
    ``tests/test_config_fastpaths.py`` holds the line-by-line statement of the same rules and
    checks that both agree on generated configs.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _JOIN.get(vendor, True) and "\\" in text:
        text = _CONTINUATION.sub("", text)
    # Every line without trailing blanks: blank lines are then empty ones.
    lines = list(map(str.rstrip, text.split("\n")))
    start = 0
    while start < len(lines) and not lines[start]:
        start += 1
    if start < len(lines) and ECHO.fullmatch(lines[start]):
        start += 1
    drop = _DROP.get(vendor, _DROP["unknown"])
    rewrites = _REWRITE.get(vendor, _REWRITE["unknown"])
    dropped: list[int] = []
    if drop is not None or rewrites:
        # A newline in front of each line (the first included), so that re jumps from
        # newline to newline; a match starting at the n-th newline is line n.
        scan = "\n" + "\n".join(lines)
        if drop is not None:
            dropped = [k for k, _ in _numbered(scan, drop) if k >= start]
        for pattern, replacement in rewrites:
            for k, match in _numbered(scan, pattern):
                lines[k] = match.expand(replacement)
    if len(dropped) > _MANY_DROPS:
        gone = set(dropped)
        kept = [line for k, line in enumerate(lines) if k >= start and k not in gone]
    else:
        for k in reversed(dropped):
            del lines[k]
        kept = lines
        del kept[:start]
    first = 0
    while first < len(kept) and not kept[first]:
        first += 1
    del kept[:first]
    while kept and not kept[-1]:
        kept.pop()
    return kept


def _numbered(scan: str, pattern: re.Pattern[str]) -> Iterator[tuple[int, re.Match[str]]]:
    """``pattern``'s matches in ``scan`` (each starting at a newline) with their line numbers."""
    at = line = 0
    for match in pattern.finditer(scan):
        line += scan.count("\n", at, match.start())
        at = match.start()
        yield line, match
