"""What every listener needs against unwanted or excessive peers: allowlist, rate limit, names.

All three are small, bounded in memory whatever the traffic, and cheap enough for a hot path
that sees every datagram.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from bridge.settings import IPNetwork

_CACHE_LIMIT = 65536
_MAPPED = "::ffff:"


def unmapped(ip: str) -> str:
    """An IPv4 peer seen on a dual-stack socket (``::ffff:10.0.0.1``) as its IPv4 address."""
    return ip[7:] if ip.startswith(_MAPPED) else ip


class Allowlist:
    """Source addresses permitted by ``--allow``; an empty list permits everyone."""

    def __init__(self, networks: Iterable[IPNetwork]) -> None:
        self.networks = tuple(networks)
        self._cache: dict[str, bool] = {}

    def permits(self, ip: str) -> bool:
        if not self.networks:
            return True
        verdict = self._cache.get(ip)
        if verdict is None:
            verdict = self._decide(ip)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[ip] = verdict
        return verdict

    def _decide(self, ip: str) -> bool:
        try:
            address = ipaddress.ip_address(ip.split("%")[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)


class RateLimiter:
    """Per-key token buckets: ``rate`` tokens per second up to ``burst``; rate 0 disables.

    At most ``max_keys`` buckets are kept: when full, the least recently refilled one is
    forgotten, which at worst grants a forgotten source a fresh burst.
    """

    def __init__(self, rate: float, burst: float, max_keys: int = _CACHE_LIMIT) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def refund(self, key: str) -> None:
        """Give back the token the last ``allow`` took (an attempt that turned out fine)."""
        state = self._buckets.get(key)
        if state is not None:
            self._buckets[key] = (min(self.burst, state[0] + 1.0), state[1])

    def allow(self, key: str, now: float) -> bool:
        return self.take(key, 1, now) == 1

    def take(self, key: str, count: int, now: float) -> int:
        """How many of ``count`` attempts at ``now`` the bucket of ``key`` grants: as many
        as ``allow`` would, called ``count`` times (whole tokens leave a bucket exactly)."""
        if self.rate <= 0 or count < 1:
            return max(count, 0)
        buckets = self._buckets
        state = buckets.pop(key, None)
        if state is None:
            if len(buckets) >= self.max_keys:
                del buckets[next(iter(buckets))]
            tokens = self.burst
        else:
            tokens, last = state
            tokens = min(self.burst, tokens + (now - last) * self.rate)
        granted = min(count, int(tokens)) if tokens >= 1.0 else 0
        buckets[key] = (tokens - granted, now)
        return granted


class RouterNames:
    """Static source-IP -> router-name map from ``--router IP=NAME``."""

    def __init__(self, entries: Iterable[tuple[str, str]]) -> None:
        self._names = dict(entries)

    def entries(self) -> list[tuple[str, str]]:
        """The ``(ip, name)`` pairs it was given."""
        return list(self._names.items())

    def get(self, ip: str) -> str | None:
        if not self._names:
            return None
        name = self._names.get(ip)
        if name is None and (ipv4 := unmapped(ip)) != ip:
            name = self._names.get(ipv4)
        return name


class ConnectionTable:
    """Open connections per address, bounded in total and per address, so one host cannot
    take every slot of a listener."""

    def __init__(self, max_total: int, max_per_address: int) -> None:
        self.max_total = max_total
        self.max_per_address = max_per_address
        self.total = 0
        self._by_address: dict[str, int] = {}

    def admit(self, address: str) -> str | None:
        """None when the connection may stay, else which cap refuses it: ``total`` or
        ``per_address``; an admitted connection is :meth:`release`-d when it ends."""
        if self.total >= self.max_total:
            return "total"
        held = self._by_address.get(address, 0)
        if held >= self.max_per_address:
            return "per_address"
        self._by_address[address] = held + 1
        self.total += 1
        return None

    def release(self, address: str) -> None:
        held = self._by_address.get(address, 0)
        if held <= 1:
            self._by_address.pop(address, None)
        else:
            self._by_address[address] = held - 1
        self.total -= 1
