"""Is an upload the running configuration or the startup (saved) one?

Routers upload both the same way (an HTTP PUT or POST of a text), so the request says which:
``?kind=startup`` (or a multipart field ``kind``), else the file name does (``copy
startup-config http://.../rtr1-startup-config``, ``rtr1-startup.cfg``). Anything else is the
running configuration, which is what routers upload on change. A Junos or PAN-OS commit
writes the active and the saved configuration at once, so such an upload stands for both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final, Literal, get_args

Kind = Literal["running", "startup"]
KINDS: Final[tuple[Kind, ...]] = get_args(Kind)

# Vendors whose uploaded configuration is, by construction, both the running and the saved one.
COMMIT_IS_BOTH: Final = frozenset({"junos", "panos"})

# A file name (its last path part, extension dropped) that names a startup configuration.
_STARTUP_NAME: Final = re.compile(r"(?:^|[-_.])startup(?:[-_]conf(?:ig|g))?$|startup-conf(?:ig|g)")
_EXTENSION: Final = re.compile(r"\.(?:txt|cfg|conf|config|rsc|set|gz)$")
# The marker itself, as :func:`without_marker` takes it out of a file name.
_MARKER: Final = re.compile(
    r"(?:^|[-_])startup-conf(?:ig|g)|(?:^|[-_])startup(?=[-_.]|$)", re.IGNORECASE
)


class KindError(ValueError):
    """An explicit ``kind`` that is neither ``running`` nor ``startup``."""


def parse_kind(value: str) -> Kind:
    """An explicit ``kind`` value (case and blanks ignored); :class:`KindError` otherwise."""
    folded = value.strip().lower()
    for kind in KINDS:
        if folded == kind:
            return kind
    raise KindError("kind must be running or startup")  # the value is not echoed to the log


def classify(explicit: str | None, names: Iterable[str | None]) -> Kind:
    """The kind of an upload: ``explicit`` (query or form field) when given, else ``startup``
    when one of ``names`` (URL path, multipart file name) says so, else ``running``."""
    if explicit is not None and explicit.strip():
        return parse_kind(explicit)
    return "startup" if any(names_startup(name) for name in names if name) else "running"


def names_startup(name: str) -> bool:
    """True when a path or file name names a startup configuration."""
    last = name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].lower()
    while (stem := _EXTENSION.sub("", last)) != last:
        last = stem
    return bool(_STARTUP_NAME.search(last))


def without_marker(name: str | None) -> str | None:
    """``name`` with the startup marker taken out of its last part, so that the router is
    named as for its running config (``rtr1-startup-config`` -> ``rtr1``,
    ``edge1/261130-startup.txt`` -> ``edge1/261130.txt``); a last part that was nothing but
    the marker (``rtr1/startup-config``) is dropped."""
    if not name:
        return name
    head, slash, last = name.rstrip("/").rpartition("/")
    stripped = _MARKER.sub("", last)
    if _EXTENSION.sub("", stripped).strip("-_.") == "":
        return head
    return f"{head}{slash}{stripped}"


def kinds_of(kind: Kind, vendor: str) -> tuple[Kind, ...]:
    """What an upload stands for: both for a vendor whose commit saves (Junos)."""
    return KINDS if vendor in COMMIT_IS_BOTH else (kind,)


# The startup history is stored as its own sequence under the router's name and this suffix;
# router names (identity.canonical_name) never hold "@", so no router's history can be taken for it.
STARTUP_SUFFIX: Final = "@startup"


def history_key(router: str, kind: Kind) -> str:
    """Where the store keeps ``router``'s history of ``kind``."""
    return router if kind == "running" else router + STARTUP_SUFFIX


def is_startup_key(key: str) -> bool:
    return key.endswith(STARTUP_SUFFIX)


def split_key(key: str) -> tuple[str, Kind]:
    """The router and the kind of a history key (the inverse of :func:`history_key`)."""
    if is_startup_key(key):
        return key[: -len(STARTUP_SUFFIX)], "startup"
    return key, "running"
