"""The unsaved and compliance verdicts of one upload, as events, from texts passed in.

The ingest pipeline owns the store, the caches and stdout; it hands this module the normalised
texts it already holds (the upload's, the desired config's, the other kind's latest) and gets
back :class:`Event` values to render and the summaries to keep in the router's state. Nothing
here reads a clock or a file: ``now`` comes in, and the rules were loaded at start.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from config_uploader import diff as diffing
from config_uploader.compliance.features import Compliance, check
from config_uploader.compliance.remediate import Remediation, remediation
from config_uploader.compliance.report import compliance_fields, verdict_states
from config_uploader.compliance.rules import Rules
from config_uploader.compliance.saved import SavedState, compare
from config_uploader.compliance.tree import lines_of

Redact = Callable[[Sequence[str], str], list[str]]
"""(lines, vendor) -> the lines redacted by the vendor's rules."""

# Room left in a 16 KiB line for the event's own fields (router, version, desired, rules).
COMPLIANCE_BUDGET: Final = 12 * 1024
DEFAULT_GRACE: Final = 3600.0
# Negated commands and the config line each names: Cisco-style ``no``, Junos ``delete`` (of a
# ``set`` line) and the line-set fallback's ``# remove:`` notes.
NEGATIONS: Final = (("no ", ""), ("delete ", "set "), ("# remove: ", ""))


@dataclass(frozen=True, slots=True)
class Event:
    """One event line to write (``diff`` is split over ``part``/``parts`` lines)."""

    name: str
    level: str
    fields: dict[str, Any]
    diff: str | None = None


@dataclass(frozen=True, slots=True)
class Metric:
    """One EMF line: ``values`` under ``dimensions``."""

    event: str
    dimensions: dict[str, str]
    values: dict[str, float]


@dataclass(frozen=True, slots=True)
class Judged:
    events: list[Event] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)
    state: dict[str, Any] | None = None
    """What the router's state keeps of this verdict (for the read API)."""


@dataclass(frozen=True, slots=True)
class Version:
    """One stored version's id and normalised text."""

    id: str
    text: diffing.Text


