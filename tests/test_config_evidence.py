"""The config uploader's per-router evidence table, sans-IO."""

from __future__ import annotations

from config_uploader.evidence import ConfigEvidence
from config_uploader.store import RouterState

T0 = 1_796_000_000.0


def test_seeded_from_the_store_then_counted_per_interval() -> None:
    table = ConfigEvidence(max_routers=2)
    table.seed([RouterState("rtr-a", T0 - 3600, "00000004", False, False, 4)])
    table.record("rtr-b", T0, "00000001", True, True)
    table.record("rtr-b", T0 + 10, "00000001", False, True)
    table.record("rtr-c", T0, "00000001", True, None)  # past the bound: counted only
    summary = table.summary(T0 + 60)
    assert summary["untracked_uploads"] == 1
    assert summary["routers"]["rtr-a"] == {
        "last_upload": "2026-11-29T23:53:20.000000Z",
        "since_upload": 3660.0,
        "version": "00000004",
        "drift": False,
        "uploads": 0,
        "changes": 0,
    }
    b = summary["routers"]["rtr-b"]
    assert (b["uploads"], b["changes"], b["drift"], b["since_upload"]) == (2, 1, True, 50.0)
    again = table.summary(T0 + 120)["routers"]["rtr-b"]
    assert (again["uploads"], again["changes"], again["since_upload"]) == (0, 0, 110.0)
