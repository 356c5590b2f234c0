"""The parser's fast paths give exactly what the general code gives.

Each fast path covers the usual shape of a message with fewer Python steps (one regex for a
whole header, a split for plain structured data, memos of PRIs and timestamps). A fast path
that disagreed with the general code on any input would change records silently, so each is
compared with its general counterpart on generated input meant to sit on its boundaries.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syslog_receiver import pri, rfc5424, timestamps
from syslog_receiver.parse import parse

FUZZ = settings(max_examples=600, deadline=None)
NOW = 1796058000.0  # 2026-11-30T17:00:00Z

# Characters that decide which path a block takes: separators, quotes, escapes, brackets.
_SD_CHARS = st.sampled_from(list(' =]["\\a1@.\t-'))
_SD_WORD = st.text(alphabet=_SD_CHARS, min_size=0, max_size=6)


@st.composite
def sd_blocks(draw: st.DrawFn) -> str:
    """Mostly well-formed structured data, with a few bytes that push it off the plain path."""
    block = ""
    for _ in range(draw(st.integers(1, 4))):
        block += "[" + draw(st.sampled_from(["a", "b@2636", "a[b", "m"])) + draw(_SD_WORD)
        for _ in range(draw(st.integers(0, 3))):
            block += draw(st.sampled_from([" ", "  "])) + draw(st.sampled_from(["x", "y", "[z"]))
            block += '="' + draw(_SD_WORD).replace('"', '\\"') + '"'
        block += draw(st.sampled_from(["]", " ]", "]"]))
    return block + draw(st.sampled_from(["", " ", " msg", "[", "x", '"]']))


@FUZZ
@given(sd_blocks())
def test_plain_structured_data_matches_the_scan(block: str) -> None:
    text = "<13>1 - - - - - " + block
    pos = text.index("[")
    assert rfc5424.parse_sd(text, pos) == rfc5424.parse_sd_scan(text, pos)


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ('[a x=" "]', {"a": {"x": " "}}),  # a value that starts with a space
        ('[a x=" y" z=""]', {"a": {"x": " y", "z": ""}}),
        ('[a x="1" x="2"][a x="3" y="="]', {"a": {"x": ["1", "2", "3"], "y": "="}}),
        ("[a][b]", {"a": {}, "b": {}}),
    ],
)
def test_plain_structured_data_cases(block: str, expected: dict[str, object]) -> None:
    got = rfc5424.parse_sd(block + " m", 0)
    assert got == (expected, len(block))
    assert rfc5424.parse_sd_scan(block + " m", 0) == got


def test_a_plain_element_before_a_broken_one_is_malformed() -> None:
    text = '[a x="1"][b y="2"'
    assert rfc5424.parse_sd(text, 0) is None
    got = parse(f"<13>1 - h a p m {text}".encode(), NOW)
    assert (got["structured_data"], got["message"]) == ({"a": {"x": "1"}}, '[b y="2"')
    assert got["sd_malformed"] is True


_TOKEN_CHARS = st.sampled_from(list("0123456789-T:tZz+.,x "))


@FUZZ
@given(
    st.one_of(
        st.text(alphabet=_TOKEN_CHARS, max_size=40),
        st.builds(
            lambda base, tail: base + tail,
            st.sampled_from(["2026-11-30T16:35:23", "2024-02-29t00:00:00", "2026-02-30T23:59:59"]),
            st.text(alphabet=_TOKEN_CHARS, max_size=12),
        ),
    )
)
def test_header_timestamp_matches_rfc3339(token: str) -> None:
    """The header regex reads RFC 3339 stamps itself; any token must come out as rfc3339()."""
    if not token or " " in token or token.startswith("["):
        return
    got = parse(f"<13>1 {token} host app - - msg".encode(), NOW)
    expected = None if token == "-" else timestamps.rfc3339(token)
    if token == "-" or expected is not None:  # a valid header: it must be recognised as one
        assert (got["format"], got["timestamp"]) == ("rfc5424", expected)
    elif got["format"] == "rfc5424":  # an invalid stamp in an otherwise valid header
        assert got["timestamp"] is None


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("<>0123456789 a\u0663")), max_size=7))
def test_pri_memo_matches_the_rule(text: str) -> None:
    expected = pri._split_pri(text)
    assert pri.split_pri(text) == expected
    assert pri.split_pri(text) == expected  # the memo's answer too
