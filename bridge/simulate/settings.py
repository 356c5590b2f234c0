"""The options of ``edge-bridge simulate-router``: where the suite is, and how much to send."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.settings import (
    HostPort,
    address,
    count,
    credentials,
    one_of,
    option,
    per_second,
    seconds,
    seconds_or_off,
)

PROG = "edge-bridge simulate-router"


def _router_name(text: str) -> str:
    if not text or len(text) > 63 or not all(c.isalnum() or c in "-_." for c in text):
        raise ValueError("router names are 1-63 letters, digits, '.', '_' and '-'")
    return text


def _url(text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL")
    return text


@dataclass(frozen=True)
class SimulatorSettings:
    """Act as a router pointed at edge-bridge: syslog, NTP queries and config uploads."""

    syslog: HostPort = address(HostPort("127.0.0.1", 5514), "syslog receiver address")
    transport: str = one_of("udp", "tcp", help="syslog transport (tcp frames by octet count)")
    ntp: HostPort = address(HostPort("127.0.0.1", 10123), "NTP server")
    config_url: str = option(
        "http://127.0.0.1:8080/upload/{name}-config",
        parse=_url,
        help="where the config is uploaded; {name} becomes the router name",
    )
    upload_method: str = one_of("PUT", "POST", help="HTTP method of the upload (IOS archive: PUT)")
    config_credentials: str = option(
        "",
        metavar="FILE",
        help="a user:password file (as 'edge-bridge credentials generate' writes) to upload "
        "with HTTP Basic auth",
    )
    upload_auth: str = option(
        "",
        parse=credentials,
        secret=True,
        metavar="USER:PASSWORD",
        help="HTTP Basic credentials of the uploads (prefer the variable to the flag; "
        "--config-credentials reads them from a file instead)",
    )
    name: str = option("rtr-sim-1", parse=_router_name, help="router hostname")
    rate: float = per_second(20.0, "syslog messages/s (0: none)")
    burst_every: float = seconds_or_off(30.0, "seconds between syslog bursts (0: none)")
    burst_size: int = count(200, "messages in one burst")
    ntp_every: float = seconds_or_off(5.0, "seconds between NTP queries (0: none)")
    max_offset: float = seconds(1.0, "an NTP answer further off than this counts as failed")
    upload_every: float = seconds_or_off(60.0, "seconds between config uploads (0: none)")
    change_every: int = count(3, "the config changes every N uploads")
    duration: float = seconds_or_off(60.0, "seconds to run (0: forever)")
    timeout: float = seconds(5.0, "seconds to wait for an answer")
    seed: int = option(0, parse=int, help="seed of the message generator (same seed, same lines)")
