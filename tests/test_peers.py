"""A missing peer program skips a test on a developer's machine and fails it in CI."""

from __future__ import annotations

import pytest

from tests.peers import peer


def test_a_present_peer_is_found() -> None:
    assert peer("sh", "dash").endswith("/sh")


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_a_missing_peer_fails_in_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="no-such-peer is not installed"):
        peer("no-such-peer", "none")
