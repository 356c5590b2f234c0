"""RFC 6587 framing: octet counting and LF framing told apart per frame, bounded, never raising."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syslog_receiver.framing import Deframer

MAX = 1000


def frames_of(stream: bytes, chunk: int | None = None, max_frame: int = MAX) -> list[bytes]:
    deframer = Deframer(max_frame)
    out: list[bytes] = []
    step = chunk or len(stream) or 1
    for i in range(0, len(stream), step):
        out += deframer.feed(stream[i : i + step])
    out += deframer.close()
    assert deframer.error is None, deframer.error
    return out


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        (b"<13>hello\n", [b"<13>hello"]),
        (b"<13>a\r\n<13>b\r\n", [b"<13>a", b"<13>b"]),
        (b"<13>nul terminated\x00\n", [b"<13>nul terminated"]),
        (b"9 <13>hello", [b"<13>hello"]),
        (b"9 <13>hello9 <13>world", [b"<13>hello", b"<13>world"]),
        # An octet-counted frame may hold LFs: the count, not the LF, ends it.
        (b"13 <13>two\nlines", [b"<13>two\nlines"]),
        # Mixed on one connection, as relays do after a reconnect.
        (
            b"9 <13>hello<14>lf line\n11 <15>counted",
            [b"<13>hello", b"<14>lf line", b"<15>counted"],
        ),
        # Digits not followed by a space are text (Cisco sequence numbers, timestamps).
        (
            b"000123: *Mar  1 18:46:11: %SYS-5-CONFIG_I\n",
            [b"000123: *Mar  1 18:46:11: %SYS-5-CONFIG_I"],
        ),
        (b"123: %LINK-3-UPDOWN\n", [b"123: %LINK-3-UPDOWN"]),
        (b"2026-11-30T16:35:23Z host app: text\n", [b"2026-11-30T16:35:23Z host app: text"]),
        # A digit run longer than any count within the limit is text too.
        (b"12345678 is a big number\n", [b"12345678 is a big number"]),
        # Blank lines between frames are keepalives, not messages.
        (b"\n\r\n<13>a\n\n", [b"<13>a"]),
        # The last line may come without LF before the sender closes.
        (b"<13>a\n<13>no newline at close", [b"<13>a", b"<13>no newline at close"]),
        (b"\t<13>leading tab\n", [b"\t<13>leading tab"]),
        ("<13>ünïcødé\n".encode(), ["<13>ünïcødé".encode()]),
        # A frame of exactly the limit is accepted, in both framings.
        (b"x" * MAX + b"\n", [b"x" * MAX]),
        (b"1000 " + b"y" * MAX, [b"y" * MAX]),
        (b"", []),
    ],
)
def test_frames(stream: bytes, expected: list[bytes]) -> None:
    assert frames_of(stream) == expected
    # Whatever the segmentation by TCP, the frames are the same.
    for chunk in (1, 2, 3, 7):
        assert frames_of(stream, chunk) == expected


@pytest.mark.parametrize(
    ("stream", "before", "reason"),
    [
        (b"<13>ok\n\x16\x03\x01\x02\x00\x01", [b"<13>ok"], "garbage"),  # a TLS ClientHello
        (b"\x00\x00\x00\x00", [], "garbage"),
        (b"<13>ok\n1001 " + b"z" * 1001, [b"<13>ok"], "oversized"),
        (b"9999 <13>x", [], "oversized"),
        (b"<13>ok\n" + b"w" * (MAX + 5), [b"<13>ok"], "oversized"),
        (b"<13>ok\n" + b"w" * (MAX + 5) + b"\n", [b"<13>ok"], "oversized"),
    ],
)
def test_errors_come_after_the_frames_before_them(
    stream: bytes, before: list[bytes], reason: str
) -> None:
    deframer = Deframer(MAX)
    assert deframer.feed(stream) == before
    assert deframer.error is not None and reason in deframer.error
    # A failed stream yields nothing more, whatever follows, and holds no bytes.
    assert deframer.feed(b"<13>after\n") == []
    assert deframer.close() == []
    assert deframer.pending == 0


def test_error_after_split_segments_keeps_earlier_frames() -> None:
    deframer = Deframer(MAX)
    assert deframer.feed(b"<13>fir") == []
    assert deframer.feed(b"st\n<13>second\n\x01") == [b"<13>first", b"<13>second"]
    assert deframer.error is not None


def test_close_inside_an_octet_counted_frame_returns_the_bytes_and_flags_it() -> None:
    deframer = Deframer(MAX)
    assert deframer.feed(b"30 <13>cut short") == []
    assert deframer.close() == [b"<13>cut short"]
    assert deframer.error is not None and "inside an octet-counted frame" in deframer.error


def test_the_buffer_is_bounded_while_waiting() -> None:
    deframer = Deframer(MAX)
    for _ in range(MAX // 10):
        deframer.feed(b"a" * 10)
        assert deframer.pending <= MAX + 2
    assert deframer.error is None
    deframer.feed(b"a" * 10)
    assert deframer.error is not None and deframer.pending == 0


def test_max_frame_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Deframer(0)


# -- fuzzing -----------------------------------------------------------------------------

_COUNT_LIKE = re.compile(rb"^[1-9][0-9]* ")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000), st.integers(min_value=1, max_value=64), st.integers(1, 2000))
def test_never_raises_and_stays_bounded(data: bytes, chunk: int, max_frame: int) -> None:
    deframer = Deframer(max_frame)
    frames: list[bytes] = []
    for i in range(0, len(data), chunk):
        frames += deframer.feed(data[i : i + chunk])
        assert deframer.pending <= max_frame + len(str(max_frame)) + 2
    frames += deframer.close()
    assert all(0 < len(frame) <= max_frame for frame in frames)
    assert sum(len(f) for f in frames) <= len(data)


_lf_message = st.binary(min_size=1, max_size=200).filter(
    lambda m: (
        b"\n" not in m
        and (m[0] >= 0x20 or m[0] == 0x09)
        and not m.endswith((b"\r", b"\x00"))
        and not _COUNT_LIKE.match(m)
    )
)
_counted_message = st.binary(min_size=1, max_size=200)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("lf"), _lf_message), st.tuples(st.just("oc"), _counted_message)
        ),
        max_size=20,
    ),
    st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=10),
)
def test_round_trip_with_any_mix_and_segmentation(
    messages: list[tuple[str, bytes]], chunks: list[int]
) -> None:
    stream = b"".join(
        m + b"\n" if kind == "lf" else str(len(m)).encode() + b" " + m for kind, m in messages
    )
    deframer = Deframer(MAX)
    frames: list[bytes] = []
    pos = 0
    turn = 0
    while pos < len(stream):
        size = chunks[turn % len(chunks)]
        frames += deframer.feed(stream[pos : pos + size])
        pos += size
        turn += 1
    frames += deframer.close()
    assert deframer.error is None
    assert frames == [m for _, m in messages]
