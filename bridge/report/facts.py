"""The daemons' JSON lines folded into facts per router, sans-IO: records in, facts kept.

One :class:`Facts` takes every record of the period, in any order and from any mix of
daemons, and keeps only what the verdicts need: per router its log, time and config
evidence, and per daemon whether its output was there at all (a router missing from a daemon
that ran is a finding; a daemon whose output is missing proves nothing either way).

Logs are counted from the ``syslog.evidence`` summaries when the input has any (what
CloudWatch keeps cheaply), else from the per-message ``syslog`` lines through the receiver's
own table, so both give the same numbers. Routers are named as the daemons named them; an
unnamed syslog source is named by ``names`` (``--router IP=NAME``) or else by its address.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.log_evidence import LogEvidence, epoch
from bridge.output import iso_utc

__all__ = ["HANDLED_EVENTS", "ConfigFacts", "Facts", "LogFacts", "TimeFacts", "epoch"]

CHANNELS = ("syslog", "ntp", "config")
MAX_CHANGES = 200  # config changes kept per router (the latest), with their diffs by reference


@dataclass
class LogFacts:
    """10.3.3: the router's messages as the receiver saw them."""

    first: float | None = None
    last: float | None = None
    messages: int = 0
    by_severity: dict[str, int] = field(default_factory=dict)
    skew_medians: list[float] = field(default_factory=list)
    skew_worst: float | None = None
    skew_samples: int = 0
    dropped: int = 0
    source_ips: set[str] = field(default_factory=set)

    def merge(self, summary: Mapping[str, Any]) -> None:
        """Fold one interval's fields (a ``syslog.evidence`` entry) in."""
        first, last = epoch(summary.get("first")), epoch(summary.get("last"))
        if first is not None and (self.first is None or first < self.first):
            self.first = first
        if last is not None and (self.last is None or last > self.last):
            self.last = last
        self.messages += _count(summary.get("messages"))
        severities = summary.get("by_severity")
        if isinstance(severities, dict):
            for key, count in severities.items():
                self.by_severity[str(key)] = self.by_severity.get(str(key), 0) + _count(count)
        median, worst = _number(summary.get("skew_median")), _number(summary.get("skew_worst"))
        if median is not None:
            self.skew_medians.append(median)
        if worst is not None and (self.skew_worst is None or abs(worst) > abs(self.skew_worst)):
            self.skew_worst = worst
        self.skew_samples += _count(summary.get("skew_samples"))
        if isinstance(summary.get("source_ip"), str):
            self.source_ips.add(summary["source_ip"])

    @property
    def skew_median(self) -> float | None:
        return round(statistics.median(self.skew_medians), 3) if self.skew_medians else None


@dataclass
class TimeFacts:
    """10.6: what the NTP proxy saw of the router (its ``ntp.clients`` entries), merged."""

    requests: int = 0
    last_request: float | None = None
    synchronised: bool | None = None  # as the router's last request claimed
    latest: dict[str, Any] = field(default_factory=dict)  # the last entry's fields


@dataclass
class ConfigFacts:
    """1.2.8: uploads, changes and the last check against the desired config."""

    uploads: int | None = 0  # None where only the stored versions are known (the live page)
    last_upload: float | None = None
    latest_version: str | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)
    check: dict[str, Any] | None = None  # the last config.in_sync / config.drift
    check_time: float = float("-inf")
    diffs: dict[tuple[str, str, str], dict[int, str]] = field(default_factory=dict)
    stale: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None  # the last config.evidence entry
    saved: dict[str, Any] | None = None  # the last config.saved / config.unsaved
    compliance: dict[str, Any] | None = None  # the last config.compliance (1.2.1, 1.2.7)


@dataclass
class Router:
    logs: LogFacts = field(default_factory=LogFacts)
    time: TimeFacts = field(default_factory=TimeFacts)
    config: ConfigFacts = field(default_factory=ConfigFacts)


