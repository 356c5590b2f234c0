"""Upstream reply validation, the clock filter, upstream selection, holdover and precision."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ntp_proxy.clock import Clock, ClockFilter, TransmitDelay, measure_precision
from ntp_proxy.exchange import InvalidReply, Sample, request, sample_from_reply
from ntp_proxy.packet import MODE_CLIENT, MODE_SERVER, Packet, decode, encode, to_ntp

NONCE = 0x0123456789ABCDEF
T1 = 1_800_000_000.0
REFID = bytes([169, 254, 169, 123])


def server_reply(
    *, offset: float = 0.002, one_way: float = 0.001, hold: float = 0.0001, **fields: object
) -> tuple[bytes, float]:
    """A reply from a server whose clock is ``offset`` ahead, and the local arrival time."""
    t2 = T1 + one_way + offset
    t3 = t2 + hold
    values: dict[str, object] = {
        "version": 4,
        "mode": MODE_SERVER,
        "stratum": 1,
        "precision": -20,
        "root_delay": 0.0,
        "root_dispersion": 0.0001,
        "refid": b"GPS\0",
        "origin": NONCE,
        "receive": to_ntp(t2),
        "transmit": to_ntp(t3),
    }
    values.update(fields)
    t4 = t3 - offset + one_way
    return encode(Packet(**values)), t4  # type: ignore[arg-type]


def validate(data: bytes, received: float) -> Sample:
    return sample_from_reply(
        data,
        nonce=NONCE,
        sent=T1,
        received=received,
        local_precision=-22,
        upstream="169.254.169.123:123",
        refid=REFID,
    )


def test_request_carries_the_nonce_not_the_time() -> None:
    packet = decode(request(NONCE, poll=4))
    assert (packet.mode, packet.version, packet.poll) == (MODE_CLIENT, 4, 4)
    assert packet.transmit == NONCE and packet.origin == 0 and packet.receive == 0


def test_valid_reply_gives_offset_and_delay() -> None:
    data, t4 = server_reply(offset=0.002, one_way=0.001, hold=0.0001)
    sample = validate(data, t4)
    assert sample.offset == pytest.approx(0.002, abs=1e-6)
    assert sample.delay == pytest.approx(0.002, abs=1e-6)
    assert (sample.stratum, sample.leap, sample.refid) == (1, 0, REFID)
    assert sample.upstream_refid == b"GPS\0"
    assert 2**-20 < sample.dispersion < 1e-5


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"origin": NONCE ^ 1}, "origin"),  # a spoofed or stale reply
        ({"mode": 3}, "mode"),
        ({"mode": 5}, "mode"),
        ({"version": 3}, "version"),
        ({"leap": 3}, "unsynchronised"),
        ({"stratum": 0, "refid": b"RATE"}, "kiss"),
        ({"stratum": 16}, "stratum"),
        ({"transmit": 0}, "timestamps"),
        ({"receive": 0}, "timestamps"),
        ({"root_dispersion": 1.5}, "distance"),
        ({"root_delay": 2.5}, "distance"),
    ],
)
def test_invalid_replies_are_rejected(fields: dict[str, Any], reason: str) -> None:
    data, t4 = server_reply(**fields)
    with pytest.raises(InvalidReply) as err:
        validate(data, t4)
    assert err.value.reason == reason


def test_short_reply_is_rejected() -> None:
    data, t4 = server_reply()
    with pytest.raises(InvalidReply) as err:
        validate(data[:47], t4)
    assert err.value.reason == "short"


def sample(offset: float, delay: float, taken: float = T1, upstream: str = "a") -> Sample:
    return Sample(
        upstream=upstream,
        offset=offset,
        delay=delay,
        dispersion=1e-6,
        taken=taken,
        leap=0,
        stratum=1,
        refid=REFID,
        root_delay=0.0,
        root_dispersion=0.0001,
        upstream_refid=b"GPS\0",
    )


def test_filter_picks_lowest_delay_and_forgets_after_eight_rounds() -> None:
    flt = ClockFilter()
    flt.add(sample(0.001, 0.004))
    flt.add(sample(0.050, 0.090))  # one slow reply, whose asymmetry skews its offset
    flt.add(None)
    assert flt.best() is not None and flt.best().offset == 0.001  # type: ignore[union-attr]
    for _ in range(6):
        flt.add(sample(0.002, 0.006))
    best = flt.best()
    assert best is not None and best.offset == 0.002  # the 0.004 sample aged out
    # RMS about the best: the 0.050 sample is still in the window, the five others agree
    assert flt.jitter() == pytest.approx(((0.050 - 0.002) ** 2 / 6) ** 0.5)
    for _ in range(3):
        flt.add(None)
    assert flt.reachable(4)
    flt.add(None)
    assert not flt.reachable(4)


def test_clock_unsynchronised_until_first_sample_and_after_holdover() -> None:
    clock = Clock(["a"], max_holdover=100.0)
    assert not clock.synchronised(T1)
    assert (clock.leap, clock.stratum, clock.refid) == (3, 16, b"INIT")
    assert clock.end_round([None], T1) == []  # no change: it starts unsynchronised

    events = clock.end_round([sample(0.003, 0.004)], T1 + 1)
    assert [e.name for e in events] == ["upstream_switched", "synchronised"]
    assert clock.synchronised(T1 + 1)
    assert (clock.leap, clock.stratum, clock.refid) == (0, 2, REFID)
    assert clock.offset == 0.003
    assert clock.root_delay == pytest.approx(0.004)
    assert clock.root_dispersion(T1 + 11) == pytest.approx(
        0.0001 + 1e-6 + 15e-6 * 1 + 15e-6 * 10  # upstream + sample + age of sample + holdover
    )

    for i in range(2, 50):  # upstream silent: the offset is held, no events until expiry
        assert clock.end_round([None], T1 + i) == []
    assert clock.synchronised(T1 + 101)
    assert not clock.synchronised(T1 + 101.5)
    events = clock.check(T1 + 101.5)
    assert [e.name for e in events] == ["unsynchronised"]
    assert events[0].fields["reason"] == "holdover expired"
    assert clock.check(T1 + 102) == []  # once per change

    events = clock.end_round([sample(0.001, 0.004, taken=T1 + 103)], T1 + 103)
    assert [e.name for e in events] == ["synchronised"]


def test_clock_switches_upstreams_in_order_of_preference() -> None:
    clock = Clock(["first", "second"], max_holdover=1000.0)
    events = clock.end_round([None, sample(0.02, 0.01, upstream="second")], T1)
    assert clock.selected == 1 and clock.offset == 0.02
    assert events[0].fields == {"previous": None, "upstream": "second"}
    events = clock.end_round([sample(0.01, 0.01, upstream="first"), None], T1 + 1)
    assert clock.selected == 0 and clock.offset == 0.01
    assert [e.name for e in events] == ["upstream_switched"]
    # the preferred one goes quiet: four silent rounds later the second takes over
    for i in range(2, 6):
        clock.end_round([None, sample(0.02, 0.01, upstream="second")], T1 + i)
    assert clock.selected == 1 and clock.offset == 0.02


def test_upstream_at_stratum_15_cannot_make_us_synchronised() -> None:
    clock = Clock(["a"], max_holdover=100.0)
    deep = Sample(
        **{**{f: getattr(sample(0.0, 0.001), f) for f in Sample.__slots__}, "stratum": 15}
    )
    clock.end_round([deep], T1)
    assert not clock.synchronised(T1)


def test_measured_precision() -> None:
    assert measure_precision(time.time) in range(-30, -9)
    ticks = iter(i * 0.001 for i in range(10_000))  # a clock that moves in 1 ms steps
    assert measure_precision(lambda: next(ticks)) == -9  # 2**-9 s is the next power above 1 ms


def test_transmit_delay_learns_the_warm_send_path() -> None:
    delay = TransmitDelay(window=10)
    assert delay.value == 0.0 and not delay.awaiting
    for i, took in enumerate([3e-6, 2e-6, 2.5e-6, 9e-6, 2.2e-6, 2.1e-6, 2.4e-6, 2.3e-6, 2.6e-6]):
        tag = i.to_bytes(8, "big")
        delay.sent(tag, T1 + i)
        assert delay.awaiting
        delay.stamped(tag, T1 + i + took)
    assert delay.value == pytest.approx(2e-6, abs=3e-7)  # the lowest tenth: the warm path
    delay.sent(b"x" * 8, T1)
    delay.stamped(b"x" * 8, T1 + 0.5)  # a preempted send is no measure of the path
    delay.stamped(b"unknown!", T1)  # nor is a stamp of a datagram it did not send
    assert delay.value == pytest.approx(2e-6, abs=3e-7)
