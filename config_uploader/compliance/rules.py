"""The ``--compliance`` rules file: which lines make up each feature, per vendor.

A feature (``ntp``, ``logging``, ``ssh``, ...) is a named set of lines, found the same way in
the desired config and in the uploaded one, and compared (see :mod:`.features`). The file is
YAML::

    vendors:
      cisco-ios:
        - name: ntp
          requirement: "PCI DSS v4.0 10.6.2"   # optional: shown with the verdict
          lines: ["ntp server ", "ntp authenticate"]     # line prefixes
          sections: ["line vty "]              # a header and every line below it
          regex: ['^logging host \\S+$', ["^line vty", "^exec-timeout "]]
          ordered: false                      # true: the lines' order must match too
          required: true                      # the router must have at least one such line
          forbid: ['^snmp-server community (public|private)\\b']   # never allowed, anywhere

A pattern that is a list names a line inside sections: one element per level, outermost
first (``["line vty", "transport input"]``: ``transport input`` lines directly under a ``line
vty`` header). Prefixes are compared with ``str.startswith``; regular expressions with
``re.match`` against one level's text (``re.search`` for ``forbid``, against the line's own
text). Junos lines are matched in ``set`` form (``set system ntp server``), RouterOS lines
under their ``/path`` header. YAML anchors let one vendor reuse another's list (``eos:
*cisco``).

Every mistake (unreadable file, bad YAML, unknown key or vendor, bad regex, empty feature,
duplicate name) is a :class:`RulesError` naming the place, so the daemon stops at start with
one clear line.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from config_uploader.compliance.tree import Path as LinePath

_FEATURE_KEYS: Final = frozenset(
    {"name", "requirement", "lines", "sections", "regex", "ordered", "required", "forbid"}
)
MAX_FILE_BYTES: Final = 1024 * 1024


class RulesError(ValueError):
    """The rules file cannot be used; the message names the file and the place."""


@dataclass(frozen=True, slots=True)
class Level:
    """How one level of a line's path is recognised: a prefix or a regular expression."""

    prefix: str | None = None
    regex: re.Pattern[str] | None = None

    def matches(self, text: str) -> bool:
        if self.regex is not None:
            return self.regex.match(text) is not None
        return self.prefix is not None and text.startswith(self.prefix)


@dataclass(frozen=True, slots=True)
class Pattern:
    levels: tuple[Level, ...]
    section: bool
    """True: the matched line and every line below it; False: the line at exactly this depth."""

    def selects(self, path: LinePath) -> bool:
        n = len(self.levels)
        if len(path) < n or (not self.section and len(path) != n):
            return False
        return all(level.matches(text) for level, text in zip(self.levels, path, strict=False))


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    patterns: tuple[Pattern, ...]
    requirement: str | None = None
    ordered: bool = False
    required: bool = False
    forbid: tuple[re.Pattern[str], ...] = ()

    def selects(self, path: LinePath) -> bool:
        return any(pattern.selects(path) for pattern in self.patterns)

    def forbids(self, text: str) -> bool:
        return any(pattern.search(text) for pattern in self.forbid)


@dataclass(frozen=True)
class Rules:
    source: str
    """Where the rules were read from, for events."""
    vendors: Mapping[str, tuple[Feature, ...]] = field(default_factory=dict)

    def features(self, vendor: str) -> tuple[Feature, ...]:
        """The vendor's features; none for a vendor the file does not mention."""
        return self.vendors.get(vendor, ())


def load_rules(path: str, vendors: Collection[str] | None = None) -> Rules:
    """Read and check the rules file at ``path``; ``vendors`` are the names it may use."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise RulesError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise RulesError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RulesError(f"{path}: not UTF-8 text") from None
    return parse_rules(text, str(Path(path)), vendors)


def parse_rules(text: str, source: str, vendors: Collection[str] | None = None) -> Rules:
    """The rules in ``text`` (``source`` names it in errors)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RulesError(f"{source}:{where} invalid YAML: {problem}") from None
    if not isinstance(document, dict) or set(document) - {"vendors", "version"}:
        raise RulesError(f"{source}: expected a mapping with a 'vendors' key (and 'version')")
    declared = document.get("vendors")
    if not isinstance(declared, dict) or not declared:
        raise RulesError(f"{source}: 'vendors' must map vendor names to lists of features")
    out: dict[str, tuple[Feature, ...]] = {}
    for vendor, features in declared.items():
        where = f"{source}: vendors.{vendor}"
        if vendors is not None and vendor not in vendors:
            known = ", ".join(sorted(vendors))
            raise RulesError(f"{where}: unknown vendor (known: {known})")
        if not isinstance(features, list) or not features:
            raise RulesError(f"{where}: expected a list of features")
        parsed = [_feature(item, f"{where}[{n}]") for n, item in enumerate(features)]
        names = [feature.name for feature in parsed]
        if len(set(names)) != len(names):
            dupe = next(name for name in names if names.count(name) > 1)
            raise RulesError(f"{where}: feature {dupe!r} declared twice")
        out[str(vendor)] = tuple(parsed)
    return Rules(source, out)


def _feature(item: Any, where: str) -> Feature:
    if not isinstance(item, dict):
        raise RulesError(f"{where}: expected a mapping (name, lines, sections, regex, ...)")
    unknown = set(item) - _FEATURE_KEYS
    if unknown:
        raise RulesError(f"{where}: unknown key {sorted(map(str, unknown))[0]!r}")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise RulesError(f"{where}: 'name' must be a non-empty string")
    where = f"{where} ({name})"
    patterns = [
        *(_pattern(p, False, False, f"{where}.lines") for p in _list(item, "lines", where)),
        *(_pattern(p, True, False, f"{where}.sections") for p in _list(item, "sections", where)),
        *(_pattern(p, False, True, f"{where}.regex") for p in _list(item, "regex", where)),
    ]
    forbid = tuple(_regex(p, f"{where}.forbid") for p in _list(item, "forbid", where))
    if not patterns and not forbid:
        raise RulesError(f"{where}: no lines, sections, regex or forbid: it would match nothing")
    requirement = item.get("requirement")
    if requirement is not None and not isinstance(requirement, str | int | float):
        raise RulesError(f"{where}: 'requirement' must be text")
    return Feature(
        name=name.strip(),
        patterns=tuple(patterns),
        requirement=None if requirement is None else str(requirement),
        ordered=_flag(item, "ordered", where),
        required=_flag(item, "required", where),
        forbid=forbid,
    )


def _list(item: dict[str, Any], key: str, where: str) -> list[Any]:
    value = item.get(key, [])
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise RulesError(f"{where}: '{key}' must be a list")
    return value


def _flag(item: dict[str, Any], key: str, where: str) -> bool:
    value = item.get(key, False)
    if not isinstance(value, bool):
        raise RulesError(f"{where}: '{key}' must be true or false")
    return value


def _pattern(value: Any, section: bool, regex: bool, where: str) -> Pattern:
    levels = value if isinstance(value, list) else [value]
    if not levels or not all(isinstance(level, str) and level for level in levels):
        raise RulesError(f"{where}: expected a non-empty string or a list of them")
    if regex:
        return Pattern(tuple(Level(regex=_regex(level, where)) for level in levels), section)
    return Pattern(tuple(Level(prefix=level) for level in levels), section)


def _regex(value: Any, where: str) -> re.Pattern[str]:
    if not isinstance(value, str) or not value:
        raise RulesError(f"{where}: expected a regular expression")
    try:
        return re.compile(value)
    except re.error as exc:
        raise RulesError(f"{where}: bad regular expression {value!r}: {exc}") from None
