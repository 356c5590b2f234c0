"""Counters shown by /healthz and written as CloudWatch Embedded Metric Format lines.

EMF lines are ordinary JSON lines on stdout that CloudWatch Logs turns into metrics, so no
agent and no PutMetricData permission are needed. Counters are cumulative in /healthz and
reported as deltas in EMF, so a CloudWatch Sum over any period is the number of events in it.
"""

from __future__ import annotations

from typing import Any

from bridge.output import envelope

NAMESPACE = "EdgeBridge"


class Counters:
    """Named integer counters and float gauges of one service."""

    def __init__(self, *names: str, gauges: tuple[str, ...] = ()) -> None:
        self.values: dict[str, int] = dict.fromkeys(names, 0)
        self.gauges: dict[str, float] = dict.fromkeys(gauges, 0.0)
        self._reported: dict[str, int] = {}

    def incr(self, name: str, n: int = 1) -> None:
        self.values[name] = self.values.get(name, 0) + n

    def set_total(self, name: str, total: int) -> None:
        """A counter kept elsewhere (cumulative): EMF still reports its deltas."""
        self.values[name] = total

    def set_gauge(self, name: str, value: float) -> None:
        self.gauges[name] = value

    def snapshot(self) -> dict[str, int | float]:
        merged: dict[str, int | float] = dict(self.values)
        merged.update(self.gauges)
        return merged

    def take_deltas(self) -> dict[str, int]:
        """Counts since the previous call: what one EMF line reports."""
        deltas = {name: value - self._reported.get(name, 0) for name, value in self.values.items()}
        self._reported = dict(self.values)
        return deltas

    def emf(self, service: str, now: float) -> dict[str, Any]:
        metrics: dict[str, float] = dict(self.take_deltas())
        units = dict.fromkeys(metrics, "Count")
        metrics.update(self.gauges)
        return emf_record({"service": service}, metrics, now, units=units)


def emf_record(
    dimensions: dict[str, str],
    metrics: dict[str, float],
    now: float,
    namespace: str = NAMESPACE,
    event: str = "metrics",
    units: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One EMF line; it also carries ``event``/``level``/``time`` like every other line."""
    units = units or {}
    directive = {
        "Timestamp": int(now * 1000),
        "CloudWatchMetrics": [
            {
                "Namespace": namespace,
                "Dimensions": [sorted(dimensions)],
                "Metrics": [{"Name": name, "Unit": units.get(name, "None")} for name in metrics],
            }
        ],
    }
    return envelope(event, "info", now, {"_aws": directive, **dimensions, **metrics})
