"""Which router family wrote a config, judged from its text alone.

Uploads arrive without a trustworthy label (a Yamaha names its file after a date, Oxidized says
nothing), and normalising and hostname rules differ per family, so the content decides, from
what each profile of ``config_uploader/vendors`` declares. A few lines are unmistakable (a
Yamaha ``# RTX1210 Rev.14.01.05`` banner, RouterOS's ``by RouterOS`` export header, Arista's
``! device: ... EOS-``) but only among the first :data:`HEAD_LINES` lines, where routers write
them: a banner further down quoting such a line decides nothing. Otherwise characteristic
commands are counted and the family with the clearly highest score wins. Anything ambiguous is
``"unknown"``, which makes normalising and naming try every family. Redaction does not depend
on the result: every family's secret rules run on every config, so a misdetection costs
nothing but readability.

Only the first :data:`SCAN_CHARS` characters are read, so the cost is bounded for any input.
"""

from __future__ import annotations

import re
from typing import Final

from config_uploader.vendors import PROFILES, UNKNOWN

Vendor = str
"""A family's name as :data:`~config_uploader.vendors.PROFILES` knows it, or ``"unknown"``."""
VENDORS: Final[tuple[Vendor, ...]] = (*PROFILES, UNKNOWN)

SCAN_CHARS: Final = 16384
"""How much of the text is looked at: banners and characteristic commands come early."""
HEAD_LINES: Final = 12
"""How many lines from the top may hold a decisive banner."""

# One match is enough: these lines are written by the router itself.
_DECISIVE: Final[tuple[tuple[Vendor, str], ...]] = tuple(
    (name, pattern) for name, profile in PROFILES.items() for pattern in profile.decisive
)
# Characteristic commands (at a line start), each worth one point for its family.
_HINTS: Final[dict[Vendor, tuple[str, ...]]] = {
    name: profile.hints for name, profile in PROFILES.items()
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
    top = head[: _nth_newline(head, HEAD_LINES + 1)]
    decisive = _DECISIVE_RE.search(top)
    if decisive and decisive.lastgroup:
        return _DECISIVE[int(decisive.lastgroup[1:])][0]
    seen = {match.lastgroup for match in _HINT_RE.finditer(head)}
    scores = dict.fromkeys(_HINTS, 0)
    for name in seen:
        if name:
            scores[_HINT_NAMES[name]] += 1
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    (best, points), (_, second) = ranked[0], ranked[1]
    if points >= 2 and points > second:
        return best
    return UNKNOWN


def _nth_newline(text: str, n: int) -> int:
    """Where the ``n``-th newline of ``text`` is (its length if it has fewer)."""
    at = -1
    for _ in range(n):
        at = text.find("\n", at + 1)
        if at < 0:
            return len(text)
    return at
