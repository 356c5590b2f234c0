"""Which router an upload belongs to: from the caller, the file name, or the config itself.

Routers do not authenticate as themselves, so the name comes from what they send. In order
(the first that yields a name wins; :func:`identify` returns ``None`` when none does, and the
caller falls back to its static source-IP map, then to the source IP itself):

1. an explicit name (the ``router`` query parameter, Oxidized's ``node``);
2. the upload's file name, by the conventions routers use (see :func:`from_filename`):

   - Junos ``system archival``: ``dc1-mx1_juniper.conf.gz_20261130_163523`` (and the older
     ``dc1-mx1_20261130_163523_juniper.conf.gz``) -> ``dc1-mx1``;
   - Cisco ``archive path .../$h-config``: ``dc1-rtr1-config``, ``dc1-rtr1-confg``,
     ``dc1-rtr1-config-3`` (archive numbering), ``dc1-rtr1-Nov-30-2026-16-35-23.123-UTC-0``
     (``$h-$t``) -> ``dc1-rtr1``;
   - MikroTik ``/tool fetch``: ``dc1-ccr1.rsc``, ``dc1-ccr1-20261130.rsc`` -> ``dc1-ccr1``;
   - Yamaha ``http upload`` templates that name the file after the date, such as
     ``%P/%n/%y%m%d.txt`` -> ``RTX1210/tokyo-edge1/261130.txt``: the nearest directory that
     is neither a date nor a Yamaha model name (``RTX1210``) -> ``tokyo-edge1``;
   - otherwise the file's stem without extensions (``.txt``, ``.cfg``, ``.conf``, ``.gz``...)
     and without a trailing date/time stamp, unless it is a generic word such as ``config``
     or ``running-config``, in which case the nearest directory is tried the same way;

3. the hostname inside the config, where the vendor's profile in ``config_uploader/vendors``
   says it is (every profile's places for ``"unknown"``): ``hostname X`` (IOS, NX-OS, ASA,
   EOS, AOS-CX), ``host-name X;`` (Junos; the least indented one, so a ``groups { re0 { ... }
   }`` copy loses to ``system``), ``set system host-name X`` (Junos, VyOS), ``set name=X``
   under ``/system identity`` (RouterOS), ``set hostname X`` (FortiOS), ``<hostname>X</hostname>``
   and ``set deviceconfig system hostname X`` (PAN-OS), and for Yamaha, which
   has no hostname, ``console prompt X`` else ``snmp sysname X``.

Every name passes through :func:`canonical_name`: lower-cased (``RTR1`` from a file name and
``rtr1`` from the config are one router), characters outside ``[a-z0-9._-]`` become ``_``,
leading dots, dashes and underscores are dropped (no ``..``, no hidden files, nothing that
looks like an option) and it is cut to 64 characters, so it is safe as a path segment and an
S3 key part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from config_uploader.vendor import Vendor
from config_uploader.vendors import PROFILES, Profile

MAX_NAME: Final = 64

Source = Literal["explicit", "filename", "config"]


@dataclass(frozen=True, slots=True)
class Identity:
    name: str
    source: Source


_UNSAFE: Final = re.compile(r"[^a-z0-9._-]+")


def canonical_name(value: str | None) -> str | None:
    """``value`` as a safe, canonical router name, or ``None`` if nothing usable is left."""
    if value is None:
        return None
    name = _UNSAFE.sub("_", value.strip().strip("\"'").lower())
    name = name.lstrip("._-")[:MAX_NAME].rstrip(".")
    return name if name.strip("_") else None


_I = re.IGNORECASE
_JUNOS_FILE: Final = re.compile(
    r"(?P<n>.+?)(?:_juniper\.conf(?:\.\d+)?(?:\.gz)?_\d{8}_\d{6}|_\d{8}_\d{6}_juniper\.conf(?:\.gz)?)",
    _I,
)
_MONTH: Final = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
_CISCO_FILE: Final = re.compile(
    r"(?P<n>.+?)-(?:confg|config(?:uration)?(?:-\d+)?|" + _MONTH + r"-\d{1,2}-\d.*)", _I
)
_EXTENSIONS: Final = re.compile(
    r"(?:\.(?:txt|cfg|conf|config|rsc|backup|log|text|gz|gzip|zip))+$", _I
)
_STAMP: Final = re.compile(
    r"[-_.](?:\d{4}-?\d{2}-?\d{2}|\d{6})(?:[-_T]?\d{2}[-:]?\d{2}(?:[-:]?\d{2})?)?$"
)
_DATE_ONLY: Final = re.compile(r"[\d\s_.:-]*")
_YAMAHA_MODEL: Final = re.compile(
    r"(?:rtx|nvr|fwx|srt)\d{3,4}[a-z]?|rt\d{2,3}[a-z]{0,2}|vrx|ysl-v\d+", _I
)
_GENERIC: Final = frozenset(
    {
        "config",
        "configuration",
        "configs",
        "confg",
        "running-config",
        "startup-config",
        "running",
        "startup",
        "show-config",
        "show_config",
        "juniper",
        "juniper.conf",
        "export",
        "backup",
        "router",
        "routers",
        "upload",
        "uploads",
        "default",
        "file",
        "data",
        "archive",
    }
)


def from_filename(path: str | None) -> str | None:
    """The router named by an upload's file path (see the module docstring), or ``None``."""
    if not path:
        return None
    segments = [s for s in re.split(r"[/\\]+", path) if s not in ("", ".", "..")]
    if not segments:
        return None
    leaf = segments[-1]
    for pattern in (_JUNOS_FILE, _CISCO_FILE):
        match = pattern.fullmatch(_EXTENSIONS.sub("", leaf) if pattern is _CISCO_FILE else leaf)
        if match and match.group("n").lower() not in _GENERIC | {"show", "running", "startup"}:
            return canonical_name(match.group("n"))
    for segment in reversed(segments):
        name = _meaningful(segment)
        if name:
            return name
    return None


