"""Upload bodies: gzip undone under a cap, by header or by magic bytes, never past the cap."""

from __future__ import annotations

import gzip
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config_uploader.body import BodyError, Shape, TooLarge, decode_body, gunzip_capped


def test_concatenated_members_and_trailing_padding() -> None:
    data = gzip.compress(b"hostname a\n") + gzip.compress(b"hostname b\n") + b"\0" * 512
    assert gunzip_capped(data, 100) == b"hostname a\nhostname b\n"


def test_header_says_gzip_but_body_is_not() -> None:
    with pytest.raises(BodyError) as caught:
        decode_body(b"hostname a\n", "gzip", 1000)
    assert caught.value.reason == "undecodable"


def test_plain_text_passes_and_deflate_is_not_guessed() -> None:
    assert decode_body(b"hostname a\n", None, 1000) == b"hostname a\n"
    raw_deflate = zlib.compress(b"hostname a\n")
    assert decode_body(raw_deflate, None, 1000) == raw_deflate  # no gzip magic: kept as is


@given(st.binary(max_size=4096), st.integers(min_value=1, max_value=5000))
def test_cap_is_exact(payload: bytes, limit: int) -> None:
    packed = gzip.compress(payload)
    if len(payload) > limit:
        with pytest.raises(TooLarge):
            gunzip_capped(packed, limit)
    else:
        assert gunzip_capped(packed, limit) == payload


@given(st.binary(max_size=2048))
def test_garbage_after_magic_is_refused_not_crashed(tail: bytes) -> None:
    try:
        gunzip_capped(b"\x1f\x8b" + tail, 10_000)
    except BodyError as exc:
        assert exc.reason in ("undecodable", "too_large")


@given(
    st.lists(st.sampled_from([b"a", b"bb", b"\n", b"c" * 7, b"\n\n"]), max_size=80),
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=1, max_value=9),
)
def test_shape_refuses_a_line_over_the_cap_however_the_bytes_are_cut(
    pieces: list[bytes], max_line: int, cut: int
) -> None:
    data = b"".join(pieces)
    longest = max(len(line) for line in data.split(b"\n"))
    shape = Shape(max_line=max_line)
    try:
        for at in range(0, len(data), cut):
            shape.feed(data[at : at + cut])
    except BodyError as exc:
        assert exc.reason == "line_too_long"
        assert longest > max_line
    else:
        assert longest <= max_line
        assert shape.lines == data.count(b"\n")