class Judge:
    def __init__(
        self, rules: Rules | None, redact: Redact, unsaved_grace: float = DEFAULT_GRACE
    ) -> None:
        self.rules = rules
        self.redact = redact
        self.unsaved_grace = unsaved_grace

    # -- running versus startup ----------------------------------------------------------------

    def saved(
        self,
        router: str,
        vendor: str,
        previous: SavedState,
        running: Version | None,
        startup: Version | None,
        now: float,
    ) -> tuple[Judged, SavedState]:
        """``config.saved``/``config.unsaved`` for the latest of each kind, and the new state.
        Nothing is emitted until both kinds have been seen."""
        same = (
            None if running is None or startup is None else running.text.text == startup.text.text
        )
        state = compare(
            previous,
            None if running is None else running.id,
            None if startup is None else startup.id,
            same,
            now,
        )
        if state.state == "unknown" or running is None or startup is None:
            return Judged(state=state.to_dict()), state
        overdue = state.overdue(now, self.unsaved_grace)
        fields: dict[str, Any] = {
            "router": router,
            "running": state.running,
            "startup": state.startup,
        }
        if state.state == "saved":
            event = Event("config.saved", "info", fields)
        else:
            fields.update(since=state.since, overdue=overdue)
            diff = diffing.unified_diff(
                startup.text,
                running.text,
                vendor,
                fromfile=f"{router}/startup/{startup.id}",
                tofile=f"{router}/{running.id}",
            )
            event = Event("config.unsaved", "warning", fields, diff)
        metric = Metric("config.unsaved_metric", {"router": router}, {"unsaved": float(overdue)})
        return Judged([event], [metric], state.to_dict()), state

    # -- per-feature compliance ----------------------------------------------------------------

    def check(self, vendor: str, desired: str, actual: str) -> Compliance:
        features = self.rules.features(vendor) if self.rules is not None else ()
        return check(features, lines_of(desired, vendor), lines_of(actual, vendor))

    def compliance(
        self,
        router: str,
        version: str,
        vendor: str,
        desired_location: str,
        desired: str,
        actual: str,
    ) -> Judged:
        """``config.compliance`` and its metric for one running upload with a desired config;
        nothing when there is no rules file or it has no features for the vendor."""
        if self.rules is None or not self.rules.features(vendor):
            return Judged()
        result = self.check(vendor, desired, actual)
        fix = None if result.compliant else self.remediation(vendor, desired, actual, result)
        fields = {
            "router": router,
            "version": version,
            "desired": desired_location,
            "rules": self.rules.source,
            "vendor": vendor,
            **compliance_fields(
                result, lambda lines: self.redact(lines, vendor), fix, COMPLIANCE_BUDGET
            ),
        }
        level = "info" if result.compliant else "warning"
        percent = result.percent if result.percent is not None else 100.0
        metric = Metric("config.compliance_metric", {"router": router}, {"compliance": percent})
        state = {
            "version": version,
            "percent": result.percent,
            "features": verdict_states(result),
        }
        return Judged([Event("config.compliance", level, fields)], [metric], state)

    def remediation(
        self, vendor: str, desired: str, actual: str, result: Compliance | None = None
    ) -> Remediation:
        """The commands for the failing features (all of the drift without rules)."""
        wanted, have = lines_of(desired, vendor), lines_of(actual, vendor)
        if self.rules is not None and self.rules.features(vendor):
            result = result or check(self.rules.features(vendor), wanted, have)
            wanted, have = result.scope(wanted, have)
        return remediation(vendor, wanted, have)

    def remediation_answer(
        self, vendor: str, desired: str, actual: str, redacted: bool
    ) -> dict[str, Any]:
        """The body of ``GET /routers/{name}/remediation`` (without router and version)."""
        features: list[str] | None = None
        result = None
        if self.rules is not None and self.rules.features(vendor):
            result = self.check(vendor, desired, actual)
            features = [verdict.feature.name for verdict in result.failing()]
        fix = self.remediation(vendor, desired, actual, result)
        commands = list(fix.commands)
        return {
            "engine": fix.engine,
            "platform": fix.platform,
            "redacted": redacted,
            "features": features,
            "commands": self.redact_commands(commands, vendor) if redacted else commands,
        }

    def redact_commands(self, commands: Sequence[str], vendor: str) -> list[str]:
        """Commands redacted as the config lines they name: the redactor knows ``snmp-server
        community X`` and ``set ... key X``, not their negations, so ``no``, ``delete`` and
        ``# remove:`` are taken off for the redactor and put back after."""
        bare: list[str] = []
        prefixes: list[tuple[str, str]] = []
        for command in commands:
            indent = command[: len(command) - len(command.lstrip())]
            text = command.lstrip()
            for negation, positive in NEGATIONS:
                if text.startswith(negation):
                    prefixes.append((indent + negation, indent + positive))
                    bare.append(indent + positive + text[len(negation) :])
                    break
            else:
                prefixes.append(("", ""))
                bare.append(command)
        redacted = self.redact(bare, vendor)
        return [
            negation + line[len(positive) :] if negation else line
            for (negation, positive), line in zip(prefixes, redacted, strict=True)
        ]


def fleet_summary(
    states: Sequence[dict[str, Any]], now: float, grace: float, stale: Sequence[str] = ()
) -> dict[str, Any]:
    """``GET /compliance``: from each router's state (``router``, ``saved``, ``compliance``),
    per feature the share of compliant routers, the non-compliant, unsaved and stale ones."""
    features: dict[str, dict[str, Any]] = {}
    failing: list[dict[str, Any]] = []
    unsaved: list[dict[str, Any]] = []
    for state in states:
        router = state["router"]
        compliance = state.get("compliance") or {}
        verdicts = compliance.get("features") or {}
        for name, ok in verdicts.items():
            entry = features.setdefault(name, {"compliant": 0, "routers": 0})
            entry["routers"] += 1
            entry["compliant"] += bool(ok)
        percent = compliance.get("percent")
        if percent is not None and percent < 100.0:
            bad = sorted(name for name, ok in verdicts.items() if not ok)
            failing.append({"router": router, "percent": percent, "failing": bad})
        saved = SavedState.from_dict(state.get("saved"))
        if saved.state == "unsaved":
            unsaved.append(
                {"router": router, "since": saved.since, "overdue": saved.overdue(now, grace)}
            )
    for entry in features.values():
        entry["share"] = round(entry["compliant"] / entry["routers"], 3)
    return {
        "routers": len(states),
        "features": dict(sorted(features.items())),
        "non_compliant": failing,
        "unsaved": unsaved,
        "stale": list(stale),
    }
