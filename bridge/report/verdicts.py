"""Facts -> a verdict per router and requirement, sans-IO: the rules an assessor can read.

Three requirements (PCI DSS v4.0 numbering), each ``pass``, ``fail`` or ``unknown`` with the
evidence behind it and one sentence of reason:

``10.3.3`` logs promptly off-box
    pass: the receiver got the router's messages in the period, the last one no more than
    ``max_silence`` before the period's end, and none of them was dropped. fail: the receiver
    ran but heard nothing from the router, or not lately, or dropped some. unknown: no output
    of the receiver in the input.
``10.6`` time synchronised
    pass: the router asked the NTP proxy for time in the period and claimed to be
    synchronised, and its log timestamps (if any) are within ``max_skew`` of arrival. fail: it
    claimed not to be synchronised, never asked a proxy that ran, or its log clock is off.
    unknown: no per-router NTP evidence in the input (the proxy's ``ntp.clients`` lines).
``1.2.8`` configuration consistent
    pass: the router's last upload in the period was checked against the desired config and
    matches it. fail: it drifts, no desired config exists for it, it is stale, its running
    config has been unsaved past the uploader's grace, or it never uploaded to an uploader
    that ran. unknown: no uploader output, or no check was possible. The compliance verdict
    (features of the PCI rules, 1.2.1 and 1.2.7) is shown with it, not judged here.

No data for a router is never a pass. The fleet's verdict is the worst of its routers'
(fail, then unknown, then pass), with the counts of each.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bridge.output import iso_utc
from bridge.report.facts import ConfigFacts, Facts, LogFacts, TimeFacts

__all__ = ["REQUIREMENTS", "Rules", "judge"]

REQUIREMENTS = {
    "10.3.3": "logs promptly backed up off the router",
    "10.6": "clock synchronised to the designated time source",
    "1.2.8": "running configuration consistent with the approved one",
}
_RANK = {"fail": 0, "unknown": 1, "pass": 2}


@dataclass(frozen=True)
class Rules:
    max_silence: float = 86400.0  # seconds without a log message before 10.3.3 fails
    max_skew: float = 2.0  # seconds a router's log timestamps may differ from arrival


def _iso(value: float | None) -> str | None:
    return None if value is None else iso_utc(value)


def _verdict(verdict: str, reason: str, **evidence: Any) -> dict[str, Any]:
    return {"verdict": verdict, "reason": reason, **evidence}


def judge_logs(logs: LogFacts, ran: bool, end: float, rules: Rules) -> dict[str, Any]:
    evidence: dict[str, Any] = {
        "first_message": _iso(logs.first),
        "last_message": _iso(logs.last),
        "messages": logs.messages,
        "by_severity": logs.by_severity,
        "dropped": logs.dropped,
        "max_silence": rules.max_silence,
    }
    if not ran:
        return _verdict("unknown", "no syslog receiver output in the input", **evidence)
    if logs.last is None:
        return _verdict("fail", "no log message from this router in the period", **evidence)
    silent = round(max(0.0, end - logs.last), 3)
    evidence["silent_for"] = silent
    if silent > rules.max_silence:
        return _verdict(
            "fail",
            f"no log message for the last {silent:.0f} s of the period"
            f" (allowed {rules.max_silence:.0f} s)",
            **evidence,
        )
    if logs.dropped:
        return _verdict(
            "fail", f"{logs.dropped} messages dropped by the receiver's rate limit", **evidence
        )
    return _verdict(
        "pass",
        f"{logs.messages} messages received, the last {silent:.0f} s before the end",
        **evidence,
    )


def judge_time(
    time: TimeFacts, logs: LogFacts, ran: bool, evidence_kept: bool, rules: Rules
) -> dict[str, Any]:
    skew: dict[str, Any] = {
        "skew_median": logs.skew_median,
        "skew_worst": logs.skew_worst,
        "skew_samples": logs.skew_samples,
        "max_skew": rules.max_skew,
    }
    evidence: dict[str, Any] = {
        "ntp_requests": time.requests,
        "last_ntp_request": _iso(time.last_request),
        "claimed_synchronised": time.synchronised,
        "ntp": time.latest or None,
        **skew,
    }
    if logs.skew_worst is not None and abs(logs.skew_worst) > rules.max_skew:
        return _verdict(
            "fail",
            f"log timestamps up to {logs.skew_worst:+.1f} s off their arrival"
            f" (allowed {rules.max_skew:g} s)",
            **evidence,
        )
    if time.synchronised is False:
        return _verdict(
            "fail", "the router's last NTP request says it is not synchronised", **evidence
        )
    if time.last_request is None:
        if evidence_kept:
            return _verdict("fail", "the router never asked the NTP proxy for time", **evidence)
        why = "the NTP proxy's output has no per-router evidence (ntp.clients)"
        return _verdict("unknown", why if ran else "no NTP proxy output in the input", **evidence)
    if time.synchronised is None:
        return _verdict(
            "unknown", "the router's NTP requests do not say whether it is synchronised", **evidence
        )
    return _verdict(
        "pass", f"{time.requests} NTP requests, claiming synchronisation to the proxy", **evidence
    )


def judge_config(config: ConfigFacts, ran: bool) -> dict[str, Any]:
    check = config.check
    evidence: dict[str, Any] = {
        "uploads": config.uploads,
        "last_upload": _iso(config.last_upload),
        "latest_version": config.latest_version,
        "changes": [
            {**change, "time": _iso(change["time"]), "diff": f"config.changed {change['version']}"}
            for change in config.changes
        ],
        "check": None if check is None else {**check, "time": _iso(check["time"])},
    }
    for key in ("summary", "saved", "compliance"):
        found = getattr(config, key)
        if found is not None:
            evidence[key] = {**found, "time": _iso(found["time"])}
    if not ran:
        return _verdict("unknown", "no config uploader output in the input", **evidence)
    if config.stale is not None:
        evidence["stale"] = {**config.stale, "time": _iso(config.stale["time"])}
        return _verdict("fail", "the router's config upload is overdue (stale)", **evidence)
    if check is None:
        if not config.uploads and config.latest_version is None:
            return _verdict("fail", "no config upload from this router in the period", **evidence)
        return _verdict(
            "unknown", "uploads were never checked against a desired config", **evidence
        )
    if check["result"] == "error":
        return _verdict(
            "unknown", f"the desired config could not be read: {check['error']}", **evidence
        )
    if check["result"] == "drift":
        if check["reason"] == "no_desired_config":
            return _verdict("fail", "no desired config exists for this router", **evidence)
        return _verdict(
            "fail", f"version {check['version']} differs from the desired config", **evidence
        )
    saved = config.saved
    if saved is not None and saved["state"] == "unsaved" and saved.get("overdue"):
        return _verdict(
            "fail",
            f"the running config differs from the startup config since {saved.get('since')}",
            **evidence,
        )
    return _verdict("pass", f"version {check['version']} matches {check['desired']}", **evidence)


def fleet_verdict(verdicts: Iterable[str]) -> dict[str, Any]:
    counts = {"pass": 0, "fail": 0, "unknown": 0}
    for verdict in verdicts:
        counts[verdict] += 1
    worst = min((v for v, n in counts.items() if n), key=_RANK.__getitem__, default="unknown")
    return {"verdict": worst, **counts}


def judge(facts: Facts, start: float, end: float, rules: Rules) -> dict[str, Any]:
    """The report document: ``{"period", "routers": {NAME: {REQ: verdict}}, "fleet", ...}``."""
    facts.finish()
    channels = facts.channels
    routers: dict[str, dict[str, Any]] = {}
    for name in sorted(facts.routers):
        router = facts.routers[name]
        routers[name] = {
            "10.3.3": judge_logs(router.logs, "syslog" in channels, end, rules),
            "10.6": judge_time(
                router.time, router.logs, "ntp" in channels, facts.ntp_evidence, rules
            ),
            "1.2.8": judge_config(router.config, "config" in channels),
        }
    fleet: dict[str, Any] = {
        req: fleet_verdict(r[req]["verdict"] for r in routers.values()) for req in REQUIREMENTS
    }
    findings = [
        f"no {c} daemon output in the input"
        for c in ("syslog", "ntp", "config")
        if c not in channels
    ]
    if facts.proxy_unsynchronised:
        findings.append(
            f"the NTP proxy reported itself unsynchronised {len(facts.proxy_unsynchronised)} times,"
            f" first at {iso_utc(min(facts.proxy_unsynchronised))}"
        )
    if facts.untracked_messages:
        findings.append(
            f"{facts.untracked_messages} log messages came from sources past the receiver's"
            " per-router table and are not attributed to a router"
        )
    fleet["routers"] = len(routers)
    fleet["findings"] = findings
    return {
        "period": {"start": iso_utc(start), "end": iso_utc(end)},
        "requirements": REQUIREMENTS,
        "rules": {"max_silence": rules.max_silence, "max_skew": rules.max_skew},
        "routers": routers,
        "fleet": fleet,
        "diffs": {name: _diffs(facts.routers[name].config) for name in routers},
    }


def _diffs(config: ConfigFacts) -> list[dict[str, Any]]:
    """The latest change and drift diffs, whole again (as redacted by the uploader)."""
    return [
        {
            "event": event,
            "version": version,
            "time": time,
            "text": "".join(parts[n] for n in sorted(parts)),
            "complete": sorted(parts) == list(range(1, len(parts) + 1)),
        }
        # drift first: it is what the verdict is about
        for (event, version, time), parts in sorted(
            config.diffs.items(), key=lambda item: (item[0][0] != "config.drift", item[0][2])
        )
    ]
