"""Which router family wrote a config, judged from its text alone.

Uploads arrive without a trustworthy label (a Yamaha names its file after a date, Oxidized says
nothing), and normalising and redaction rules differ per family, so the content decides. A few
lines are unmistakable (a Yamaha ``# RTX1210 Rev.14.01.05`` banner, RouterOS's ``by RouterOS``
export header, Arista's ``! device: ... EOS-``); otherwise characteristic commands are counted
and the family with the clearly highest score wins. Anything ambiguous is ``"unknown"``, which
makes redaction apply every family's rules: misdetection costs readability, never a leak.

Only the first :data:`SCAN_CHARS` characters are read, so the cost is bounded for any input.
"""

from __future__ import annotations

import re
from typing import Final, Literal, get_args

Vendor = Literal["yamaha", "cisco-ios", "junos", "eos", "routeros", "unknown"]
VENDORS: Final[tuple[Vendor, ...]] = get_args(Vendor)

SCAN_CHARS: Final = 65536
"""How much of the text is looked at: headers and characteristic commands come early."""

_M = re.MULTILINE

# One match is enough: these lines are written by the router itself.
_DECISIVE: Final[tuple[tuple[Vendor, re.Pattern[str]], ...]] = (
    ("yamaha", re.compile(r"^# (?:RTX|NVR|RT|FWX|SRT|vRX|YSL)\S* Rev\.\d", _M)),
    ("yamaha", re.compile(r"^# Reporting Date: ", _M)),
    ("routeros", re.compile(r"^# .{0,40}\bby RouterOS \d", _M)),
    ("eos", re.compile(r"^! device: .*\bEOS-\d", _M)),
    ("junos", re.compile(r"^## Last (?:commit|changed): ", _M)),
    ("junos", re.compile(r"^(?:set )?version \d+\.\d+[A-Z]\d", _M)),
)

# Characteristic commands, each worth one point for its family.
_HINTS: Final[dict[Vendor, tuple[re.Pattern[str], ...]]] = {
    "yamaha": tuple(
        re.compile(p, _M)
        for p in (
            r"^ip lan\d+ address ",
            r"^pp select ",
            r"^tunnel select ",
            r"^ip filter \d+ ",
            r"^nat descriptor ",
            r"^ipsec ike ",
            r"^login user ",
            r"^administrator password",
            r"^dhcp scope \d",
            r"^security class ",
            r"^ip route default gateway ",
        )
    ),
    "cisco-ios": tuple(
        re.compile(p, _M)
        for p in (
            r"^Building configuration",
            r"^Current configuration : \d+ bytes",
            r"^version \d+\.\d+$",
            r"^service timestamps ",
            r"^boot-start-marker",
            r"^interface (?:GigabitEthernet|FastEthernet|TenGigabitEthernet|Serial|Dialer)",
            r"^line vty ",
            r"^ip cef$",
            r"^enable (?:secret|password) \d ",
            r"^control-plane$",
        )
    ),
    "eos": tuple(
        re.compile(p, _M)
        for p in (
            r"^! Command: show running-config",
            r"^interface Ethernet\d",
            r"^interface Management\d",
            r"^management api ",
            r"^daemon TerminAttr",
            r" role network-admin",
            r" secret sha512 ",
            r"^transceiver qsfp ",
            r"^service routing protocols model ",
        )
    ),
    "junos": tuple(
        re.compile(p, _M)
        for p in (
            r"^system \{$",
            r"^interfaces \{$",
            r"^protocols \{$",
            r"^ {4}host-name \S+;$",
            r"^set system ",
            r"^set interfaces ",
            r"^set protocols ",
            r"^routing-options \{$",
            r"^policy-options \{$",
        )
    ),
    "routeros": tuple(
        re.compile(p, _M)
        for p in (
            r"^/interface ",
            r"^/ip address$",
            r"^/ip firewall ",
            r"^/system identity$",
            r"^/system identity set ",
            r"^add \S+=",
            r"^set \[ find ",
            r"^# software id = ",
        )
    ),
}


def detect(text: str) -> Vendor:
    """The family that wrote ``text``, or ``"unknown"``."""
    head = text[:SCAN_CHARS]
    for vendor, pattern in _DECISIVE:
        if pattern.search(head):
            return vendor
    scores = {v: sum(1 for p in pats if p.search(head)) for v, pats in _HINTS.items()}
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    if top >= 2 and top > second:
        return best
    return "unknown"
