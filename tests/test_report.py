"""``edge-bridge report`` sans-IO: lines in, verdicts out, and its command line's bad inputs.

The lines here have the shapes the daemons write (the fleet test checks the real ones); each
verdict rule is driven to pass, fail and unknown, and no input, however broken, gets a
traceback.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.log_evidence import LogEvidence, epoch
from bridge.output import iso_utc
from bridge.report.facts import Facts
from bridge.report.main import ReportSettings, build, main
from bridge.report.read import InputCounts, decode, fold_lines
from bridge.report.render import to_csv, to_html, to_text
from bridge.report.verdicts import Rules, judge

T0 = 1_796_000_000.0


def line(event: str, at: float, **fields: Any) -> bytes:
    return orjson.dumps({"event": event, "level": "info", "time": iso_utc(at), **fields})


def syslog(at: float, ip: str, router: str | None, skew: float = 0.1, severity: int = 5) -> bytes:
    return line(
        "syslog",
        at,
        received_at=iso_utc(at),
        source_ip=ip,
        source_port=51000,
        transport="udp",
        format="rfc5424",
        facility=23,
        severity=severity,
        timestamp=iso_utc(at + skew),
        hostname=router,
        message="BGP up",
        **({"router": router} if router else {}),
    )


def ntp_clients(at: float, **clients: dict[str, Any]) -> bytes:
    return line("ntp.clients", at, clients=clients)


def config(router: str, at: float, version: str, verdict: str, diff: str = "") -> list[bytes]:
    previous = f"{int(version) - 1:08d}" if int(version) > 1 else None
    out = [
        line("config.received", at, router=router, source_ip="192.0.2.1", size=100),
        line("config.changed", at, router=router, version=version, previous=previous, diff="+x\n"),
    ]
    fields: dict[str, Any] = {"router": router, "version": version, "desired": "git/r.cfg"}
    if verdict == "in_sync":
        out.append(line("config.in_sync", at, **fields))
    else:
        out.append(line("config.drift", at, **fields, reason="differs", diff=diff))
    return out


def fleet_lines() -> list[bytes]:
    """good logs, syncs, matches; drifter drifts and its clock is off; quiet stopped logging."""
    lines = [line("syslog.started", T0), line("ntp.started", T0), line("config.started", T0)]
    lines += [syslog(T0 + n, "192.0.2.1", "good") for n in range(0, 100, 5)]
    lines += [syslog(T0 + n, "192.0.2.2", "drifter", skew=-95.0) for n in range(0, 100, 10)]
    lines.append(syslog(T0 + 1, "192.0.2.3", None))  # unnamed in the daemon, named by --router
    lines += config("good", T0 + 2, "00000001", "in_sync")
    lines += config("drifter", T0 + 3, "00000004", "drift", diff="-a\n+b password <redacted>\n")
    lines += config("quiet", T0 + 4, "00000001", "in_sync")
    lines.append(
        ntp_clients(
            T0 + 60,
            good={
                "source_ip": "192.0.2.1",
                "last_request": iso_utc(T0 + 59),
                "requests": 12,
                "leap": 0,
                "stratum": 4,
                "synchronised": True,
            },
            quiet={
                "source_ip": "192.0.2.3",
                "last_request": iso_utc(T0 + 50),
                "requests": 3,
                "leap": 3,
                "stratum": 16,
            },
        )
    )
    lines += [line("metrics", T0 + 60, service=s, received=0) for s in ("ntp", "config")]
    lines.append(line("metrics", T0 + 100, service="syslog", received=31))
    return lines


def report(lines: list[bytes], **options: Any) -> dict[str, Any]:
    settings = ReportSettings(router=(("192.0.2.3", "quiet"),), max_silence=30.0, **options)
    doc, _ = build(lines, settings, now=T0 + 1000)
    assert doc is not None
    return doc


def verdicts(doc: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {
        name: (r["10.3.3"]["verdict"], r["10.6"]["verdict"], r["1.2.8"]["verdict"])
        for name, r in doc["routers"].items()
    }


def test_each_router_gets_its_verdicts_with_the_evidence() -> None:
    doc = report(fleet_lines())
    assert verdicts(doc) == {
        "good": ("pass", "pass", "pass"),
        "drifter": ("pass", "fail", "fail"),
        "quiet": ("fail", "fail", "pass"),
    }
    good = doc["routers"]["good"]
    assert good["10.3.3"]["messages"] == 20
    assert good["10.3.3"]["last_message"] == iso_utc(T0 + 95)
    assert good["10.6"]["ntp_requests"] == 12 and good["10.6"]["skew_worst"] == 0.1
    assert good["1.2.8"]["check"]["desired"] == "git/r.cfg"
    assert "-95" in doc["routers"]["drifter"]["10.6"]["reason"]
    assert "differs" in doc["routers"]["drifter"]["1.2.8"]["reason"]
    assert doc["routers"]["quiet"]["10.3.3"]["silent_for"] == 99.0
    assert "not synchronised" in doc["routers"]["quiet"]["10.6"]["reason"]
    assert doc["fleet"]["10.3.3"] == {"verdict": "fail", "pass": 2, "fail": 1, "unknown": 0}
    assert doc["period"] == {"start": iso_utc(T0), "end": iso_utc(T0 + 100)}
    drift, change = doc["diffs"]["drifter"]  # drift first: the verdict is about it
    assert (drift["event"], drift["text"]) == ("config.drift", "-a\n+b password <redacted>\n")
    assert (change["event"], change["version"], change["complete"]) == (
        "config.changed",
        "00000004",
        True,
    )


def test_evidence_summaries_count_like_message_lines() -> None:
    """CloudWatch gives the syslog.evidence summaries; the verdicts must not change."""
    messages = fleet_lines()
    table = LogEvidence([("192.0.2.1", "good"), ("192.0.2.2", "drifter")])
    summaries, others = [], []
    for raw in messages:
        record = orjson.loads(raw)
        if record["event"] != "syslog":
            others.append(raw)
            continue
        when = epoch(record["received_at"])
        assert when is not None
        fields = (record["severity"], record["timestamp"], when)
        table.observe(record.get("router"), record["source_ip"], *fields)
        if when >= T0 + 30 * (len(summaries) + 1):  # an interval ends
            summaries.append(line("syslog.evidence", when, routers=table.summary(when)["routers"]))
    summaries.append(line("syslog.evidence", T0 + 100, routers=table.summary(T0 + 100)["routers"]))
    doc_summaries, doc_messages = report(others + summaries), report(messages)
    assert len(summaries) == 4
    assert verdicts(doc_summaries) == verdicts(doc_messages)
    for name in ("good", "drifter", "quiet"):
        a, b = doc_summaries["routers"][name], doc_messages["routers"][name]
        keys = ("messages", "first_message", "last_message", "by_severity")
        assert [a["10.3.3"][k] for k in keys] == [b["10.3.3"][k] for k in keys]
        assert a["10.6"]["skew_worst"] == b["10.6"]["skew_worst"]


def test_a_daemon_missing_from_the_input_is_unknown_not_pass() -> None:
    only_config = [raw for raw in fleet_lines() if b'"event":"config.' in raw]
    doc = report(only_config)
    assert {v[0] for v in verdicts(doc).values()} == {"unknown"}
    assert {v[1] for v in verdicts(doc).values()} == {"unknown"}
    assert "no syslog daemon output in the input" in doc["fleet"]["findings"]


def test_no_ntp_evidence_lines_make_time_unknown_and_a_router_missing_from_them_fails() -> None:
    without = [raw for raw in fleet_lines() if b"ntp.clients" not in raw]
    doc = report(without)
    assert doc["routers"]["good"]["10.6"]["verdict"] == "unknown"
    assert "ntp.clients" in doc["routers"]["good"]["10.6"]["reason"]
    doc = report(fleet_lines())
    assert doc["routers"]["drifter"]["10.6"]["verdict"] == "fail"  # skew, though never asked


def test_drops_and_missing_desired_configs_fail() -> None:
    lines = [
        *fleet_lines(),
        line("syslog.rate_limited", T0 + 50, dropped=40, top_sources={"192.0.2.1": 40}),
        line(
            "config.drift",
            T0 + 90,
            router="good",
            version="00000002",
            desired=None,
            reason="no_desired_config",
        ),
    ]
    good = report(lines)["routers"]["good"]
    assert good["10.3.3"]["verdict"] == "fail" and good["10.3.3"]["dropped"] == 40
    assert good["1.2.8"]["verdict"] == "fail" and "no desired config" in good["1.2.8"]["reason"]


def test_unsaved_past_its_grace_fails_and_compliance_is_shown_not_judged() -> None:
    fields = {"router": "good", "running": "00000001", "startup": "00000007"}
    unsaved = line(
        "config.unsaved", T0 + 91, **fields, since=iso_utc(T0), overdue=True, diff="-x\n"
    )
    features = [
        {"name": "ntp-auth", "compliant": True, "requirement": "10.6.3"},
        {"name": "snmp", "compliant": False, "missing_lines": 1, "extra_lines": 1},
    ]
    compliance = line("config.compliance", T0 + 92, router="good", version="00000001",
                      percent=50.0, compliant=False, features=features)  # fmt: skip
    good = report([*fleet_lines(), unsaved, compliance])["routers"]["good"]["1.2.8"]
    assert good["verdict"] == "fail" and "startup config since" in good["reason"]
    assert good["compliance"]["failing"] == ["snmp"] and good["compliance"]["percent"] == 50.0
    grace = line("config.unsaved", T0 + 91, **fields, since=iso_utc(T0 + 90), overdue=False)
    assert report([*fleet_lines(), grace, compliance])["routers"]["good"]["1.2.8"]["verdict"] == (
        "pass"  # compliance is 1.2.1/1.2.7: shown beside 1.2.8, not judged in it
    )
    html = to_html(report([*fleet_lines(), unsaved, compliance]))
    assert "Unsaved: the startup config against the running one" in html and "snmp" in html


def test_the_period_selects_lines() -> None:
    doc = report(fleet_lines(), since=iso_utc(T0 + 50), until=iso_utc(T0 + 80))
    assert doc["routers"]["good"]["10.3.3"]["messages"] == 7  # 50, 55, ..., 80: both ends are in
    assert doc["routers"]["good"]["1.2.8"]["verdict"] == "fail"  # its upload was before
    assert doc["input"]["outside_period"] > 0


def test_decode_counts_what_it_cannot_use() -> None:
    assert decode(b'config-1  | {"event":"config.started","time":"2026-11-30T00:00:00Z"}')[0]
    assert decode(b'{"event":"syslog","time":"2026-1')[1] == "truncated"
    assert decode(b"Traceback (most recent call last):")[1] == "not_json"
    assert decode(b"[1, 2]")[1] == "not_json"
    assert decode(b"  \n")[1] == "blank"
    assert decode(b'"just a string"')[1] == "not_json"
    counts = InputCounts()
    fold_lines(
        [b'{"event": "nginx.access", "time": "2026-11-30T00:00:00Z"}', b"{}"], Facts(), counts
    )
    assert counts.skipped["foreign"] == 2 and counts.used == 0


def test_csv_and_text_and_html_carry_every_verdict() -> None:
    doc = report(fleet_lines())
    rows = list(csv.DictReader(io.StringIO(to_csv(doc))))
    assert len(rows) == 3 * 3 + 3
    drifter = {r["requirement"]: r for r in rows if r["router"] == "drifter"}
    assert drifter["1.2.8"]["verdict"] == "fail"
    assert json.loads(drifter["1.2.8"]["evidence"])["latest_version"] == "00000004"
    assert "quiet    fail      fail      pass" in to_text(doc)
    html = to_html(doc)
    assert "<script" not in html and "http" not in html.split("<body>")[1]
    assert "+b password &lt;redacted&gt;" in html


def test_router_names_and_diffs_cannot_inject_markup() -> None:
    lines = [
        line("config.started", T0),
        *config(
            "<img src=x onerror=alert(1)>", T0, "1", "drift", diff="+<script>alert(1)</script>\n"
        ),
    ]
    html = to_html(report(lines))
    assert "<script>x" not in html and "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=80),
            st.dictionaries(
                st.sampled_from(
                    [
                        "event",
                        "time",
                        "router",
                        "routers",
                        "clients",
                        "source_ip",
                        "version",
                        "part",
                        "diff",
                        "messages",
                        "top_sources",
                    ]
                ),
                st.one_of(
                    st.none(),
                    st.integers(),
                    st.floats(),
                    st.text(max_size=20),
                    st.sampled_from(
                        [
                            "syslog",
                            "syslog.evidence",
                            "ntp.clients",
                            "config.drift",
                            "config.changed",
                            "2026-11-30T00:00:00Z",
                        ]
                    ),
                    st.dictionaries(
                        st.text(max_size=5),
                        st.one_of(
                            st.integers(),
                            st.text(max_size=5),
                            st.dictionaries(st.text(max_size=5), st.integers()),
                        ),
                    ),
                ),
            ).map(lambda d: json.dumps(d).encode()),
        ),
        max_size=30,
    )
)
def test_any_input_gives_a_report_or_no_data_never_an_exception(lines: list[bytes]) -> None:
    doc, counts = build(lines, ReportSettings(), now=T0)
    assert counts.lines == len(lines)
    if doc is not None:
        to_html(doc)
        to_csv(doc)


# -- the command line -----------------------------------------------------------------------


def run(argv: list[str], stdin: bytes = b"", capsys: Any = None) -> tuple[int, bytes]:
    out = io.BytesIO()
    code = main(argv, now=T0 + 100, stdin=io.BytesIO(stdin), stdout=out)
    return code, out.getvalue()


def test_files_in_json_csv_html_out(tmp_path: Path) -> None:
    source = tmp_path / "suite.jsonl"
    source.write_bytes(b"\n".join(fleet_lines()) + b"\n")
    code, printed = run(
        [
            str(source),
            "--router",
            "192.0.2.3=quiet",
            "--max-silence",
            "30s",
            "--json",
            str(tmp_path / "r.json"),
            "--csv",
            str(tmp_path / "r.csv"),
            "--html",
            str(tmp_path / "r.html"),
        ]
    )
    assert code == 0 and printed == b""
    doc = json.loads((tmp_path / "r.json").read_text())
    assert verdicts(doc)["quiet"] == ("fail", "fail", "pass")
    assert (tmp_path / "r.csv").read_text().startswith("router,requirement,verdict")
    assert "drifter" in (tmp_path / "r.html").read_text()


def test_stdin_and_a_table_by_default() -> None:
    code, printed = run([], stdin=b"\n".join(fleet_lines()))
    assert code == 0
    assert b"(fleet)" in printed and b"good" in printed


@pytest.mark.parametrize(
    ("stdin", "status", "message"),
    [
        (b"", 1, "no edge-bridge lines in the period in stdin (0 lines read)"),
        (b'{"event":"syslog","time":"2026-1\n', 1, "1 truncated"),
        (b'{"foo": 1}\n<html>\n', 1, "1 not json, 1 foreign"),
    ],
)
def test_bad_input_says_why_in_one_line(
    stdin: bytes, status: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run([], stdin=stdin)
    err = capsys.readouterr().err
    assert code == status and message in err and "Traceback" not in err
    assert err.count("\n") == 1


def test_an_empty_period_and_unreadable_files_say_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "suite.jsonl"
    source.write_bytes(b"\n".join(fleet_lines()))
    code, _ = run([str(source), "--since", "2030-01-01T00:00:00Z"])
    assert code == 1 and "no edge-bridge lines in the period" in capsys.readouterr().err
    code, _ = run([str(tmp_path / "missing.jsonl")])
    assert code == 2 and "cannot read" in capsys.readouterr().err
    code, _ = run([str(source), "--json", str(tmp_path / "no" / "such" / "dir.json")])
    assert code == 2 and "cannot write" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        run(["--since", "last tuesday"])
    assert exit_info.value.code == 2 and "--since" in capsys.readouterr().err


def test_truncated_lines_among_good_ones_are_warned_about(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = fleet_lines()
    lines.insert(5, lines[5][:40])
    code, _ = run([], stdin=b"\n".join(lines))
    assert code == 0
    assert "1 lines were not whole JSON lines" in capsys.readouterr().err


def test_rules_are_the_documented_defaults() -> None:
    assert Rules() == Rules(max_silence=86400.0, max_skew=2.0)
    doc = judge(Facts(), T0, T0, Rules())
    assert doc["routers"] == {} and doc["fleet"]["10.3.3"]["verdict"] == "unknown"


def test_the_cloudwatch_filter_asks_for_every_event_read_but_the_messages() -> None:
    from bridge.report.cloudwatch import FILTER_PATTERN
    from bridge.report.facts import HANDLED_EVENTS

    assert len(FILTER_PATTERN) <= 1024  # FilterLogEvents' limit on filterPattern
    asked = set(re.findall(r'\$\.event = "([^"]+)"', FILTER_PATTERN))
    assert asked >= HANDLED_EVENTS - {"syslog"} and "syslog" not in asked