class Facts:
    """Everything the verdicts are drawn from; :meth:`add` returns False for a foreign record."""

    def __init__(
        self,
        names: Mapping[str, str] | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> None:
        self.names: dict[str, str] = dict(names or {})
        self.start, self.end = start, end
        self.outside_period = 0  # edge-bridge lines left out by --since/--until
        self.routers: dict[str, Router] = {}
        self.channels: set[str] = set()  # daemons whose output is in the input
        self.ntp_evidence = False  # the NTP proxy wrote per-router evidence (ntp.clients)
        self.first_time: float | None = None
        self.last_time: float | None = None
        self.proxy_unsynchronised: list[float] = []
        self.untracked_messages = 0
        self._messages = LogEvidence()
        self._summaries: dict[str, LogFacts] = {}
        self._drops: dict[str, int] = {}

    def router(self, name: str) -> Router:
        found = self.routers.get(name)
        if found is None:
            found = self.routers[name] = Router()
        return found

    def add(self, record: Mapping[str, Any]) -> bool:
        """Fold one decoded line in; False when it is not an edge-bridge line."""
        event, when = record.get("event"), epoch(record.get("time"))
        if not isinstance(event, str) or when is None:
            return False
        daemon = _daemon_of(event, record)
        if daemon is None:
            return event == "stopped"  # the runner's last line: ours, but no daemon's
        if (self.start is not None and when < self.start) or (
            self.end is not None and when > self.end
        ):
            self.outside_period += 1
            return True
        self.channels.add(daemon)
        if self.first_time is None or when < self.first_time:
            self.first_time = when
        if self.last_time is None or when > self.last_time:
            self.last_time = when
        handler = _HANDLERS.get(event)
        if handler is not None:
            handler(self, record, when)
        return True

    # -- syslog ------------------------------------------------------------------------------

    def _syslog(self, record: Mapping[str, Any], when: float) -> None:
        ip = record.get("source_ip")
        if not isinstance(ip, str):
            return
        name = self._name(record.get("router"), ip)
        received = epoch(record.get("received_at"))
        severity = record.get("severity")
        self._messages.observe(
            name,
            ip,
            severity if isinstance(severity, int) else None,
            record.get("timestamp"),
            when if received is None else received,
        )

    def _syslog_evidence(self, record: Mapping[str, Any], when: float) -> None:
        routers = record.get("routers")
        if not isinstance(routers, dict):
            return
        for raw_name, fields in routers.items():
            if not isinstance(fields, dict):
                continue
            ip = fields.get("source_ip")
            name = self._name(raw_name, ip if isinstance(ip, str) else None)
            self._summaries.setdefault(name, LogFacts()).merge(fields)
        self.untracked_messages += _count(record.get("untracked_messages"))

    def _rate_limited(self, record: Mapping[str, Any], when: float) -> None:
        top = record.get("top_sources")
        if isinstance(top, dict):
            for ip, count in top.items():
                self._drops[str(ip)] = self._drops.get(str(ip), 0) + _count(count)

    # -- ntp ---------------------------------------------------------------------------------

    def _ntp_clients(self, record: Mapping[str, Any], when: float) -> None:
        self.ntp_evidence = True
        clients = record.get("clients", record.get("routers"))
        entries = clients.items() if isinstance(clients, dict) else ()
        for raw_name, fields in entries:
            if not isinstance(fields, dict):
                continue
            ip = fields.get("source_ip", fields.get("ip"))
            name = self._name(raw_name, ip if isinstance(ip, str) else None)
            facts = self.router(name).time
            facts.requests += _count(fields.get("requests"))
            last = epoch(fields.get("last_request", fields.get("last")))
            if last is not None and (facts.last_request is None or last >= facts.last_request):
                facts.last_request = last
                facts.latest = dict(fields)
                facts.synchronised = _claims_sync(fields)

    def _ntp_unsynchronised(self, record: Mapping[str, Any], when: float) -> None:
        self.proxy_unsynchronised.append(when)

    # -- config ------------------------------------------------------------------------------

    def _config_received(self, record: Mapping[str, Any], when: float) -> None:
        facts = self._config(record)
        if facts is not None:
            facts.uploads = (facts.uploads or 0) + 1
            facts.last_upload = max(when, facts.last_upload or when)

    def _config_changed(self, record: Mapping[str, Any], when: float) -> None:
        facts = self._config(record)
        if facts is None:
            return
        version = str(record.get("version"))
        if record.get("part", 1) == 1:
            facts.changes.append(
                {"time": when, "version": version, "previous": record.get("previous")}
            )
            del facts.changes[:-MAX_CHANGES]
        if record.get("previous") is not None:  # a first upload's "diff" is the whole config
            self._diff(facts, "config.changed", version, record)
        self._version(facts, version, when)

    def _config_unchanged(self, record: Mapping[str, Any], when: float) -> None:
        facts = self._config(record)
        if facts is not None:
            self._version(facts, str(record.get("version")), when)

    def _config_check(self, record: Mapping[str, Any], when: float) -> None:
        facts = self._config(record)
        if facts is None:
            return
        version = str(record.get("version"))
        if when >= facts.check_time and record.get("part", 1) == 1:
            facts.check_time = when
            facts.check = {
                "time": when,
                "result": _CHECK_RESULTS[str(record["event"])],
                "version": version,
                "desired": record.get("desired"),
                "reason": record.get("reason"),
                "error": record.get("error"),
            }
        self._diff(facts, str(record["event"]), version, record)

    def _config_stale(self, record: Mapping[str, Any], when: float) -> None:
        facts = self._config(record)
        if facts is not None:
            facts.stale = {"time": when, **{k: v for k, v in record.items() if k != "diff"}}

    def _config_saved(self, record: Mapping[str, Any], when: float) -> None:
        facts = self._config(record)
        if facts is not None and record.get("part", 1) == 1:
            facts.saved = {
                "time": when,
                "state": "unsaved" if record["event"] == "config.unsaved" else "saved",
                **{k: record.get(k) for k in ("running", "startup", "overdue")},
                "since": _stamp(record.get("since")),
            }
        if facts is not None:
            self._diff(facts, str(record["event"]), str(record.get("running")), record)

    def _config_compliance(self, record: Mapping[str, Any], when: float) -> None:
        facts = self._config(record)
        if facts is None:
            return
        features = record.get("features")
        failing = [
            str(f.get("feature", f.get("name", "?")))
            for f in (features if isinstance(features, list) else [])
            if isinstance(f, dict) and f.get("compliant") is False
        ]
        facts.compliance = {
            "time": when,
            "version": record.get("version"),
            "percent": record.get("percent"),
            "compliant": record.get("compliant"),
            "failing": failing,
        }

    def _config_evidence(self, record: Mapping[str, Any], when: float) -> None:
        routers = record.get("routers")
        if not isinstance(routers, dict):
            return
        for name, fields in routers.items():
            if isinstance(fields, dict):
                self.router(str(name)).config.summary = {"time": when, **fields}

    def _config(self, record: Mapping[str, Any]) -> ConfigFacts | None:
        name = record.get("router")
        return self.router(name).config if isinstance(name, str) and name else None

    @staticmethod
    def _version(facts: ConfigFacts, version: str, when: float) -> None:
        if facts.last_upload is None or when >= facts.last_upload:
            facts.latest_version = version

    @staticmethod
    def _diff(facts: ConfigFacts, event: str, version: str, record: Mapping[str, Any]) -> None:
        """Diff text (already redacted by the daemon), kept in its parts, latest per kind."""
        diff = record.get("diff")
        if not isinstance(diff, str):
            return
        key = (event, version, str(record.get("time")))
        for old in [k for k in facts.diffs if k[0] == event and k != key]:
            del facts.diffs[old]
        part = record.get("part", 1)
        facts.diffs.setdefault(key, {})[part if isinstance(part, int) else 1] = diff

    # -- names and the end -------------------------------------------------------------------

    def _name(self, name: Any, ip: str | None) -> str:
        if isinstance(name, str) and name and name != ip:
            if ip is not None:
                self.names.setdefault(ip, name)
            return name
        if ip is not None:
            return self.names.get(ip, ip)
        return str(name)

    def finish(self) -> None:
        """Settle the log facts and drops into the routers (call once all records are in)."""
        if self._summaries:
            for name, logs in self._summaries.items():
                self.router(name).logs = logs
        else:
            summary = self._messages.summary(self.last_time or 0.0)
            for name, fields in summary["routers"].items():
                self.router(self.names.get(name, name)).logs.merge(fields)
            self.untracked_messages += summary["untracked_messages"]
        for ip, count in self._drops.items():
            self.router(self.names.get(ip, ip)).logs.dropped += count
        self._summaries, self._drops = {}, {}


def _daemon_of(event: str, record: Mapping[str, Any]) -> str | None:
    """Which daemon wrote the line, from its event name (or an EMF line's ``service``)."""
    prefix = event.split(".", 1)[0]
    if prefix in CHANNELS:
        return prefix
    if event == "metrics" and record.get("service") in CHANNELS:
        return str(record["service"])
    return None


def _claims_sync(fields: Mapping[str, Any]) -> bool | None:
    claimed = fields.get("synchronised", fields.get("synchronized"))
    if isinstance(claimed, bool):
        return claimed
    leap, stratum = fields.get("leap"), fields.get("stratum")
    if isinstance(leap, int) and isinstance(stratum, int):
        return leap != 3 and 1 <= stratum <= 15
    return None


def _stamp(value: Any) -> Any:
    """A time as the uploader may give it (Unix seconds) as ISO 8601; anything else as is."""
    number = _number(value)
    return iso_utc(number) if number is not None else value


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


_CHECK_RESULTS = {
    "config.in_sync": "in_sync",
    "config.drift": "drift",
    "config.desired_error": "error",
}

_HANDLERS: dict[str, Any] = {
    "syslog": Facts._syslog,
    "syslog.evidence": Facts._syslog_evidence,
    "syslog.rate_limited": Facts._rate_limited,
    "ntp.clients": Facts._ntp_clients,
    "ntp.unsynchronised": Facts._ntp_unsynchronised,
    "config.received": Facts._config_received,
    "config.changed": Facts._config_changed,
    "config.unchanged": Facts._config_unchanged,
    "config.in_sync": Facts._config_check,
    "config.drift": Facts._config_check,
    "config.desired_error": Facts._config_check,
    "config.stale": Facts._config_stale,
    "config.saved": Facts._config_saved,
    "config.unsaved": Facts._config_saved,
    "config.compliance": Facts._config_compliance,
    "config.evidence": Facts._config_evidence,
}

HANDLED_EVENTS = frozenset(_HANDLERS)
