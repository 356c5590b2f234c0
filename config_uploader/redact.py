"""Remove secrets from config text before any of it is logged, diffed or served.

A router config holds the keys to the network: login hashes, SNMP communities, TACACS+/RADIUS
keys, IKE pre-shared keys, routing protocol keys. Cisco type 7 and Junos ``$9$`` values are
reversible, the others are crackable offline, so none may reach stdout (CloudWatch) or a
redacted read. Each secret *value* becomes :data:`REDACTED`; the line and everything around the
value stay, so a reader still sees which secret is configured and where.

The rules are those of ``bridge.secrets`` (vendor-independent: values after secret-like
keywords, hashes, type 7, URL passwords, PEM private keys, SNMP and first-hop authentication)
plus every profile's rules in ``config_uploader/vendors`` (secrets no keyword announces, such
as Yamaha's ``pp auth myname USER PASSWORD``). All of them run on every config, whatever vendor
was detected: a misdetection cannot switch a rule off. ``vendor`` is accepted for the callers'
sake and changes nothing. Rules see the original line, the union of what they call secret is
replaced (one marker per run), then the line is redacted again until it no longer changes, so
redaction is idempotent.

It keeps the number of lines: :func:`redact_some` redacts just the lines a diff shows, using
the rest as context (PEM blocks, ``\\``-continued lines, the section a line sits in), and the
diff module compares unredacted lines but prints their redacted twins. Only lines holding a
rule's trigger words meet its pattern (found by one Aho-Corasick pass over the whole text),
which keeps a 64 KiB config in the low milliseconds.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from itertools import accumulate
from typing import Final

import ahocorasick_rs

from bridge.private_keys import private_key_lines
from bridge.secrets import REDACTED, RULES, Rule, lower, settle, spans
from config_uploader.vendor import Vendor
from config_uploader.vendors import PROFILES

__all__ = ["REDACTED", "private_key_lines", "redact", "redact_lines", "redact_some"]

_ALL: Final[tuple[Rule, ...]] = (*RULES, *(r for p in PROFILES.values() for r in p.secrets))


def _by_word(rules: Iterable[Rule]) -> dict[str, tuple[Rule, ...]]:
    """Each trigger word with the rules it wakes."""
    words: dict[str, tuple[Rule, ...]] = {}
    for each in rules:
        for word in each.triggers:
            words[word] = (*words.get(word, ()), each)
    return words


_WORDS: Final = _by_word(_ALL)
_WORD_LIST: Final = tuple(_WORDS)
# All trigger words in one automaton, overlapping matches reported ("password" holds "pass"):
# one pass over the lines instead of one str.find sweep per word.
_FINDER: Final = ahocorasick_rs.AhoCorasick(_WORD_LIST, matchkind=ahocorasick_rs.MATCHKIND_STANDARD)


def redact(text: str, vendor: Vendor | None = None) -> str:
    """``text`` with every secret value replaced by :data:`REDACTED`, line for line."""
    return "\n".join(redact_lines(text.split("\n"), vendor))


def redact_lines(
    lines: Sequence[str], vendor: Vendor | None = None, *, _prefilter: bool = True
) -> list[str]:
    """Redact a sequence of lines (without their line ends); the result has the same length.

    ``_prefilter=False`` matches every rule against every line, where normally only lines
    holding one of a rule's trigger words are (the tests check that both agree).
    """
    out = list(lines)
    for k, line in _redacted(lines, None, _prefilter).items():
        out[k] = line
    return out


def redact_some(
    lines: Sequence[str],
    vendor: Vendor | None,
    indexes: Iterable[int],
    private_keys: dict[int, str] | None = None,
) -> dict[int, str]:
    """The redacted form of just the lines at ``indexes`` (context is still read from all).

    A diff shows a few lines of a long config: redacting only those keeps an upload cheap.
    ``private_keys`` is :func:`private_key_lines` of ``lines`` when the caller has it already
    (finding them scans the whole text, which costs more than the rest).
    """
    wanted = sorted({k for k in indexes if 0 <= k < len(lines)})
    changed = _redacted(lines, wanted, True, private_keys)
    return {k: changed.get(k, lines[k]) for k in wanted}


def _hits(lines: Sequence[str], indexes: Sequence[int]) -> dict[int, set[str]]:
    """For each line (of those at ``indexes``) holding any rule's trigger word, ASCII
    case-insensitively, the words it holds: one pass of :data:`_FINDER` over the joined lines
    (no word holds a newline, so none is found across two)."""
    chosen = [lines[k] for k in indexes]
    low = lower("\n".join(chosen))
    starts = [0, *accumulate(len(line) + 1 for line in chosen)]
    found: dict[int, set[str]] = {}
    for word, at, _ in _FINDER.find_matches_as_indexes(low, overlapping=True):
        i = bisect_right(starts, at) - 1
        found.setdefault(indexes[i], set()).add(_WORD_LIST[word])
    return found


class _Context:
    """What a line means depends on lines above it; found lazily, lines visited in order."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = lines
        self.seen = 0
        self.last_section = ""  # RouterOS: the last /path line; FortiOS: the last config line
        self.last_parent = ""  # the last unindented line

    def _advance(self, k: int) -> None:
        for line in self.lines[self.seen : k + 1]:
            first = line[:1]
            if first == "/" or line.lstrip()[:7] == "config ":
                self.last_section = line
            if first not in ("", " ", "\t"):
                self.last_parent = line
        self.seen = max(self.seen, k + 1)

    def section(self, k: int) -> str:
        self._advance(k)
        return self.last_section

    def above(self, k: int) -> str:
        """Line ``k - 1`` (empty above the first)."""
        return self.lines[k - 1] if k > 0 else ""

    def parent(self, k: int) -> str:
        """The last unindented line up to line ``k`` (``k`` itself if it is unindented)."""
        self._advance(k)
        return self.last_parent


