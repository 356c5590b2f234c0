"""Unified diffs between config versions that show a changed secret without showing it.

:func:`unified_diff` compares the *normalised* lines (so a changed password is a changed line)
but prints their *redacted* twins (``redact_lines`` keeps lines one for one), so a rotated key
reads ``-enable secret 9 <redacted>`` / ``+enable secret 9 <redacted>``: the auditor sees that
and where it changed, never the value. The format is difflib's (``---``/``+++`` header,
``@@ -a,b +c,d @@`` hunks, lines without their line ends joined by ``\\n``).

Cost is bounded: the common head and tail are cut off first (a typical upload changes a few
lines; they are found on the texts, a few KiB at a time, before any line is compared in
Python), and when what is left is too big for difflib's matcher to finish quickly
(:data:`MAX_MATCH_WORK` line pairs) it is shown as one replaced block, which is still a correct
diff, only not a minimal one.

An upload is diffed twice (against its previous version and against the desired config), and
the previous and the desired texts are diffed again by later uploads: a :class:`Text` holds a
text with its lines, its private key blocks and the redacted twins of the lines diffs have
shown, each found once, for every diff it takes part in.

A diff can be far larger than one stdout line may be: ``bridge.output.fit`` spreads it over
lines with ``part``/``parts``, cut at line ends where it can and inside a line where it must.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from difflib import SequenceMatcher
from typing import Final

from config_uploader.redact import private_key_lines, redact_some
from config_uploader.vendor import Vendor

MAX_MATCH_WORK: Final = 4_000_000
"""Above this many (old line, new line) pairs left after trimming, skip difflib's matcher."""

Opcode = tuple[str, int, int, int, int]


class Text:
    """A normalised text split into lines once, for any number of diffs; each line it shows
    is redacted once, however many diffs show it."""

    __slots__ = ("_private_keys", "_redacted", "lines", "text")

    def __init__(self, text: str, lines: list[str] | None = None) -> None:
        """``lines`` is ``text`` split at newlines, without a last empty one, if known."""
        self.text = text
        self.lines = _lines(text) if lines is None else lines
        self._private_keys: dict[int, str] | None = None
        self._redacted: dict[int, str] = {}

    @property
    def private_keys(self) -> dict[int, str]:
        """:func:`~config_uploader.redact.private_key_lines` of the lines, found on first use."""
        if self._private_keys is None:
            self._private_keys = private_key_lines(self.lines, self.text)
        return self._private_keys

    def redacted(self, indexes: Iterable[int]) -> Mapping[int, str]:
        """The redacted twins of (at least) the lines at ``indexes``.

        Redaction reads the whole text around a line, so a line's twin is the same whichever
        lines are asked for with it: an upload's two diffs, and the next upload's diff against
        it, redact only the lines no diff has shown yet.
        """
        known = self._redacted
        missing = [k for k in indexes if k not in known]
        if missing:
            known.update(redact_some(self.lines, None, missing, self.private_keys))
        return known

    @property
    def size(self) -> int:
        """Roughly the bytes it holds in memory now (text, line objects, the list, the
        redacted twins found so far)."""
        return 2 * len(self.text) + 64 * len(self.lines) + 56 * len(self._redacted)


