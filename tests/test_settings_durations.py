"""A timeout, interval or grace period of 0 would fire at once: every command refuses it at
start with one line and exit status 2, and accepts 0 only where the option says what 0 does."""

from __future__ import annotations

import dataclasses
import importlib

import pytest

from bridge.cli import DAEMONS
from bridge.report.main import ReportSettings
from bridge.settings import load_settings, non_negative_duration
from bridge.simulate import SimulatorSettings
from config_uploader.settings import ConfigSettings
from tests.procs import run_command

REFUSED = [
    (["syslog", "--tcp-idle-timeout", "0"], {}, "--tcp-idle-timeout"),
    (["syslog", "--tcp-idle-timeout", "-5"], {}, "--tcp-idle-timeout"),
    (["syslog", "--metrics-interval", "0s"], {}, "--metrics-interval"),
    (["syslog"], {"EDGE_BRIDGE_STDOUT_STALL": "0"}, "EDGE_BRIDGE_STDOUT_STALL"),
    (["ntp", "--poll", "0m"], {}, "--poll"),
    (["ntp", "--max-holdover", "0"], {}, "--max-holdover"),
    (["ntp", "--client-silence=-1h"], {}, "--client-silence"),
    (["ntp", "--relay-timeout", "0"], {}, "--relay-timeout"),
    (["config", "--stale-after", "0"], {}, "--stale-after"),
    (["config"], {"EDGE_BRIDGE_STALE_AFTER": "0h"}, "EDGE_BRIDGE_STALE_AFTER"),
    (["config", "--max-silence", "0d"], {}, "--max-silence"),
    (["config", "--header-timeout", "0"], {}, "--header-timeout"),
    (["config", "--body-timeout", "-60"], {}, "--body-timeout"),
    (["config", "--unsaved-grace", "-1"], {}, "--unsaved-grace"),
    (["all", "--config-stale-after", "0"], {}, "--config-stale-after"),
    (["all"], {"EDGE_BRIDGE_NTP_POLL": "0"}, "EDGE_BRIDGE_NTP_POLL"),
    (["report", "--max-silence", "0"], {}, "--max-silence"),
    (["simulate-router", "--timeout", "0"], {}, "--timeout"),
]


@pytest.mark.parametrize(("args", "env", "named"), REFUSED)
def test_a_zero_or_negative_duration_stops_the_command(
    args: list[str], env: dict[str, str], named: str
) -> None:
    result = run_command(args, env=env)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert named in result.stderr
    assert "must be > 0" in result.stderr or "must be >= 0" in result.stderr


def _options() -> list[tuple[str, dataclasses.Field[object]]]:
    classes = [importlib.import_module(path).SETTINGS for path in DAEMONS.values()]
    classes += [ReportSettings, SimulatorSettings]
    return [(cls.__name__, field) for cls in classes for field in dataclasses.fields(cls)]


def test_zero_is_allowed_only_where_the_help_says_what_it_does() -> None:
    off = [(owner, f) for owner, f in _options() if f.metadata["parse"] is non_negative_duration]
    assert {(owner, f.name) for owner, f in off} == {
        ("ConfigSettings", "unsaved_grace"),
        ("SimulatorSettings", "burst_every"),
        ("SimulatorSettings", "ntp_every"),
        ("SimulatorSettings", "upload_every"),
        ("SimulatorSettings", "duration"),
    }
    for owner, field in off:
        assert "0 = " in field.metadata["help"] or "0: " in field.metadata["help"], owner


def test_zero_where_it_means_off_is_accepted() -> None:
    """``--unsaved-grace 0`` (no grace) loads; the daemon run with it is in the compliance
    tests, the simulator's ``--burst-every 0`` in the fleet tests."""
    assert load_settings(ConfigSettings, ["--unsaved-grace", "0"], "x", {}).unsaved_grace == 0
    assert load_settings(SimulatorSettings, ["--duration", "0"], "x", {}).duration == 0
    assert load_settings(ConfigSettings, ["--stale-after", "15m"], "x", {}).stale_after == 900
