"""A timeout, interval or grace period of 0 would fire at once: every command refuses it at
start with one line and exit status 2, and accepts 0 only where the option says what 0 does."""

from __future__ import annotations

import dataclasses
import importlib
import json

import pytest

from bridge.cli import DAEMONS
from bridge.report.main import ReportSettings
from bridge.settings import load_settings, non_negative_duration
from bridge.simulate import SimulatorSettings
from config_uploader.settings import ConfigSettings
from ntp_proxy.check import CheckSettings
from ntp_proxy.settings import NtpSettings
from tests.ntp_peers import free_udp_port
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
    (["simulate-router", "--max-offset", "0"], {}, "--max-offset"),
    (["ntp", "--max-error-bound", "0ms"], {}, "--max-error-bound"),
    (["ntp"], {"EDGE_BRIDGE_MAX_ERROR_BOUND": "-0.1"}, "EDGE_BRIDGE_MAX_ERROR_BOUND"),
    (["ntp", "--max-offset=-1s"], {}, "--max-offset"),
    (["report", "--max-skew", "0"], {}, "--max-skew"),
    (["report"], {"EDGE_BRIDGE_MAX_SKEW": "-2s"}, "EDGE_BRIDGE_MAX_SKEW"),
    (["ntp-check", "--timeout", "0", "127.0.0.1"], {}, "--timeout"),
    (["ntp-check", "--timeout=-3", "127.0.0.1"], {}, "--timeout"),
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
    classes += [ReportSettings, SimulatorSettings, CheckSettings]
    return [(cls.__name__, field) for cls in classes for field in dataclasses.fields(cls)]


def test_zero_is_allowed_only_where_the_help_says_what_it_does() -> None:
    off = [(owner, f) for owner, f in _options() if f.metadata["parse"] is non_negative_duration]
    assert {(owner, f.name) for owner, f in off} == {
        ("ConfigSettings", "unsaved_grace"),
        ("NtpSettings", "max_offset"),
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


NOT_A_DURATION = [
    (["ntp", "--max-error-bound", "100us"], "--max-error-bound"),
    (["report", "--max-skew", "two"], "--max-skew"),
    (["ntp-check", "--timeout", "3 seconds", "127.0.0.1"], "--timeout"),
]


@pytest.mark.parametrize(("args", "named"), NOT_A_DURATION)
def test_text_that_is_no_duration_stops_the_command(args: list[str], named: str) -> None:
    result = run_command(args)
    assert result.returncode == 2, result.stderr
    assert result.stdout == "" and result.stderr.count("\n") == 1, result.stderr
    assert named in result.stderr and "expected a duration such as" in result.stderr


def test_a_bare_number_keeps_its_old_meaning_seconds() -> None:
    """These options were plain numbers of seconds: a deployment that set one still means
    what it meant, and a unit says the same more plainly."""
    for text, wanted in [("0.25", 0.25), ("250ms", 0.25), ("0.25s", 0.25)]:
        ntp = load_settings(NtpSettings, ["--max-error-bound", text], "x", {})
        assert ntp.max_error_bound == pytest.approx(wanted)
    assert load_settings(NtpSettings, [], "x", {}).max_error_bound == 0.1
    assert load_settings(NtpSettings, [], "x", {"EDGE_BRIDGE_MAX_OFFSET": "2"}).max_offset == 2
    assert load_settings(NtpSettings, ["--max-offset", "0"], "x", {}).max_offset == 0
    assert load_settings(ReportSettings, ["--max-skew", "2"], "x", {}).max_skew == 2
    assert load_settings(ReportSettings, ["--max-skew", "1m"], "x", {}).max_skew == 60
    assert load_settings(SimulatorSettings, ["--max-offset", "500ms"], "x", {}).max_offset == 0.5


def test_ntp_check_waits_the_duration_it_is_given() -> None:
    """``--timeout 300ms`` is read (a silent server: the check ends failed, not refused)."""
    result = run_command(["ntp-check", "--timeout", "300ms", f"127.0.0.1:{free_udp_port()}"])
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["event"] == "ntp.check_failed"
