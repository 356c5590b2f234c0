"""The intake, driven with bytes: admission, the bounded UDP backlog (nothing lost, order kept)
and parse-render, for UDP and TCP alike. The sockets around it are tested in
test_syslog_integration.py."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.settings import load_settings
from syslog_receiver.intake import Intake
from syslog_receiver.server import new_counters
from syslog_receiver.settings import SyslogSettings

NOW = 1_800_000_000.0
STAMP = "2027-01-15T08:00:00.000000Z"
BATCH = 64


def intake(*flags: str, **bounds: int) -> Intake:
    settings = load_settings(SyslogSettings, ["--rate-limit=0", *flags], prog="t", environ={})
    return Intake(settings, new_counters(), **bounds)


def read_all(into: Intake, datagrams: list[bytes], source: str = "192.0.2.1") -> int:
    """Feed datagrams as the adapter does: batches while the backlog has room, handling
    (parsing) when it has none. Returns the most the backlog ever held."""
    held = 0
    pending = list(datagrams)
    while pending or into.backlog:
        room, room_bytes = into.room()
        if pending and room >= BATCH and room_bytes > 0:
            batch, pending = pending[:BATCH], pending[BATCH:]
            into.datagrams([(data, source, 514) for data in batch], NOW, STAMP)
            held = max(held, len(into.backlog))
        else:
            into.handle()
    return held


def lines(into: Intake) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in into.take_lines()]


def test_a_burst_waits_in_the_bounded_backlog_then_all_of_it_is_emitted() -> None:
    into = intake(backlog_max=300)
    sent = [f"<13>burst {i}".encode() for i in range(1000)]
    assert read_all(into, sent) <= 300
    out = lines(into)
    assert [line["message"] for line in out] == [p.decode()[4:] for p in sent]
    values = into.counters.values
    assert values["received"] == values["emitted"] == 1000
    assert not into.backlog and into.backlog_bytes == 0


def test_the_backlog_is_bounded_in_bytes() -> None:
    into = intake(backlog_bytes=100_000)
    sent = [b"<13>big " + str(i).encode().rjust(8_000, b"x") for i in range(200)]
    into.datagrams([(data, "192.0.2.1", 514) for data in sent[:BATCH]], NOW, STAMP)
    assert into.backlog_bytes == sum(len(data) for data, *_ in into.backlog)
    assert into.room()[1] <= 0  # full: the reader stops until some is handled
    into.handle()
    assert read_all(into, sent[BATCH:]) <= 100_000 // 8_000 + BATCH
    assert len(lines(into)) == 200
    assert into.backlog_bytes == 0


def test_admission_allowlist_rate_limit_and_size() -> None:
    into = intake(
        "--allow=192.0.2.0/24", "--rate-limit=1", "--rate-burst=2", "--max-message-size=480"
    )
    datagrams = [
        (b"<13>from elsewhere", "198.51.100.1", 514),
        *((f"<13>msg {i}".encode(), "192.0.2.1", 514) for i in range(5)),
        (b"<13>" + b"y" * 1000, "192.0.2.2", 514),
    ]
    into.datagrams(datagrams, NOW, STAMP)
    while into.handle():
        pass
    out = lines(into)
    assert [line["message"] for line in out[:2]] == ["msg 0", "msg 1"]
    assert out[2]["truncated"] is True and out[2]["original_length"] == 1004
    values = into.counters.values
    assert values["received"] == 7
    assert values["dropped_not_allowed"] == 1
    assert values["dropped_rate_limited"] == 3
    assert values["emitted"] == 3 and values["truncated"] == 1
    warning = into.rate_warning(NOW)
    assert warning is not None
    assert warning["dropped"] == 3 and warning["top_sources"] == {"192.0.2.1": 3}
    assert into.rate_warning(NOW + 1) is None  # one summary per interval, not one per drop


def test_tcp_frames_share_the_rate_limit_and_renderer() -> None:
    into = intake("--rate-limit=1", "--rate-burst=1", "--router=192.0.2.9=edge-9")
    into.frames([b"<13>first", b"<13>second"], "192.0.2.9", 40000, NOW, STAMP)
    [line] = lines(into)
    assert (line["message"], line["transport"], line["router"]) == ("first", "tcp", "edge-9")
    assert into.counters.values["dropped_rate_limited"] == 1


_PIECES = st.sampled_from(
    [b"<189>", b"<165>1 2026-11-30T16:35:23Z edge2 sshd 42 - ", b"<30>Nov 30 16:35:23 core3 mgd: ",
     b"%PARSER-5-CFGLOG_LOGGEDCMD: User:a logged command:", b'[x@1 password="S3cret"]', b" ",
     b"password ", b"PassWord=", b"secret 5 ", b"snmp-server community ", b"publickey ", b"key",
     b"public", b"S3cret", b"\x00", b"\xff", b"\\x", b"ENC ", b"$1$"]
)  # fmt: skip


@settings(max_examples=200)
@given(
    st.lists(st.lists(_PIECES, max_size=6).map(b"".join), min_size=1, max_size=20),
    st.booleans(),
)
def test_the_gate_over_a_batch_changes_no_line(datagrams: list[bytes], include_raw: bool) -> None:
    """The intake looks for trigger words in a whole batch at once, UDP and TCP: its lines are
    the ones the renderer gives when it tests every datagram itself."""
    flags = ["--include-raw"] if include_raw else []
    batched, each = intake(*flags), intake(*flags)

    def feed(into: Intake) -> list[bytes]:
        into.datagrams([(data, "192.0.2.1", 514) for data in datagrams], NOW, STAMP)
        into.handle()
        into.frames(datagrams, "192.0.2.2", 40000, NOW, STAMP)
        return into.take_lines()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            "syslog_receiver.intake.holding_trigger_words", lambda texts: set(range(len(texts)))
        )
        reference = feed(each)
    assert feed(batched) == reference
    assert batched.counters.values["redacted"] == each.counters.values["redacted"]


def test_a_batch_from_interleaved_sources_admits_each_sources_first_datagrams() -> None:
    """Admission is decided per source for a whole batch: each source's first datagrams take
    its tokens, the order of the rest is kept, and the refused are counted per source."""
    into = intake("--rate-limit=1", "--rate-burst=2", "--allow=192.0.2.0/24")
    sources = ["192.0.2.1", "192.0.2.2", "198.51.100.7", "192.0.2.1", "192.0.2.2", "192.0.2.1"]
    into.datagrams([(f"<13>m{i}".encode(), ip, 514) for i, ip in enumerate(sources)], NOW, STAMP)
    into.handle()
    assert [line["message"] for line in lines(into)] == ["m0", "m1", "m3", "m4"]
    values = into.counters.values
    assert (values["dropped_not_allowed"], values["dropped_rate_limited"]) == (1, 1)
    warning = into.rate_warning(NOW)
    assert warning is not None and warning["top_sources"] == {"192.0.2.1": 1}