def unified_diff(
    old: str | Text,
    new: str | Text,
    vendor: Vendor,
    new_vendor: Vendor | None = None,
    *,
    fromfile: str = "previous",
    tofile: str = "current",
    context: int = 3,
) -> str:
    """The redacted unified diff from ``old`` to ``new`` (normalised texts); ``""`` if equal.

    ``vendor`` (and ``new_vendor`` when ``new`` is another family's) say what the texts are;
    redaction applies every family's rules whatever they say.
    """
    old_text = old.text if isinstance(old, Text) else old
    new_text = new.text if isinstance(new, Text) else new
    if old_text == new_text:
        return ""
    if not isinstance(old, Text):
        old = Text(old)
    if not isinstance(new, Text):
        new = Text(new)
    a, b = old.lines, new.lines
    codes = _opcodes(a, b, _equal_lines(old_text, new_text))
    if all(code[0] == "equal" for code in codes):  # "x" and "x\n" have the same lines
        return ""
    groups = list(_grouped(codes, context))
    # Only the lines shown are redacted (with the whole text as their context).
    shown_a = old.redacted(i for g in groups for _, i1, i2, _, _ in g for i in range(i1, i2))
    shown_b = new.redacted(
        j for g in groups for t, _, _, j1, j2 in g if t != "equal" for j in range(j1, j2)
    )
    out = [f"--- {fromfile}", f"+++ {tofile}"]
    for group in groups:
        first, last = group[0], group[-1]
        out.append(f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out.extend(" " + shown_a[i] for i in range(i1, i2))
                continue
            out.extend("-" + shown_a[i] for i in range(i1, i2))
            out.extend("+" + shown_b[j] for j in range(j1, j2))
    return "\n".join(out) + "\n"


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def _equal_lines(old: str, new: str) -> tuple[int, int]:
    """How many lines at the head and at the tail of ``old`` and ``new`` are surely equal.

    Found on the texts, a few KiB at a time (string slices compare at memory speed), so that
    the line-by-line comparison after it has little left to do: a lower bound, not the count.
    """
    limit = min(len(old), len(new))
    head = _same_chars(old, new, limit, 0)
    tail = _same_chars(old, new, limit - head, -1)
    # Lines ended before the first difference are equal; of the newlines in the common tail,
    # all but the first end lines that lie wholly in it.
    return old.count("\n", 0, head), max(0, old.count("\n", len(old) - tail) - 1) if tail else 0


_CHUNK: Final = 4096


def _same_chars(x: str, y: str, limit: int, direction: int) -> int:
    """The length of the common head (``direction`` 0) or tail (-1) of ``x`` and ``y``,
    at most ``limit``, compared in chunks of decreasing size."""
    same = 0
    step = _CHUNK
    while step:
        while same + step <= limit and (
            x[same : same + step] == y[same : same + step]
            if direction == 0
            else x[len(x) - same - step : len(x) - same] == y[len(y) - same - step : len(y) - same]
        ):
            same += step
        step //= 8
    return same


def _opcodes(a: Sequence[str], b: Sequence[str], known: tuple[int, int] = (0, 0)) -> list[Opcode]:
    """difflib's opcodes for ``a`` -> ``b``, with the common head and tail cut off first.

    ``known`` gives lines already known to be equal at the head and at the tail.
    """
    limit = min(len(a), len(b))
    head = min(known[0], limit)
    while head < limit and a[head] == b[head]:
        head += 1
    tail = min(known[1], limit - head)
    while tail < limit - head and a[len(a) - 1 - tail] == b[len(b) - 1 - tail]:
        tail += 1
    mid_a, mid_b = a[head : len(a) - tail], b[head : len(b) - tail]
    codes: list[Opcode] = []
    if head:
        codes.append(("equal", 0, head, 0, head))
    if not mid_a or not mid_b or (len(mid_a) == len(mid_b) == 1):
        # What difflib answers for these (the ends are cut, so the lines left differ),
        # without building its matcher: the common case of one changed line.
        tag = "replace" if mid_a and mid_b else "delete" if mid_a else "insert"
        if mid_a or mid_b:
            codes.append((tag, head, head + len(mid_a), head, head + len(mid_b)))
    elif len(mid_a) * len(mid_b) <= MAX_MATCH_WORK:
        matcher = SequenceMatcher(None, mid_a, mid_b, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            codes.append((tag, i1 + head, i2 + head, j1 + head, j2 + head))
    else:
        codes.append(("replace", head, head + len(mid_a), head, head + len(mid_b)))
    if tail:
        codes.append(("equal", len(a) - tail, len(a), len(b) - tail, len(b)))
    return codes


def _grouped(codes: list[Opcode], n: int) -> Iterator[list[Opcode]]:
    """Hunks with up to ``n`` lines of context, as ``SequenceMatcher.get_grouped_opcodes``."""
    if not codes:
        return
    if codes[0][0] == "equal":
        _, i1, i2, j1, j2 = codes[0]
        codes[0] = ("equal", max(i1, i2 - n), i2, max(j1, j2 - n), j2)
    if codes[-1][0] == "equal":
        _, i1, i2, j1, j2 = codes[-1]
        codes[-1] = ("equal", i1, min(i2, i1 + n), j1, min(j2, j1 + n))
    span = n + n
    group: list[Opcode] = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > span:
            group.append((tag, i1, min(i2, i1 + n), j1, min(j2, j1 + n)))
            yield group
            group = []
            i1, j1 = max(i1, i2 - n), max(j1, j2 - n)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        yield group


def _range(start: int, stop: int) -> str:
    """A unified diff line range, as difflib writes it."""
    beginning, length = start + 1, stop - start
    if length == 1:
        return str(beginning)
    if not length:
        beginning -= 1
    return f"{beginning},{length}"
