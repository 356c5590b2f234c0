"""Running versus startup: saved, unsaved since when, overdue after the grace period."""

from __future__ import annotations

from config_uploader.compliance.saved import UNKNOWN, SavedState, compare

HOUR = 3600.0


def test_unknown_until_both_kinds_are_seen() -> None:
    assert compare(UNKNOWN, "v1", None, None, 100.0).state == "unknown"
    assert compare(UNKNOWN, None, "v1", None, 100.0).state == "unknown"
    state = compare(UNKNOWN, "v1", None, None, 100.0)
    assert (state.running, state.startup) == ("v1", None)


def test_saved_when_equal() -> None:
    state = compare(UNKNOWN, "v2", "v1", True, 100.0)
    assert state == SavedState("saved", "v2", "v1", None)
    assert not state.overdue(10 * HOUR, HOUR)


def test_unsaved_keeps_the_time_it_began() -> None:
    first = compare(UNKNOWN, "v2", "v1", False, 100.0)
    assert (first.state, first.since) == ("unsaved", 100.0)
    later = compare(first, "v3", "v1", False, 900.0)
    assert (later.state, later.since, later.running) == ("unsaved", 100.0, "v3")
    assert not later.overdue(100.0 + HOUR - 1, HOUR)
    assert later.overdue(100.0 + HOUR, HOUR)
    saved = compare(later, "v3", "v4", True, 1000.0)
    assert saved.state == "saved" and saved.since is None
    again = compare(saved, "v5", "v4", False, 5000.0)
    assert again.since == 5000.0  # a new episode starts its own clock


def test_round_trip_and_garbage() -> None:
    state = SavedState("unsaved", "v3", "v1", 123.5)
    assert SavedState.from_dict(state.to_dict()) == state
    for junk in (None, [], "saved", {"state": "weird"}, {"state": 1}):
        assert SavedState.from_dict(junk) == UNKNOWN
    odd = SavedState.from_dict({"state": "saved", "running": 5, "since": "x"})
    assert odd == SavedState("saved", None, None, None)
