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

SCAN_CHARS: Final = 16384
"""How much of the text is looked at: banners and characteristic commands come early."""

# One match is enough: these lines are written by the router itself.
_DECISIVE: Final[tuple[tuple[Vendor, str], ...]] = (
    ("yamaha", r"# (?:RTX|NVR|RT|FWX|SRT|vRX|YSL)\S* Rev\.\d"),
    ("yamaha", r"# Reporting Date: "),
    ("routeros", r"# .{0,40}\bby RouterOS \d"),
    ("eos", r"! device: .*\bEOS-\d"),
    ("junos", r"## Last (?:commit|changed): "),
    ("junos", r"(?:set )?version \d+\.\d+[A-Z]\d"),
)

# Characteristic commands (at a line start), each worth one point for its family.
_HINTS: Final[dict[Vendor, tuple[str, ...]]] = {
    "yamaha": (
        r"ip lan\d+ address ",
        r"pp select ",
        r"tunnel select ",
        r"ip filter \d+ ",
        r"nat descriptor ",
        r"ipsec ike ",
        r"login user ",
        r"administrator password",
        r"dhcp scope \d",
        r"security class ",
        r"ip route default gateway ",
    ),
    "cisco-ios": (
        r"Building configuration",
        r"Current configuration : \d+ bytes",
        r"version \d+\.\d+$",
        r"service timestamps ",
        r"boot-start-marker",
        r"interface (?:GigabitEthernet|FastEthernet|TenGigabitEthernet|Serial|Dialer)",
        r"line vty ",
        r"ip cef$",
        r"enable (?:secret|password) \d ",
        r"control-plane$",
    ),
    "eos": (
        r"! Command: show running-config",
        r"interface Ethernet\d",
        r"interface Management\d",
        r"management api ",
        r"daemon TerminAttr",
        r"username \S+ .*\brole network-",
        r"(?:username|enable|aaa root) .*\bsecret sha512 ",
        r"transceiver qsfp ",
        r"service routing protocols model ",
    ),
    "junos": (
        r"system \{$",
        r"interfaces \{$",
        r"protocols \{$",
        r" {4}host-name \S+;$",
        r"set system ",
        r"set interfaces ",
        r"set protocols ",
        r"routing-options \{$",
        r"policy-options \{$",
    ),
    "routeros": (
        r"/interface ",
        r"/ip address$",
        r"/ip firewall ",
        r"/system identity$",
        r"/system identity set ",
        r"add \S+=",
        r"set \[ find ",
        r"# software id = ",
    ),
}


def _alternative(name: str, pattern: str) -> str:
    """``pattern`` as the named alternative ``name`` of a combined expression.

    re skips an alternative at once when its first character is a literal that differs from
    the text's, but only if that literal comes first: a named group's mark hides it. So the
    first character, when it is a plain literal, goes before the group (``lastgroup`` still
    names the alternative), which makes the scan about seven times faster.
    """
    first, second = pattern[:1], pattern[1:2]
    plain = (first.isalnum() or first in "#!/ ") and second not in ("{", "*", "+", "?")
    if plain and not _top_level_bar(pattern):
        return f"{first}(?P<{name}>{pattern[1:]})"
    return f"(?P<{name}>{pattern})"


def _top_level_bar(pattern: str) -> bool:
    """True when ``pattern`` is itself an alternation (a ``|`` outside any group or class)."""
    depth = 0
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 1
        elif char == "[":  # to the class's end; a ] first in it (after any ^) is a literal
            i += 2 if pattern[i + 1 : i + 2] == "^" else 1
            i = pattern.find("]", i + 1) if i < len(pattern) else -1
            if i < 0:
                return False
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return True
        i += 1
    return False


def _combined(alternatives: list[tuple[str, str]]) -> re.Pattern[str]:
    """One expression for all patterns, each anchored at a line start.

    It runs over the text with a newline put in front and starts with that newline rather
    than ``^``: re then jumps from newline to newline instead of trying every position.
    """
    return re.compile(
        "\n(?:" + "|".join(_alternative(name, p) for name, p in alternatives) + ")",
        re.MULTILINE,
    )


# Each pattern is one named alternative of a single expression: one pass over the text.
_DECISIVE_RE: Final = _combined([(f"d{i}", p) for i, (_, p) in enumerate(_DECISIVE)])
_HINT_NAMES: Final = {
    f"h{i}_{j}": vendor for i, (vendor, pats) in enumerate(_HINTS.items()) for j in range(len(pats))
}
_HINT_RE: Final = _combined(
    [(f"h{i}_{j}", p) for i, pats in enumerate(_HINTS.values()) for j, p in enumerate(pats)]
)


def detect(text: str) -> Vendor:
    """The family that wrote ``text``, or ``"unknown"``."""
    head = "\n" + text[:SCAN_CHARS]
    decisive = _DECISIVE_RE.search(head)
    if decisive and decisive.lastgroup:
        return _DECISIVE[int(decisive.lastgroup[1:])][0]
    seen = {match.lastgroup for match in _HINT_RE.finditer(head)}
    scores = dict.fromkeys(_HINTS, 0)
    for name in seen:
        if name:
            scores[_HINT_NAMES[name]] += 1
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    if top >= 2 and top > second:
        return best
    return "unknown"