def _meaningful(segment: str) -> str | None:
    """The router name a path segment carries, or ``None`` for dates, models, generic words."""
    stem = _EXTENSIONS.sub("", segment)
    stem = _STAMP.sub("", stem) if not _DATE_ONLY.fullmatch(stem) else ""
    if not stem or _DATE_ONLY.fullmatch(stem) or _YAMAHA_MODEL.fullmatch(stem):
        return None
    if stem.lower() in _GENERIC:
        return None
    return canonical_name(stem)


def _finders(profile: Profile) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile("^" + pattern, re.MULTILINE) for pattern in profile.hostname)


_FINDERS: Final = {name: _finders(profile) for name, profile in PROFILES.items()}


def from_config(text: str, vendor: Vendor) -> str | None:
    """The router's own name as written in its (normalised) config, or ``None``."""
    finders = _FINDERS.get(vendor)
    for finder in finders if finders is not None else sum(_FINDERS.values(), ()):
        name = canonical_name(_found(finder, text))
        if name:
            return name
    return None


def _found(finder: re.Pattern[str], text: str) -> str | None:
    """The name ``finder`` finds: the first match's, or the least indented one's if the
    pattern has an ``indent`` group; quotes' escapes undone."""
    if "indent" in finder.groupindex:
        candidates = [(len(m.group("indent")), m.group("name")) for m in finder.finditer(text)]
        found = min(candidates, key=lambda c: c[0])[1] if candidates else None
    else:
        match = finder.search(text)
        found = match.group("name") if match else None
    return found.replace('\\"', '"') if found else None


def identify(
    explicit: str | None, filename: str | None, text: str, vendor: Vendor
) -> Identity | None:
    """The first name found: explicit, then file name, then config; ``None`` if none is."""
    name = canonical_name(explicit)
    if name:
        return Identity(name, "explicit")
    name = from_filename(filename)
    if name:
        return Identity(name, "filename")
    name = from_config(text, vendor)
    if name:
        return Identity(name, "config")
    return None
