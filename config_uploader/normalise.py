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


# The first words of the volatile lines: most lines are passed over by one startswith().
_PREFIXES: Final[dict[Vendor, tuple[str, ...]]] = {
    "yamaha": ("# Reporting Date:",),
    "cisco-ios": ("Building configuration", "Current configuration", "!", "ntp clock-period"),
    "eos": ("!",),
    "junos": ("## Last ",),
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
_DROP: Final = {
    vendor: (
        tuple(p for u in uses for p in _PREFIXES[u]),
        re.compile("|".join(_VOLATILE[u] for u in uses)),
    )
    for vendor, uses in _USES.items()
}

_ROUTEROS_HEADER: Final = re.compile(
    r"# (?:[A-Za-z]{3}/\d{1,2}/\d{4}|\d{4}[-/]\d{2}[-/]\d{2}) \d{1,2}:\d{2}:\d{2} (by RouterOS\b.*)"
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
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if vendor in ("routeros", "unknown") and "\\" in text:
        text = _CONTINUATION.sub("", text)
    lines = [line.rstrip() for line in text.split("\n")]
    start = 0
    while start < len(lines) and not lines[start]:
        start += 1
    if start < len(lines) and _ECHO.fullmatch(lines[start]):
        start += 1
    prefixes, volatile = _DROP[vendor]
    kept = [
        line
        for line in lines[start:]
        if not (prefixes and line.startswith(prefixes) and volatile.fullmatch(line))
    ]
    if vendor in ("routeros", "unknown") and "by RouterOS" in text:
        for i, line in enumerate(kept):
            if line.startswith("# ") and (header := _ROUTEROS_HEADER.fullmatch(line)):
                kept[i] = "# " + header.group(1)
    first, last = 0, len(kept)
    while first < last and not kept[first]:
        first += 1
    while last > first and not kept[last - 1]:
        last -= 1
    return "\n".join(kept[first:last]) + "\n" if last > first else ""
