"""Allowlist, token-bucket rate limiter and router names: behaviour and bounded memory."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.guard import Allowlist, RateLimiter, RouterNames


def test_allowlist() -> None:
    empty = Allowlist([])
    assert empty.permits("203.0.113.9")
    allow = Allowlist([ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32")])
    assert allow.permits("10.200.1.1")
    assert allow.permits("::ffff:10.0.0.1")  # IPv4 seen on a dual-stack socket
    assert allow.permits("2001:db8::53")
    assert not allow.permits("192.0.2.1")
    assert not allow.permits("not-an-ip")
    assert not allow.permits("192.0.2.1")  # cached answer is the same


def test_rate_limiter_refills_at_rate() -> None:
    limiter = RateLimiter(rate=10, burst=5)
    now = 1000.0
    assert [limiter.allow("a", now) for _ in range(7)] == [True] * 5 + [False] * 2
    assert limiter.allow("b", now)  # buckets are per key
    assert not limiter.allow("a", now + 0.05)  # half a token
    assert limiter.allow("a", now + 0.15)
    assert sum(limiter.allow("a", now + 10 + i * 0.001) for i in range(200)) == 5 + 1


def test_rate_limiter_disabled_and_bounded() -> None:
    assert all(RateLimiter(0, 0).allow("x", 0.0) for _ in range(1000))
    limiter = RateLimiter(rate=1, burst=1, max_keys=100)
    for i in range(10_000):
        limiter.allow(f"10.0.{i // 256}.{i % 256}", 0.0)
    assert len(limiter._buckets) <= 100


def test_router_names() -> None:
    names = RouterNames([("10.0.0.1", "rtr1")])
    assert names.get("10.0.0.1") == "rtr1"
    assert names.get("::ffff:10.0.0.1") == "rtr1"
    assert names.get("10.0.0.2") is None


def test_rate_limiter_refund_gives_the_token_back() -> None:
    limiter = RateLimiter(0.001, 2)
    assert limiter.allow("a", 0.0) and limiter.allow("a", 0.0)
    assert not limiter.allow("a", 0.0)
    limiter.refund("a")
    assert limiter.allow("a", 0.0)
    limiter.refund("a")
    limiter.refund("a")
    limiter.refund("a")  # never above the burst
    assert limiter.allow("a", 0.0) and limiter.allow("a", 0.0) and not limiter.allow("a", 0.0)


@settings(max_examples=300)
@given(
    st.floats(min_value=0.1, max_value=5000),
    st.floats(min_value=1, max_value=50),
    st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 40), st.floats(0, 0.5)), max_size=30),
)
def test_taking_many_grants_what_as_many_allows_would(
    rate: float, burst: float, attempts: list[tuple[str, int, float]]
) -> None:
    """The syslog intake admits a batch per source with ``take``: the same datagrams pass as
    when each asks ``allow`` in turn, and the buckets are left the same."""
    many, each = RateLimiter(rate, burst), RateLimiter(rate, burst)
    now = 1000.0
    for key, count, later in attempts:
        now += later
        assert many.take(key, count, now) == sum(each.allow(key, now) for _ in range(count))
    assert many._buckets == each._buckets
