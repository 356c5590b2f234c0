"""The commands that would bring a router to its desired config.

hier-config builds them for the platforms it knows (Cisco IOS, Arista EOS, Junos): it reads
both configs as trees and writes, in the vendor's hierarchy, the negations of what is extra
and the lines that are missing, in the order the platform needs them. Other vendors (Yamaha,
RouterOS) get a plain line-set answer: extra lines under their section headers, negated with
``no`` where the vendor negates that way (Yamaha) and otherwise listed as ``# remove:``
comments an operator turns into the vendor's own command, then the missing lines.

The caller chooses the scope by the lines it passes: all of both configs for the whole drift,
or just the lines of the non-compliant features (``Compliance.scope``), in config order.
Commands hold secrets as the configs do: they are redacted before they are shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from hier_config import Platform, WorkflowRemediation, get_hconfig
from hier_config.exceptions import DuplicateChildError

from config_uploader.compliance.tree import Line, Path, difference, render

Engine = Literal["hier_config", "lines"]

PLATFORMS: Final[dict[str, Platform]] = {
    "cisco-ios": Platform.CISCO_IOS,
    "eos": Platform.ARISTA_EOS,
    "junos": Platform.JUNIPER_JUNOS,
}
# How the line-set fallback negates a line, per vendor; others get REMOVE comments.
NEGATION: Final[dict[str, str]] = {"yamaha": "no "}
REMOVE: Final = "# remove: "


@dataclass(frozen=True, slots=True)
class Remediation:
    engine: Engine
    platform: str | None
    """hier-config's platform name (``cisco_ios``), None for the line-set fallback."""
    commands: tuple[str, ...]
    """What to enter, one command per item, indented by section as the vendor nests them."""


def remediation(vendor: str, desired: Sequence[Line], actual: Sequence[Line]) -> Remediation:
    """The commands that turn ``actual`` into ``desired`` (both from ``tree.lines_of``)."""
    platform = PLATFORMS.get(vendor)
    if platform is not None:
        try:
            return _hier_config(platform, desired, actual)
        except (DuplicateChildError, ValueError, TypeError, KeyError, IndexError):
            pass  # a config hier-config cannot read: the line-set answer still holds
    return Remediation("lines", None, tuple(line_set(vendor, desired, actual)))


def _hier_config(
    platform: Platform, desired: Sequence[Line], actual: Sequence[Line]
) -> Remediation:
    running = get_hconfig(platform, "\n".join(render(actual)))
    generated = get_hconfig(platform, "\n".join(render(desired)))
    remedy = WorkflowRemediation(running, generated).remediation_config
    commands = tuple(line for line in remedy.dump_simple() if line.strip())
    return Remediation("hier_config", platform.name.lower(), commands)


def line_set(vendor: str, desired: Sequence[Line], actual: Sequence[Line]) -> list[str]:
    """Extra lines negated (or marked), then missing lines, each under its section headers."""
    extra = difference(actual, desired)
    missing = difference(desired, actual)
    # A header whose lines are also removed is entered, not negated: its lines go one by one.
    entered: set[Path] = {line.path[:depth] for line in extra for depth in range(1, line.depth + 1)}
    negation = NEGATION.get(vendor)
    out: list[str] = []
    above: Path = ()
    for line in extra:
        if line.path in entered:
            continue
        shared = 0
        while shared < min(len(above), line.depth) and above[shared] == line.path[shared]:
            shared += 1
        out.extend(" " * level + line.path[level] for level in range(shared, line.depth))
        indent = " " * line.depth
        out.append(f"{indent}{negation}{line.text}" if negation else f"{indent}{REMOVE}{line.text}")
        above = line.path[:-1]
    out.extend(render(missing))
    return out
