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
* volatile lines are dropped per vendor (with ``"unknown"`` all of them):

  - yamaha: ``# Reporting Date: ...``
  - cisco-ios and eos: ``Building configuration...``, ``Current configuration : N bytes``,
    ``! Last configuration change at ...``, ``! NVRAM config last updated at ...``,
    ``! No configuration change since last restart``, ``ntp clock-period N``, and EOS's
    ``! Startup-config last modified at ...``
  - junos: ``## Last commit: ...`` and ``## Last changed: ...``
  - routeros: the export header ``# nov/30/2026 16:35:23 by RouterOS 7.16`` (or
    ``# 2026-11-30 16:35:23 by RouterOS 7.16``) keeps only ``# by RouterOS 7.16``, and
    ``\\``-continued lines are joined (the wrap points move whenever a value's length does);

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

_ECHO: Final = re.compile(
    r"(?:[\w.@()\[\]/-]{0,64}[>#] ?)?"
    r"(?:show (?:config(?:uration)?|running-config|startup-config|run)\b.*|/?export\b.*)"
)

_VOLATILE: Final[dict[Vendor, str]] = {
    "yamaha": r"# Reporting Date:.*",
    "cisco-ios": (
        r"Building configuration\.\.\."
        r"|Current configuration ?: ?\d+ bytes"
        r"|! ?Last configuration change at .*"
        r"|! ?NVRAM config last updated at .*"
        r"|! ?No configuration change since last restart.*"
        r"|ntp clock-period \d+"
    ),
    "eos": r"! Startup-config last modified at .*",
    "junos": r"## Last (?:commit|changed): .*",
}


# EOS prints the same Cisco-style banners when asked for them.
_USES: Final[dict[Vendor, tuple[Vendor, ...]]] = {
    "yamaha": ("yamaha",),
    "cisco-ios": ("cisco-ios",),
    "eos": ("cisco-ios", "eos"),
    "junos": ("junos",),
    "routeros": (),
    "unknown": ("yamaha", "cisco-ios", "eos", "junos"),
}
# Whole volatile lines, each with the newline before it, in one expression per vendor: it runs
# over the text with a newline put in front, so re jumps from newline to newline.
_DROP: Final = {
    vendor: re.compile(r"\n(?:" + "|".join(_VOLATILE[u] for u in uses) + r")(?=\n|\Z)")
    for vendor, uses in _USES.items()
    if uses
}

_ROUTEROS_HEADER: Final = re.compile(
    r"\n# (?:[A-Za-z]{3}/\d{1,2}/\d{4}|\d{4}[-/]\d{2}[-/]\d{2}) \d{1,2}:\d{2}:\d{2}"
    r" (by RouterOS\b.*)(?=\n|\Z)"
)
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
    split the result again. Volatile lines and RouterOS headers are found by one regular
    expression each over the whole text (a per-line loop in Python costs several times more
    on a 64 KiB config) and then taken out of, or replaced in, the list by index.
    ``tests/test_config_fastpaths.py`` holds the line-by-line statement of the same rules and
    checks that both agree on generated configs.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if vendor in ("routeros", "unknown") and "\\" in text:
        text = _CONTINUATION.sub("", text)
    # Every line without trailing blanks: blank lines are then empty ones.
    lines = list(map(str.rstrip, text.split("\n")))
    start = 0
    while start < len(lines) and not lines[start]:
        start += 1
    if start < len(lines) and _ECHO.fullmatch(lines[start]):
        start += 1
    drop = _DROP.get(vendor)
    rewrite = vendor in ("routeros", "unknown") and "by RouterOS" in text
    dropped: list[int] = []
    if drop is not None or rewrite:
        # A newline in front of each line (the first included), so that re jumps from
        # newline to newline; a match starting at the n-th newline is line n.
        scan = "\n" + "\n".join(lines)
        if drop is not None:
            dropped = [k for k, _ in _numbered(scan, drop) if k >= start]
        if rewrite:
            for k, match in _numbered(scan, _ROUTEROS_HEADER):
                lines[k] = "# " + match.group(1)
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
