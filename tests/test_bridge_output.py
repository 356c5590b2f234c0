"""EMF lines, timestamps and the JSON log envelope."""

from __future__ import annotations

import json
import subprocess
import sys

from bridge.metrics import Counters, emf_record
from bridge.output import iso_utc


def test_iso_utc() -> None:
    assert iso_utc(0) == "1970-01-01T00:00:00.000000Z"
    assert iso_utc(1796056523.25) == "2026-11-30T16:35:23.250000Z"
    assert iso_utc(1796056523.9999999).startswith("2026-11-30T16:35:2")


def test_counters_emf_reports_deltas_and_gauges() -> None:
    counters = Counters("received", "dropped_rate", gauges=("offset_seconds",))
    counters.incr("received", 5)
    counters.set_gauge("offset_seconds", 0.002)
    first = counters.emf("syslog", 1796056523.0)
    assert first["received"] == 5 and first["dropped_rate"] == 0
    assert first["offset_seconds"] == 0.002
    assert first["event"] == "metrics" and first["service"] == "syslog"
    directive = first["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "EdgeBridge"
    assert directive["Dimensions"] == [["service"]]
    assert {m["Name"] for m in directive["Metrics"]} == {
        "received",
        "dropped_rate",
        "offset_seconds",
    }
    assert first["_aws"]["Timestamp"] == 1796056523000
    counters.incr("received", 2)
    assert counters.emf("syslog", 1796056524.0)["received"] == 2
    assert counters.snapshot()["received"] == 7


def test_emf_record_dimensions() -> None:
    record = emf_record({"router": "rtr1"}, {"drift": 1}, 0.0, event="config.drift_metric")
    assert record["router"] == "rtr1" and record["drift"] == 1
    assert record["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["router"]]


def test_log_lines_are_json_with_envelope() -> None:
    code = (
        "from bridge.logging import get_logger\n"
        "log = get_logger()\n"
        "log.info('demo.started', udp='127.0.0.1:1', sources={'a'})\n"
        "log.warning('demo.warn', error=ValueError('bad'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=True
    ).stdout.splitlines()
    first, second = (json.loads(line) for line in out)
    assert list(first)[:3] == ["event", "level", "time"]
    assert first["event"] == "demo.started" and first["level"] == "info"
    assert first["time"].endswith("Z") and first["sources"] == ["a"]
    assert second["level"] == "warning" and second["error"] == "bad"
