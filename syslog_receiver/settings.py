"""The syslog receiver's options (flags and ``EDGE_BRIDGE_*`` variables)."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.settings import (
    CommonSettings,
    HostPort,
    IPNetwork,
    address,
    allow_option,
    burst,
    byte_size,
    count,
    health_option,
    inventory_option,
    option,
    per_second,
    router_option,
    seconds,
    size,
    switch,
)

# The largest UDP payload: a datagram longer than this cannot exist, so it is also the
# receive size, and the largest --max-message-size that means anything.
MAX_DATAGRAM = 65535


def message_size(text: str) -> int:
    """480 bytes is the least RFC 5424 lets a receiver accept; 1 MiB bounds TCP buffers."""
    size = byte_size(text)
    if not 480 <= size <= 1024 * 1024:
        raise ValueError("must be between 480 bytes (RFC 5424 section 6.1) and 1MiB")
    return size


@dataclass(frozen=True)
class SyslogSettings(CommonSettings):
    """Receive router syslog over UDP and TCP and write one JSON line per message to stdout."""

    udp: HostPort = address(HostPort("0.0.0.0", 5514), "UDP listen address ([::]:5514 for IPv6)")
    tcp: HostPort = address(HostPort("0.0.0.0", 5514), "TCP listen address ([::]:5514 for IPv6)")
    health: HostPort = health_option(8514)
    allow: tuple[IPNetwork, ...] = allow_option(
        "accept messages only from these networks (repeat; none = from anyone)"
    )
    router: tuple[tuple[str, str], ...] = router_option(
        "name a router by its source address; adds 'router' to its lines (repeat)"
    )
    inventory: str = inventory_option()
    rate_limit: float = per_second(
        2000.0,
        "messages per second accepted from one source address, 0 = no limit; drops are counted "
        "and summarised in one warning per --metrics-interval",
    )
    rate_burst: float = burst(10000.0, "messages one source may send at once above the rate")
    max_message_size: int = option(
        65536,
        parse=message_size,
        metavar="SIZE",
        help="longer UDP messages are cut and flagged; a longer TCP frame closes the connection",
    )
    recv_buffer: int = size(
        8 * 1024 * 1024, "UDP socket receive buffer (absorbs bursts; capped by net.core.rmem_max)"
    )
    max_connections: int = count(1024, "open TCP connections per worker; more are refused")
    max_connections_per_address: int = count(
        16, "open TCP connections per source address and worker; more are refused"
    )
    tcp_idle_timeout: float = seconds(
        300.0,
        "a TCP connection silent this long is closed (keep it below the NLB's 350 s "
        "idle timeout, which drops flows without telling the target)",
    )
    include_raw: bool = switch("add the message as received, as 'raw', to each line")
    workers: int = count(1, "processes sharing the ports with SO_REUSEPORT (one per vCPU)")
