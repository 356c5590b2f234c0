"""Settings: flags and EDGE_BRIDGE_* variables, one parser per option, exit 2 on bad input."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pytest

from bridge.settings import (
    CommonSettings,
    HostPort,
    boolean,
    byte_size,
    choice,
    cidr,
    credentials,
    host_port,
    host_port_default,
    load_settings,
    option,
    positive_float,
    router_entry,
    settings_argv,
)


@dataclass(frozen=True)
class Example(CommonSettings):
    """An example daemon."""

    udp: HostPort = option(HostPort("0.0.0.0", 5514), parse=host_port, help="UDP address")
    upstream: tuple[HostPort, ...] = option(
        (HostPort("169.254.169.123", 123),), parse=host_port_default(123), repeat=True, help="x"
    )
    allow: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = option(
        (), parse=cidr, repeat=True, help="allowed sources"
    )
    include_raw: bool = option(False, parse=boolean, help="keep raw")
    mode: str = option("serve", parse=choice("serve", "relay"), help="mode")
    max_body: int = option(16 * 1024 * 1024, parse=byte_size, help="size")
    poll: float = option(16.0, parse=positive_float, help="poll")


def load(argv: list[str], env: dict[str, str] | None = None) -> Example:
    return load_settings(Example, argv, prog="edge-bridge example", environ=env or {})


def test_defaults() -> None:
    settings = load([])
    assert settings.udp == HostPort("0.0.0.0", 5514)
    assert settings.upstream == (HostPort("169.254.169.123", 123),)
    assert settings.allow == ()
    assert settings.include_raw is False
    assert settings.metrics_interval == 60.0


def test_flags_and_variables() -> None:
    settings = load(
        ["--udp", "[::1]:0", "--allow", "10.0.0.0/8", "--allow", "::1/128", "--include-raw"],
        {"EDGE_BRIDGE_MODE": "relay", "EDGE_BRIDGE_UPSTREAM": "127.0.0.1:1123, time.aws.com"},
    )
    assert settings.udp == HostPort("::1", 0)
    assert str(settings.udp) == "[::1]:0"
    assert settings.allow == (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"))
    assert settings.include_raw is True
    assert settings.mode == "relay"
    assert settings.upstream == (HostPort("127.0.0.1", 1123), HostPort("time.aws.com", 123))


def test_settings_argv_rebuilds_the_settings() -> None:
    """A worker process gets its parent's settings back from the flags the parent hands it."""
    settings = load(
        ["--udp", "[::1]:0", "--allow", "10.0.0.0/8", "--allow", "::1/128", "--include-raw"],
        {"EDGE_BRIDGE_MODE": "relay", "EDGE_BRIDGE_UPSTREAM": "127.0.0.1:1123, time.aws.com"},
    )
    assert load(settings_argv(settings)) == settings
    assert load(settings_argv(load([]))) == load([])


def test_flag_beats_variable() -> None:
    settings = load(["--poll", "2"], {"EDGE_BRIDGE_POLL": "64", "EDGE_BRIDGE_INCLUDE_RAW": "no"})
    assert settings.poll == 2.0
    assert settings.include_raw is False


@pytest.mark.parametrize(
    ("argv", "env", "named"),
    [
        (["--udp", "nonsense"], {}, "--udp"),
        (["--udp", "1.2.3.4:99999"], {}, "--udp"),
        (["--udp", "::1:514"], {}, "--udp"),
        ([], {"EDGE_BRIDGE_UDP": "x"}, "EDGE_BRIDGE_UDP"),
        (["--allow", "10.0.0.1/8"], {}, "--allow"),
        ([], {"EDGE_BRIDGE_ALLOW": "10.0.0.0/8,bad"}, "EDGE_BRIDGE_ALLOW"),
        (["--mode", "proxy"], {}, "--mode"),
        (["--max-body", "lots"], {}, "--max-body"),
        (["--poll", "-1"], {}, "--poll"),
        (["--poll", "nan"], {}, "--poll"),
        (["--metrics-interval", "0"], {}, "--metrics-interval"),
        ([], {"EDGE_BRIDGE_INCLUDE_RAW": "maybe"}, "EDGE_BRIDGE_INCLUDE_RAW"),
        (["--no-such-option"], {}, "--no-such-option"),
    ],
)
def test_bad_values_exit_2_with_one_line(
    argv: list[str], env: dict[str, str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        load(argv, env)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("edge-bridge example: ")
    assert named in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [("65536", 65536), ("64KiB", 65536), ("16MiB", 16 << 20), ("8M", 8 << 20), ("1g", 1 << 30)],
)
def test_byte_size(text: str, expected: int) -> None:
    assert byte_size(text) == expected


def test_router_entry() -> None:
    assert router_entry("10.1.2.3=rtr-tokyo-1") == ("10.1.2.3", "rtr-tokyo-1")
    assert router_entry("2001:db8::1=core.a") == ("2001:db8::1", "core.a")
    for bad in ("10.1.2.3", "10.1.2.3=../etc", "nothost=a", "10.1.2.3="):
        with pytest.raises(ValueError):
            router_entry(bad)


@dataclass(frozen=True)
class WithSecret(CommonSettings):
    """Has a password."""

    basic_auth: str = option("", parse=credentials, secret=True, help="user:password")


def test_secret_values_are_never_echoed(capsys: pytest.CaptureFixture[str]) -> None:
    loaded = load_settings(WithSecret, ["--basic-auth", "ops:s3cret"], "p", {})
    assert loaded.basic_auth and "s3cret" not in repr(loaded)  # settings may end up in a trace
    for argv, env in ((["--basic-auth", "hunter2"], {}), ([], {"EDGE_BRIDGE_BASIC_AUTH": ":pw"})):
        with pytest.raises(SystemExit):
            load_settings(WithSecret, argv, "p", env)
        err = capsys.readouterr().err
        assert "expected USER:PASSWORD" in err
        assert "hunter2" not in err and "pw" not in err
