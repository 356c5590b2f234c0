"""Running or startup: the request says so, else the file name, else it is running."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config_uploader.compliance.kind import (
    KindError,
    classify,
    kinds_of,
    names_startup,
    parse_kind,
    without_marker,
)


@pytest.mark.parametrize(
    "name",
    [
        "startup-config",
        "rtr1-startup-config",
        "dc1-rtr1-startup",
        "dc1-rtr1-startup.cfg",
        "/upload/dc1-rtr1-startup-config",
        "edge1/STARTUP-CONFIG.txt",
        "rtr1_startup.txt.gz",
        "startup",
        "nvram/startup-confg",
    ],
)
def test_names_that_say_startup(name: str) -> None:
    assert names_startup(name)
    assert classify(None, [None, name]) == "startup"


@pytest.mark.parametrize(
    "name",
    [
        "running-config",
        "rtr1-confg",
        "261130.txt",
        "/upload/RTX1210/edge1/",
        "startups/rtr1",  # a directory, not the file
        "rtr1-startupish",
        "restart-up",
        "",
    ],
)
def test_other_names_are_running(name: str) -> None:
    assert not names_startup(name)
    assert classify(None, [name]) == "running"


def test_explicit_kind_wins_over_the_name() -> None:
    assert classify("running", ["rtr1-startup-config"]) == "running"
    assert classify(" Startup ", ["rtr1-confg"]) == "startup"
    assert classify("", ["rtr1-startup"]) == "startup"  # an empty field says nothing


@pytest.mark.parametrize("value", ["saved", "start", "running-config", "1", "startup\x00"])
def test_unknown_kind_is_refused(value: str) -> None:
    with pytest.raises(KindError, match="running or startup"):
        parse_kind(value)
    with pytest.raises(KindError):
        classify(value, [])


def test_a_junos_commit_is_both() -> None:
    assert kinds_of("running", "junos") == ("running", "startup")
    assert kinds_of("startup", "junos") == ("running", "startup")
    assert kinds_of("running", "cisco-ios") == ("running",)
    assert kinds_of("startup", "yamaha") == ("startup",)


@given(st.text(max_size=200), st.one_of(st.none(), st.text(max_size=20)))
def test_classify_any_input(name: str, explicit: str | None) -> None:
    try:
        kind = classify(explicit, [name])
    except KindError:
        assert explicit is not None and explicit.strip().lower() not in ("running", "startup")
    else:
        assert kind in ("running", "startup")


@pytest.mark.parametrize(
    ("name", "stripped"),
    [
        ("dc1-rtr1-startup-config", "dc1-rtr1"),
        ("dc1-rtr1-startup.cfg", "dc1-rtr1.cfg"),
        ("tokyo-edge1/261130-startup.txt", "tokyo-edge1/261130.txt"),
        ("rtr1/startup-config", "rtr1"),
        ("startup-config", ""),
        ("rtr1_startup.txt.gz", "rtr1.txt.gz"),
        ("rtr1-confg", "rtr1-confg"),
        (None, None),
    ],
)
def test_the_marker_leaves_the_name(name: str | None, stripped: str | None) -> None:
    assert without_marker(name) == stripped
