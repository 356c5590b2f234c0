"""The per-router log evidence table and the evidence lines, sans-IO."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from bridge.evidence import evidence_lines, router_emf_lines
from bridge.log_evidence import SKEW_SAMPLES, LogEvidence, skew_of

T0 = 1_796_000_000.0  # 2026-11-30T...Z


def iso(ts: float) -> str:
    from bridge.output import iso_utc

    return iso_utc(ts)


def test_first_last_counts_and_skew_of_one_interval() -> None:
    table = LogEvidence([("192.0.2.1", "rtr-a")])
    # rtr-a's clock runs 0.5 s ahead, then one message 90 s behind
    for n in range(5):
        table.observe("rtr-a", "192.0.2.1", 5, iso(T0 + n + 0.5), T0 + n)
    table.observe("rtr-a", "192.0.2.1", 3, iso(T0 - 85), T0 + 5)
    table.observe("rtr-a", "192.0.2.1", None, None, T0 + 6)  # no timestamp (Yamaha)
    fields = table.summary(T0 + 10)["routers"]["rtr-a"]
    assert fields["first"] == iso(T0) and fields["last"] == iso(T0 + 6)
    assert fields["silent_for"] == 4.0
    assert fields["messages"] == 7
    assert fields["by_severity"] == {"none": 1, "3": 1, "5": 5}
    assert fields["skew_median"] == 0.5
    assert fields["skew_worst"] == -90.0
    assert fields["skew_samples"] == 6
    # the next interval starts empty but remembers first and last
    later = table.summary(T0 + 20)["routers"]["rtr-a"]
    assert later["messages"] == 0 and later["skew_median"] is None
    assert later["first"] == iso(T0) and later["silent_for"] == 14.0


def test_named_routers_are_listed_before_they_log_and_unknown_sources_by_address() -> None:
    table = LogEvidence([("192.0.2.1", "rtr-a")], max_routers=2)
    table.observe(None, "198.51.100.7", 6, None, T0)
    table.observe(None, "198.51.100.8", 6, None, T0)  # past the bound: counted only
    summary = table.summary(T0)
    assert set(summary["routers"]) == {"rtr-a", "198.51.100.7"}
    assert summary["routers"]["rtr-a"]["first"] is None
    assert summary["untracked_messages"] == 1


def test_skew_samples_are_bounded_and_the_worst_is_exact() -> None:
    table = LogEvidence()
    for n in range(SKEW_SAMPLES * 3):
        offset = 30.0 if n == 7 else 0.25
        table.observe("r", "192.0.2.9", 6, iso(T0 + n + offset), T0 + n)
    entry = table.routers["r"]
    assert len(entry.skews) == SKEW_SAMPLES
    fields = table.summary(T0)["routers"]["r"]
    assert fields["skew_worst"] == 30.0 and fields["skew_median"] == 0.25
    assert fields["skew_samples"] == SKEW_SAMPLES * 3


def test_skew_of_reads_zones_and_refuses_what_is_not_a_time() -> None:
    assert skew_of("2026-11-30T00:00:10+09:00", 1_796_000_000.0) is not None
    assert skew_of("2026-11-30T00:00:10Z", 0.0) == skew_of("2026-11-30T00:00:10", 0.0)
    for bad in ("", "yesterday", 12, None, "2026-13-01T00:00:00Z"):
        assert skew_of(bad, 0.0) is None


def test_a_fleet_too_large_for_one_line_is_split_into_parts_below_the_limit() -> None:
    routers = {f"rtr-{n:04d}": {"messages": n, "note": "x" * 200} for n in range(300)}
    lines = evidence_lines("syslog.evidence", routers, T0, {"interval": 60.0}, max_line=16383)
    assert len(lines) > 1
    seen: dict[str, object] = {}
    for index, line in enumerate(lines, 1):
        assert len(line) <= 16383 and line.endswith(b"\n")
        record = orjson.loads(line)
        assert record["event"] == "syslog.evidence" and record["interval"] == 60.0
        assert (record["part"], record["parts"]) == (index, len(lines))
        seen.update(record["routers"])
    assert seen == routers


def test_one_router_too_large_for_a_line_is_marked_not_dropped() -> None:
    lines = evidence_lines("x.evidence", {"big": {"blob": "y" * 20000}}, T0, max_line=16383)
    assert orjson.loads(lines[0])["routers"] == {"big": {"omitted": "too large"}}


def test_per_router_emf_is_capped() -> None:
    metrics = {f"r{n:03d}": {"messages": float(n)} for n in range(150)}
    lines = router_emf_lines("syslog.router_metrics", metrics, T0, {"messages": "Count"}, 100)
    assert len(lines) == 100
    record = orjson.loads(lines[0])
    assert record["router"] == "r000"
    assert record["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["router"]]


@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.sampled_from(["a", "b"])),
            st.sampled_from(["192.0.2.1", "192.0.2.2", "::1"]),
            st.one_of(st.none(), st.integers(0, 7)),
            st.one_of(st.none(), st.text(max_size=40), st.just("2026-11-30T00:00:00Z")),
            st.floats(0, 2e9),
        ),
        max_size=50,
    )
)
def test_any_observations_give_a_summary_that_encodes(observations: list[tuple]) -> None:  # type: ignore[type-arg]
    table = LogEvidence(max_routers=3)
    for router, ip, severity, stamp, at in observations:
        table.observe(router, ip, severity, stamp, at)
    summary = table.summary(2e9)
    assert len(summary["routers"]) <= 3
    total = sum(r["messages"] for r in summary["routers"].values())
    assert total + summary["untracked_messages"] == len(observations)
    evidence_lines("syslog.evidence", summary["routers"], 2e9)
