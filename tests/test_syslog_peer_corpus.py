"""The parser against device lines published by others (tests/data/syslog/peer_corpus.json):
every line gives the fields listed for it, keeps the record's shape, and loses no text."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from syslog_receiver.parse import parse
from tests.test_syslog_parse_fuzz import check_message_is_a_tail, check_shape

CORPUS = json.loads((Path(__file__).parent / "data" / "syslog" / "peer_corpus.json").read_text())
NOW = datetime.fromisoformat(CORPUS["now"]).timestamp()
LINES: list[dict[str, Any]] = CORPUS["lines"]


@pytest.mark.parametrize(
    "case", LINES, ids=[f"{i}-{c['source'][:30]}" for i, c in enumerate(LINES)]
)
def test_published_line_gives_its_fields(case: dict[str, Any]) -> None:
    data = case["line"].encode()
    got = parse(data, NOW)
    check_shape(got)
    check_message_is_a_tail(data, got)
    assert {key: got.get(key) for key in case["expect"]} == case["expect"]


def test_every_line_is_distinct_sourced_and_checked() -> None:
    assert len({c["line"] for c in LINES}) == len(LINES) >= 80
    assert all(c["source"] and c["expect"] for c in LINES)
