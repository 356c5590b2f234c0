"""EMF lines, timestamps, the JSON line envelope and the 16 KiB line budget."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.metrics import Counters, emf_record
from bridge.output import MAX_LINE_BYTES, budget_for, envelope, fit, iso_utc, split_text


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


def test_a_long_structlog_line_is_cut_and_says_so() -> None:
    code = (
        "from bridge.logging import get_logger\n"
        "get_logger().error('demo.failed', error='e' * 40_000, path='p' * 100)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout
    assert out.endswith(b"\n") and out.count(b"\n") == 1 and len(out) <= MAX_LINE_BYTES
    line = json.loads(out)
    assert (line["event"], line["truncated"], line["path"]) == ("demo.failed", True, "p" * 100)
    assert 15_000 < len(line["error"]) < 40_000


# -- the line budget -----------------------------------------------------------------------

STAMP = "2026-11-30T16:35:23.123456Z"


def test_envelope_comes_first() -> None:
    record = envelope("x.y", "info", 1796056523.123456, {"a": 1})
    assert list(record.items()) == [("event", "x.y"), ("level", "info"), ("time", STAMP), ("a", 1)]
    assert envelope("x.y", "info", STAMP, {})["time"] == STAMP


def test_a_line_that_fits_is_left_alone() -> None:
    record = envelope("x.y", "info", STAMP, {"message": "m" * 1000, "diff": "d"})
    assert fit(record) == [orjson.dumps(record) + b"\n"]


def test_the_cut_order_is_followed_and_only_what_is_needed_is_cut() -> None:
    record = envelope("x.y", "info", STAMP, {"raw": "r" * 12_000, "message": "m" * 12_000})
    [raw] = fit(record, cut=("raw", "message"))
    line = orjson.loads(raw)
    assert line["message"] == "m" * 12_000 and line["truncated"] is True
    assert 0 < len(line["raw"]) < 12_000
    assert len(raw) == MAX_LINE_BYTES  # one more character of raw would not fit


def test_a_container_goes_when_cutting_the_string_alone_would_not_do() -> None:
    data = {"meta": {f"p{i}": "v" * 100 for i in range(500)}}
    record = envelope("x.y", "info", STAMP, {"data": data, "message": "short"})
    [line] = fit(record, cut=("data", "message"))
    assert orjson.loads(line) | {"time": STAMP} == {
        **record,
        "data": None,
        "truncated": True,
    }


def test_unlisted_fields_give_way_largest_first() -> None:
    record = envelope("x.y", "info", STAMP, {"a": "a" * 100, "b": "b" * 30_000, "n": 7})
    line = orjson.loads(fit(record)[0])
    assert line["a"] == "a" * 100 and line["n"] == 7 and line["truncated"] is True
    assert "b" * 15_000 in line["b"]


@pytest.mark.parametrize("max_line", [200, 1000, MAX_LINE_BYTES])
def test_a_split_field_is_spread_over_parts_that_join_back(max_line: int) -> None:
    text = "".join(f'+line {i} \x01 é "quoted"\n' for i in range(3000))
    record = envelope("config.changed", "info", STAMP, {"router": "r1", "diff": text})
    raw = fit(record, split="diff", max_line=max_line)
    assert all(len(line) <= max_line and line.endswith(b"\n") for line in raw)
    lines = [orjson.loads(line) for line in raw]
    assert [(x["part"], x["parts"]) for x in lines] == [
        (n, len(raw)) for n in range(1, len(raw) + 1)
    ]
    assert "".join(x["diff"] for x in lines) == text
    assert all(x["router"] == "r1" and "truncated" not in x for x in lines)


def test_a_short_split_field_is_still_one_part_of_one() -> None:
    record = envelope("config.changed", "info", STAMP, {"diff": "-a\n+b\n"})
    [line] = fit(record, split="diff")
    assert orjson.loads(line)["part"] == orjson.loads(line)["parts"] == 1
    assert fit(envelope("config.in_sync", "info", STAMP, {}), split="diff") == [
        orjson.dumps(envelope("config.in_sync", "info", STAMP, {})) + b"\n"
    ]


_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=2000),
    lambda children: (
        st.lists(children, max_size=8) | st.dictionaries(st.text(), children, max_size=8)
    ),
    max_leaves=30,
)


@settings(max_examples=100, deadline=None)
@given(
    fields=st.dictionaries(st.text(max_size=20), _VALUES, max_size=12),
    max_line=st.integers(min_value=300, max_value=MAX_LINE_BYTES),
    split=st.sampled_from([None, "diff"]),
)
def test_no_line_ever_reaches_the_budget(
    fields: dict[str, Any], max_line: int, split: str | None
) -> None:
    record = envelope("x.y", "info", STAMP, fields)
    lines = fit(record, split=split, cut=sorted(fields)[:2], max_line=max_line)
    assert lines and all(len(line) <= max_line and line.endswith(b"\n") for line in lines)
    for line in lines:
        assert list(orjson.loads(line))[:3] == ["event", "level", "time"]


def test_budget_leaves_room_for_the_other_fields() -> None:
    record = {"event": "config.changed", "level": "info", "time": STAMP, "part": 10**9}
    budget = budget_for(record, "diff")
    assert budget == MAX_LINE_BYTES - len(orjson.dumps({**record, "diff": ""})) - 1 + 2


def test_a_line_longer_than_the_budget_is_cut_inside() -> None:
    diff = "+" + 'x"\\\x01é' * 5000 + "\n+short\n"
    pieces = split_text(diff, 300)
    assert "".join(pieces) == diff
    assert all(len(orjson.dumps(p)) <= 300 for p in pieces)
    assert all(len(orjson.dumps(p)) > 250 for p in pieces[:-2])  # pieces are well filled


def test_budget_too_small_is_refused() -> None:
    with pytest.raises(ValueError, match="budget"):
        split_text("x", 7)
    assert split_text("", 8) == []
    assert split_text("\x01\x01", 8) == ["\x01", "\x01"]


@settings(max_examples=500, deadline=None)
@given(text=st.text(), budget=st.integers(min_value=8, max_value=400))
def test_pieces_fit_and_join_back(text: str, budget: int) -> None:
    pieces = split_text(text, budget)
    assert "".join(pieces) == text
    assert all(piece and len(orjson.dumps(piece)) <= budget for piece in pieces)
