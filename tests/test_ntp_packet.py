"""The NTP header codec: field layout, RFC 5905 timestamp and short formats, eras, fuzzing."""

from __future__ import annotations

import struct

import ntplib
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ntp_proxy.packet import (
    ERA_SECONDS,
    HEADER_LEN,
    NTP_UNIX_DELTA,
    Packet,
    PacketError,
    decode,
    encode,
    from_ntp,
    from_short,
    to_ntp,
    to_short,
)

# 2036-02-07T06:28:16Z: the first second of NTP era 1, where the 32-bit seconds field wraps.
ERA1_UNIX = ERA_SECONDS - NTP_UNIX_DELTA


def test_decode_matches_ntplib_encoding() -> None:
    """An independent encoder (ntplib) and this decoder agree on every field."""
    theirs = ntplib.NTPPacket(version=3, mode=3, tx_timestamp=ntplib.system_to_ntp_time(1.8e9))
    theirs.leap = 2
    theirs.stratum = 5
    theirs.poll = 10
    theirs.precision = -20
    theirs.root_delay = 0.5
    theirs.root_dispersion = 0.25
    theirs.ref_id = 0x0A000001
    packet = decode(theirs.to_data())
    assert (packet.leap, packet.version, packet.mode) == (2, 3, 3)
    assert (packet.stratum, packet.poll, packet.precision) == (5, 10, -20)
    assert (packet.root_delay, packet.root_dispersion) == (0.5, 0.25)
    assert packet.refid == bytes([10, 0, 0, 1])
    assert abs(from_ntp(packet.transmit, 1.8e9) - 1.8e9) < 1e-6


def test_encode_is_read_back_by_ntplib() -> None:
    ours = Packet(
        leap=1,
        version=4,
        mode=4,
        stratum=2,
        poll=6,
        precision=-22,
        root_delay=0.0123,
        root_dispersion=0.5,
        refid=bytes([169, 254, 169, 123]),
        reference=to_ntp(1.7e9),
        origin=0x1122334455667788,
        receive=to_ntp(1.7e9 + 1),
        transmit=to_ntp(1.7e9 + 1.5),
    )
    data = encode(ours)
    assert len(data) == HEADER_LEN
    stats = ntplib.NTPStats()
    stats.from_data(data)
    assert (stats.leap, stats.version, stats.mode, stats.stratum) == (1, 4, 4, 2)
    assert ntplib.ref_id_to_text(stats.ref_id, stats.stratum) == "169.254.169.123"
    assert abs(stats.root_delay - 0.0123) < 2**-16
    assert abs(stats.tx_time - (1.7e9 + 1.5)) < 1e-6
    back = decode(data)
    assert (back.origin, back.receive, back.transmit) == (ours.origin, ours.receive, ours.transmit)
    assert struct.unpack_from("!Q", data, 24)[0] == 0x1122334455667788


def test_round_trip_keeps_every_field() -> None:
    packet = Packet(
        leap=3, version=4, mode=4, stratum=16, poll=-3, precision=-29, root_delay=1.5,
        root_dispersion=2.25, refid=b"INIT", reference=1, origin=2, receive=3, transmit=4,
    )  # fmt: skip
    assert decode(encode(packet)) == packet


def test_trailing_extension_fields_and_mac_are_ignored() -> None:
    header = encode(Packet(mode=3, transmit=to_ntp(1.7e9)))
    assert decode(header + b"\x00\x01\x00\x10" + b"x" * 12 + b"\x00" * 20) == decode(header)


@pytest.mark.parametrize("length", [0, 1, 12, 47])
def test_short_packets_are_errors(length: int) -> None:
    with pytest.raises(PacketError) as err:
        decode(b"\x23" * length)
    assert err.value.reason == "short"


def test_timestamp_format() -> None:
    assert to_ntp(0.0) == NTP_UNIX_DELTA << 32
    assert to_ntp(0.5) & 0xFFFF_FFFF == 1 << 31
    assert from_ntp(NTP_UNIX_DELTA << 32, 0.0) == 0.0


def test_era_1_after_2036() -> None:
    """Past 2036-02-07 the seconds field wraps to 0; the pivot puts it in era 1."""
    after = ERA1_UNIX + 100.25
    raw = to_ntp(after)
    assert raw >> 32 == 100
    assert from_ntp(raw, pivot=after) == after
    assert from_ntp(raw, pivot=ERA1_UNIX - 1000) == after  # pivot just before the wrap
    before = ERA1_UNIX - 5.0
    assert from_ntp(to_ntp(before), pivot=ERA1_UNIX + 5) == before


def test_short_format_clamps_and_saturates() -> None:
    assert to_short(-1.0) == 0
    assert to_short(1.0) == 0x0001_0000
    assert to_short(1e9) == 0xFFFF_FFFF
    assert from_short(0x0000_8000) == 0.5


def test_encode_rejects_impossible_fields() -> None:
    with pytest.raises(ValueError):
        encode(Packet(mode=8))
    with pytest.raises(ValueError):
        encode(Packet(refid=b"TOOLONG"))
    with pytest.raises(ValueError):
        encode(Packet(stratum=256))


@given(st.binary(max_size=200))
def test_decode_never_crashes(data: bytes) -> None:
    try:
        packet = decode(data)
    except PacketError:
        assert len(data) < HEADER_LEN
        return
    assert len(data) >= HEADER_LEN
    assert encode(packet) == data[:HEADER_LEN]


@given(st.floats(min_value=-2.0e9, max_value=4.0e9, allow_nan=False))
def test_timestamps_round_trip_within_resolution(unix: float) -> None:
    assert abs(from_ntp(to_ntp(unix), pivot=unix) - unix) < 1e-6


def test_refid_text_as_ntpq_shows_it() -> None:
    from ntp_proxy.packet import refid_text

    assert refid_text(b"INIT", 16) == "INIT"
    assert refid_text(b"RATE", 0) == "RATE"
    assert refid_text(b"GPS\0", 1) == "GPS"
    assert refid_text(bytes([169, 254, 169, 123]), 2) == "169.254.169.123"
    assert refid_text(bytes([127, 0, 0, 1]), 16) == "127.0.0.1"
