"""The NTP proxy's options (flags ``--name``, variables ``EDGE_BRIDGE_NAME``)."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.settings import (
    CommonSettings,
    HostPort,
    IPNetwork,
    address,
    allow_option,
    burst,
    count,
    health_option,
    host_port_default,
    non_negative_int,
    one_of,
    option,
    per_second,
    router_option,
    seconds,
    seconds_or_off,
    switch,
)
from ntp_proxy.ecs import ECS_METADATA, KEYWORD, MetadataSource
from ntp_proxy.keys import key_text

AMAZON_TIME_SYNC = HostPort("169.254.169.123", 123)
Upstream = HostPort | MetadataSource


def upstream_entry(text: str) -> Upstream:
    """An NTP server ``HOST[:PORT]``, or ``ecs-metadata`` (the task clock, as ECS reports it)."""
    if text.strip() == KEYWORD:
        return ECS_METADATA
    return host_port_default(123)(text)


@dataclass(frozen=True)
class NtpSettings(CommonSettings):
    """NTP server for routers, serving time taken from the Amazon Time Sync Service."""

    health: HostPort = health_option(8123)
    listen: HostPort = address(HostPort("0.0.0.0", 10123), "UDP address that answers NTP clients")
    upstream: tuple[Upstream, ...] = option(
        (AMAZON_TIME_SYNC,),
        parse=upstream_entry,
        repeat=True,
        metavar="HOST[:PORT]|ecs-metadata",
        help="upstream NTP server, repeatable, in order of preference; never mix leap-smearing "
        "and non-smearing servers; ecs-metadata: the task's clock while ECS reports it "
        "synchronised (Fargate 1.4+)",
    )
    max_error_bound: float = seconds(
        0.1,
        "ecs-metadata: the task clock counts as synchronised only while ECS's ClockErrorBound "
        "(grown by 15 ppm since measured) stays below this; a bare number is seconds, so "
        "0.1 = 100ms",
    )
    poll: float = seconds(16.0, "seconds between upstream polls")
    poll_burst: int = count(
        4,
        "requests sent back to back each poll, the lowest-delay reply kept; 1 for "
        "rate-limited public servers",
    )
    max_holdover: float = seconds(
        3600.0,
        "seconds without a valid upstream sample before the proxy is unsynchronised",
    )
    max_offset: float = seconds_or_off(
        1.0,
        "reject upstream samples further than this from the local clock (on AWS the host "
        "clock follows the same service); 0: no limit, for a laptop whose clock may be far off",
    )
    mode: str = one_of(
        "serve",
        "relay",
        help="serve: answer from the filtered upstream offset; relay: forward each request",
    )
    allow: tuple[IPNetwork, ...] = allow_option(
        "client networks allowed, repeatable; none means everyone"
    )
    router: tuple[tuple[str, str], ...] = router_option(
        "name a router by its source address: its time evidence (ntp.clients) carries the name, "
        "and it is warned about when it stops asking or claims to be unsynchronised (repeat)"
    )
    client_silence: float = seconds(
        7200.0,
        "seconds without a request after which a named router is reported silent "
        "(ntp.client_silent); above the longest poll of any router (RTX ntpdate: hourly)",
    )
    deny_response: str = one_of(
        "drop",
        "kod",
        help="what clients outside --allow get: a DENY kiss-o'-death or nothing",
    )
    rate_limit: float = per_second(
        8.0, "requests per second allowed per client address; 0 disables the limit"
    )
    rate_burst: float = burst(64.0, "requests a client may send at once above the rate")
    keys: str = option(
        "",
        metavar="FILE",
        help="chrony key file (ID TYPE KEY lines): requests with a MAC under one of its keys get "
        "a reply signed with that key, other MACs a crypto-NAK; mode 600 or 640",
    )
    keys_text: str = option(
        "",
        parse=key_text,
        secret=True,
        metavar="TEXT",
        help="the same keys as the text of a key file, for a task without files (ECS puts a "
        "Secrets Manager secret in the variable); never logged; prefer the variable to the "
        "flag, which shows in ps",
    )
    require_auth: bool = switch(
        "answer only requests with a valid MAC (needs --keys or --keys-text)"
    )
    upstream_key: int = option(
        0,
        parse=non_negative_int,
        metavar="ID",
        help="key ID from the keys that signs the requests to NTP upstreams, whose replies must "
        "then carry a valid MAC under it; 0: none (the Amazon Time Sync Service takes none)",
    )
    rate_leak: int = option(
        2,
        parse=non_negative_int,
        help="over the rate limit, still answer 1 in 2**N requests at random (chrony's "
        "ratelimit leak), so a spoofer using a router's address cannot silence it; 0: none",
    )
    relay_timeout: float = seconds(2.0, "seconds to wait for the upstream's reply in relay mode")
    relay_max_inflight: int = count(1024, "requests awaiting the upstream at once in relay mode")