_MAX_CONTINUATION: Final = 1000


def _continued(lines: Sequence[str], wanted: Sequence[int]) -> list[int]:
    """``wanted`` plus the lines a wanted line continues (``\\`` line ends)."""
    extra: set[int] = set(wanted)
    for k in wanted:
        j = k
        while j > 0 and k - j < _MAX_CONTINUATION and lines[j - 1].endswith("\\"):
            j -= 1
            extra.add(j)
    return sorted(extra)


def _redacted(
    lines: Sequence[str],
    wanted: Sequence[int] | None,
    prefilter: bool,
    private_keys: dict[int, str] | None = None,
) -> dict[int, str]:
    """The lines (of ``wanted``, else all) that redaction changes, by index.

    Every rule is matched against the original line and the union of what they call secret
    is replaced, so no rule can hide a value from another.
    """
    indexes: Sequence[int] = range(len(lines)) if wanted is None else _continued(lines, wanted)
    if prefilter:
        hits = _hits(lines, indexes)
    else:
        every = set(_WORDS)
        hits = {k: every for k in indexes}
    # every private key, wherever it starts
    changed = dict(private_keys) if private_keys is not None else private_key_lines(lines)
    context = _Context(lines)
    done = -1  # lines up to this one are finished (continuations)
    for k in sorted(hits):
        if k <= done or k in changed:
            continue
        line = lines[k]
        rules = _woken(hits[k], context, k)
        parent = context.parent(k)
        found = spans(rules, line, parent)
        if found:
            changed[k] = settle(line, rules, found, parent)
        # A value cut by a "\" continuation goes on with the next line's first word.
        while k + 1 < len(lines) and line.endswith("\\"):
            if not any(end == len(line) for _, end in found):
                break
            k += 1
            line = lines[k]
            rules = _woken(hits.get(k, ()), context, k)
            first = len(line) - len(line.lstrip())
            word = line.find(" ", first)
            found = [(first, len(line) if word < 0 else word)] if line.strip() else []
            found += spans(rules, line, context.parent(k))
            if found:
                changed[k] = settle(line, rules, found, context.parent(k))
            done = k
    if wanted is not None:
        keep = set(wanted)
        return {k: line for k, line in changed.items() if k in keep}
    return changed


def _woken(found: Iterable[str], context: _Context, k: int) -> list[Rule]:
    """The rules that the trigger words ``found`` in line ``k`` wake, in their section and
    below their line."""
    woken = {id(each): each for word in found for each in _WORDS[word]}
    return [
        each
        for each in woken.values()
        if (each.section is None or each.section.match(context.section(k)))
        and (each.after is None or each.after.match(context.above(k)))
    ]
