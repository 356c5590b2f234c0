"""Compliance verdicts as the fields of one ``config.compliance`` line, redacted and bounded.

Missing and extra lines are shown under their section headers (``line vty 0 4`` above a
missing ``exec-timeout 15 0``), as Nautobot Golden Config and hier-config show them, after
redaction of the whole block (a Junos SNMP community is only a secret inside ``snmp``). The line
must stay under 16 KiB: every feature keeps its verdict and its counts, and the lines shown per
feature are cut (``truncated: true``) until the fields fit the budget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from bridge.output import dumps
from config_uploader.compliance.features import Compliance, FeatureVerdict
from config_uploader.compliance.remediate import Remediation
from config_uploader.compliance.tree import render

Redactor = Callable[[Sequence[str]], list[str]]
"""Redacts config lines (with the vendor's rules): the only way lines reach a report."""

# Lines shown per feature and per side, tried from the first until the fields fit.
_CAPS: Final = (64, 16, 4, 0)


def compliance_fields(
    compliance: Compliance, redact: Redactor, remediation: Remediation | None, budget: int
) -> dict[str, Any]:
    """``percent``, ``compliant``, ``features`` and ``remediation``, serialised within
    ``budget`` bytes (features beyond it are left out, ``features_truncated: true``)."""
    shown = [(verdict, _shown(verdict, redact)) for verdict in compliance.verdicts]
    head: dict[str, Any] = {"percent": compliance.percent, "compliant": compliance.compliant}
    if remediation is not None:
        head["remediation"] = remediation_summary(remediation)
    for cap in _CAPS:
        fields = {**head, "features": [_feature(v, lines, cap) for v, lines in shown]}
        if len(dumps(fields)) <= budget:
            return fields
    kept: list[dict[str, Any]] = []
    size = len(dumps(head)) + 64
    for verdict, lines in shown:
        item = _feature(verdict, lines, 0)
        size += len(dumps(item)) + 1
        if size > budget:
            return {**head, "features": kept, "features_truncated": True}
        kept.append(item)
    return {**head, "features": kept}


def remediation_summary(remediation: Remediation) -> dict[str, Any]:
    return {
        "engine": remediation.engine,
        "platform": remediation.platform,
        "commands": len(remediation.commands),
    }


def verdict_states(compliance: Compliance) -> dict[str, bool]:
    """Feature name -> compliant, as kept in the router's state for the read API."""
    return {verdict.feature.name: verdict.compliant for verdict in compliance.verdicts}


def _shown(verdict: FeatureVerdict, redact: Redactor) -> tuple[list[str], list[str]]:
    missing = redact(render(verdict.missing)) if verdict.missing else []
    extra = redact(render(verdict.extra)) if verdict.extra else []
    return missing, extra


def _feature(
    verdict: FeatureVerdict, lines: tuple[list[str], list[str]], cap: int
) -> dict[str, Any]:
    missing, extra = lines
    item: dict[str, Any] = {
        "name": verdict.feature.name,
        "compliant": verdict.compliant,
        "missing_lines": len(verdict.missing),
        "extra_lines": len(verdict.extra),
    }
    if verdict.feature.requirement:
        item["requirement"] = verdict.feature.requirement
    if verdict.absent:
        item["absent"] = True
    if missing and cap:
        item["missing"] = missing[:cap]
    if extra and cap:
        item["extra"] = extra[:cap]
    if len(missing) > cap or len(extra) > cap:
        item["truncated"] = True
    return item
