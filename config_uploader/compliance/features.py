"""Per-feature compliance: is each feature of a router's config as the desired config has it?

For each feature of the router's vendor (see :mod:`.rules`), the lines it selects are taken
from the desired config and from the uploaded one and compared: as multisets (the default) or,
for an ``ordered`` feature such as an access list, as sequences, where a line in the wrong
place is missing at one position and extra at another. A feature is compliant when nothing is
missing and nothing is extra; ``forbid`` lines are extra wherever they are (and never count as
desired), and a ``required`` feature the router lacks altogether is not compliant even when the
desired config lacks it too. The router's compliance is the share of compliant features, as
Nautobot Golden Config reports it.

Lines are compared with their section path, so ``exec-timeout 15 0`` under ``line vty 0 4`` is
a different line from the same text under ``line con 0``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from itertools import chain

from config_uploader.compliance.rules import Feature
from config_uploader.compliance.tree import Line, difference


@dataclass(frozen=True, slots=True)
class FeatureVerdict:
    feature: Feature
    desired: tuple[Line, ...]
    """The lines the feature selects in the desired config (forbidden ones left out)."""
    actual: tuple[Line, ...]
    """The lines the feature selects in the uploaded config, forbidden ones included."""
    missing: tuple[Line, ...]
    extra: tuple[Line, ...]
    absent: bool
    """A ``required`` feature the uploaded config has no line of."""

    @property
    def compliant(self) -> bool:
        return not (self.missing or self.extra or self.absent)


@dataclass(frozen=True, slots=True)
class Compliance:
    verdicts: tuple[FeatureVerdict, ...]

    @property
    def percent(self) -> float | None:
        """The share of compliant features in percent; None when there are no features."""
        if not self.verdicts:
            return None
        good = sum(verdict.compliant for verdict in self.verdicts)
        return round(100.0 * good / len(self.verdicts), 1)

    @property
    def compliant(self) -> bool:
        return all(verdict.compliant for verdict in self.verdicts)

    def failing(self) -> tuple[FeatureVerdict, ...]:
        return tuple(verdict for verdict in self.verdicts if not verdict.compliant)

    def scope(
        self, desired: Sequence[Line], actual: Sequence[Line]
    ) -> tuple[list[Line], list[Line]]:
        """The lines of the failing features in ``desired`` and ``actual``, each in config
        order (features may share a section): what remediation should cover."""
        failing = self.failing()
        wanted = {line.path for verdict in failing for line in verdict.desired}
        have = {line.path for verdict in failing for line in verdict.actual}
        return [line for line in desired if line.path in wanted], [
            line for line in actual if line.path in have
        ]


def check(
    features: Sequence[Feature], desired: Sequence[Line], actual: Sequence[Line]
) -> Compliance:
    """Each feature's verdict for ``actual`` against ``desired`` (both from ``tree.lines_of``)."""
    # Rules look at a line's first level (its top-level line or section header) first, and
    # forbid at its own text: each distinct one is tested once per feature, not once per line.
    firsts = {line.path[0] for line in chain(desired, actual)}
    texts = {line.text for line in chain(desired, actual)}
    return Compliance(
        tuple(_verdict(feature, desired, actual, firsts, texts) for feature in features)
    )


def _verdict(
    feature: Feature,
    desired: Sequence[Line],
    actual: Sequence[Line],
    firsts: set[str],
    texts: set[str],
) -> FeatureVerdict:
    candidates = _first_levels(feature, firsts)
    forbidden: set[str] = set()
    for pattern in feature.forbid:
        forbidden.update(filter(pattern.search, texts))

    def selected(line: Line) -> bool:
        return line.path[0] in candidates and feature.selects(line.path)

    wanted = tuple(line for line in desired if selected(line) and line.text not in forbidden)
    have = tuple(line for line in actual if selected(line) or line.text in forbidden)
    if feature.ordered:
        missing, extra = _sequence_difference(wanted, have)
    else:
        missing, extra = difference(wanted, have), difference(have, wanted)
    # Forbidden lines are never wanted, so they are extra even when the desired config has them.
    absent = feature.required and not any(selected(line) for line in have)
    return FeatureVerdict(feature, wanted, have, missing, extra, absent)


def _first_levels(feature: Feature, firsts: set[str]) -> set[str]:
    """The first levels some pattern of ``feature`` accepts: prefixes joined in one regex (its
    regular expressions are tried one by one, since joined their groups would change meaning)."""
    starts = [pattern.levels[0] for pattern in feature.patterns]
    prefixes = [re.escape(level.prefix) for level in starts if level.prefix is not None]
    found: set[str] = set()
    if prefixes:
        found.update(filter(re.compile("|".join(prefixes)).match, firsts))
    for level in starts:
        if level.regex is not None:
            found.update(filter(level.regex.match, firsts))
    return found


def _sequence_difference(
    wanted: Sequence[Line], have: Sequence[Line]
) -> tuple[tuple[Line, ...], tuple[Line, ...]]:
    """Missing and extra lines of an ordered feature: what a line diff deletes and inserts."""
    matcher = SequenceMatcher(
        None, [line.path for line in wanted], [line.path for line in have], autojunk=False
    )
    missing: list[Line] = []
    extra: list[Line] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("delete", "replace"):
            missing.extend(wanted[i1:i2])
        if tag in ("insert", "replace"):
            extra.extend(have[j1:j2])
    return tuple(missing), tuple(extra)
