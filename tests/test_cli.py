"""The command line contract: subcommands, --help, and exit 2 with one line on bad settings."""

from __future__ import annotations

import pytest

from tests.procs import run_command


def test_usage_lists_every_command() -> None:
    result = run_command(["--help"])
    assert result.returncode == 0
    for command in ("syslog", "ntp", "config", "all", "ntp-check", "simulate-router"):
        assert f"\n  {command} " in result.stdout


def test_unknown_command_exits_2() -> None:
    result = run_command(["syslogd"])
    assert result.returncode == 2
    assert "unknown command 'syslogd'" in result.stderr


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["syslog", "--udp", "localhost"], {}, "--udp"),
        (["syslog"], {"EDGE_BRIDGE_RATE_LIMIT": "fast"}, "EDGE_BRIDGE_RATE_LIMIT"),
        (["ntp", "--mode", "proxy"], {}, "--mode"),
        (["ntp"], {"EDGE_BRIDGE_UPSTREAM": "[::1"}, "EDGE_BRIDGE_UPSTREAM"),
        (["config", "--max-body", "huge"], {}, "--max-body"),
        (["config"], {"EDGE_BRIDGE_ALLOW": "10.0.0.0/33"}, "EDGE_BRIDGE_ALLOW"),
        (["all", "--ntp-poll", "0"], {}, "--ntp-poll"),
        (["all"], {"EDGE_BRIDGE_SYSLOG_WORKERS": "-1"}, "EDGE_BRIDGE_SYSLOG_WORKERS"),
    ],
)
def test_bad_setting_exits_2_with_one_line_naming_it(
    args: list[str], env: dict[str, str], named: str
) -> None:
    result = run_command(args, env=env)
    assert result.returncode == 2, result
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0]


@pytest.mark.parametrize("command", ["syslog", "ntp", "config", "all"])
def test_help_names_every_variable(command: str) -> None:
    result = run_command([command, "--help"])
    assert result.returncode == 0
    assert "EDGE_BRIDGE_" in result.stdout
    if command == "all":
        assert "--syslog-udp" in result.stdout and "EDGE_BRIDGE_CONFIG_STORE" in result.stdout
