"""The upstream poller against fake upstream sockets on loopback, and the relay's match table."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from bridge.metrics import Counters
from bridge.settings import HostPort
from ntp_proxy.clock import Clock
from ntp_proxy.packet import MODE_SERVER, Packet, decode, encode, to_ntp
from ntp_proxy.poller import COUNTERS, GAUGES, Poller, refid_for, refid_text
from ntp_proxy.relay import COUNTERS as RELAY_COUNTERS
from ntp_proxy.relay import RelayTable

Answer = Callable[[Packet], list[bytes]]


def good(request: Packet, offset: float = 0.5) -> bytes:
    now = time.time() + offset
    return encode(
        Packet(
            version=4,
            mode=MODE_SERVER,
            stratum=2,
            precision=-20,
            root_dispersion=0.001,
            refid=b"\x0a\0\0\1",
            reference=to_ntp(now - 10),
            origin=request.transmit,
            receive=to_ntp(now),
            transmit=to_ntp(now),
        )
    )


class FakeUpstream(asyncio.DatagramProtocol):
    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[Packet] = []

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        request = decode(data)
        self.requests.append(request)
        for reply in self.answer(request):
            self.transport.sendto(reply, addr)


@asynccontextmanager
async def fake_upstream(answer: Answer) -> AsyncIterator[tuple[HostPort, FakeUpstream]]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: FakeUpstream(answer), local_addr=("127.0.0.1", 0)
    )
    try:
        yield HostPort("127.0.0.1", transport.get_extra_info("sockname")[1]), protocol
    finally:
        transport.close()


def poller_for(*upstreams: HostPort, poll: float = 0.4, burst: int = 4) -> Poller:
    clock = Clock([str(u) for u in upstreams], max_holdover=60.0)
    counters = Counters(*COUNTERS, gauges=GAUGES)
    return Poller(upstreams, clock, counters, poll=poll, precision=-22, burst=burst)


async def test_spoofed_reply_is_ignored_and_the_genuine_one_used() -> None:
    def spoof_first(request: Packet) -> list[bytes]:
        forged = decode(good(request, offset=100.0))
        wrong_origin = encode(Packet(**{**_fields(forged), "origin": request.transmit ^ 0xFF}))
        return [wrong_origin, good(request, offset=0.5)]

    async with fake_upstream(spoof_first) as (address, upstream):
        poller = poller_for(address)
        sample = await poller.exchange(address)
    assert sample is not None and abs(sample.offset - 0.5) < 0.01
    assert poller.counters.snapshot()["upstream_invalid"] == 4  # one per request of the burst
    assert poller.counters.snapshot()["upstream_errors"] == 0
    assert len(upstream.requests) == 4
    assert len({r.transmit for r in upstream.requests}) == 4  # a fresh nonce each
    request = upstream.requests[0]
    assert (request.mode, request.version) == (3, 4)
    assert request.transmit != 0 and request.receive == 0


async def test_burst_keeps_the_reply_with_the_lowest_delay() -> None:
    loop = asyncio.get_running_loop()

    class SlowFirst(FakeUpstream):
        def datagram_received(self, data: bytes, addr: Any) -> None:
            request = decode(data)
            self.requests.append(request)
            if len(self.requests) == 2:  # 30 ms late, and its clock reads 0.4 s further ahead
                reply = good(request, offset=0.9)
                loop.call_later(0.03, self.transport.sendto, reply, addr)
            else:
                self.transport.sendto(good(request, offset=0.5), addr)

    transport, upstream = await loop.create_datagram_endpoint(
        lambda: SlowFirst(lambda request: []), local_addr=("127.0.0.1", 0)
    )
    try:
        address = HostPort("127.0.0.1", transport.get_extra_info("sockname")[1])
        poller = poller_for(address, poll=1.0, burst=3)
        sample = await poller.exchange(address)
    finally:
        transport.close()
    assert len(upstream.requests) == 3
    assert sample is not None and abs(sample.offset - 0.5) < 0.005 and sample.delay < 0.03


async def test_only_wrong_replies_mean_no_sample() -> None:
    def wrong(request: Packet) -> list[bytes]:
        data = decode(good(request))
        return [
            encode(Packet(**{**_fields(data), "origin": 12345})),
            encode(Packet(**{**_fields(data), "leap": 3})),
            encode(Packet(**{**_fields(data), "stratum": 0, "refid": b"DENY", "origin": 7})),
            good(request)[:40],
        ]

    async with fake_upstream(wrong) as (address, _):
        poller = poller_for(address)
        assert await poller.exchange(address) is None
    counts = poller.counters.snapshot()
    assert counts["upstream_invalid"] == 4 * 4 and counts["upstream_errors"] == 1
    assert counts["upstream_kisses"] == 0  # a kiss that does not echo our nonce is forged


async def test_rate_kiss_backs_off_until_a_valid_reply() -> None:
    kiss = True

    def answer(request: Packet) -> list[bytes]:
        if kiss:
            data = decode(good(request))
            return [encode(Packet(**{**_fields(data), "stratum": 0, "refid": b"RATE"}))]
        return [good(request)]

    async with fake_upstream(answer) as (address, upstream):
        poller = poller_for(address)
        await poller.poll_round()
        assert len(upstream.requests) == 1  # the burst stops at the kiss
        assert poller.backoff.skip == [1]
        await poller.poll_round()  # skipped
        assert len(upstream.requests) == 1
        await poller.poll_round()
        assert poller.backoff.skip == [2] and len(upstream.requests) == 2
        kiss = False
        for _ in range(3):
            await poller.poll_round()
        assert poller.backoff.skip == [0] and poller.clock.synchronised(time.time())
    counts = poller.counters.snapshot()
    assert counts["upstream_kisses"] == 2 and counts["upstream_invalid"] == 2


async def test_silent_upstream_times_out() -> None:
    async with fake_upstream(lambda request: []) as (address, _):
        poller = poller_for(address, poll=0.2)
        started = time.monotonic()
        assert await poller.exchange(address) is None
        assert time.monotonic() - started < 1.0
    assert poller.counters.snapshot()["upstream_errors"] == 1


async def test_round_selects_the_first_upstream_that_answers() -> None:
    async with (
        fake_upstream(lambda request: []) as (silent, _),
        fake_upstream(lambda request: [good(request, offset=-0.25)]) as (answering, _),
    ):
        poller = poller_for(silent, answering, poll=0.2)
        await poller.poll_round()
    clock = poller.clock
    assert clock.selected == 1 and abs(clock.offset + 0.25) < 0.01
    assert clock.synchronised(time.time()) and clock.refid == bytes([127, 0, 0, 1])
    assert poller.counters.snapshot()["synchronised"] == 1.0


def test_refids() -> None:
    assert refid_for("169.254.169.123") == bytes([169, 254, 169, 123])
    assert refid_for("::ffff:10.0.0.1") == bytes([10, 0, 0, 1])
    assert len(refid_for("fd00::123")) == 4  # first four bytes of MD5, per RFC 5905
    assert refid_text(b"GPS\0", 1) == "GPS"
    assert refid_text(bytes([127, 127, 1, 1]), 1) == "127.127.1.1"
    assert refid_text(bytes([10, 0, 0, 1]), 2) == "10.0.0.1"


def _fields(packet: Packet) -> dict[str, Any]:
    return {name: getattr(packet, name) for name in Packet.__slots__}


# -- relay match table (sans-IO) ---------------------------------------------------------------


def _client_request(transmit: bytes) -> bytes:
    return bytes([0x23]) + b"\0" * 39 + transmit


def _upstream_reply(forwarded: bytes) -> bytes:
    return bytes([0x24, 1]) + b"\0" * 22 + forwarded[40:48] + b"R" * 16


def test_relay_matches_by_nonce_and_restores_the_origin() -> None:
    counters = Counters("replies", *RELAY_COUNTERS)
    table = RelayTable(counters, timeout=1.0, max_inflight=2)
    same = b"\0" * 8  # two SNTP clients sending the same (zero) transmit timestamp
    first = table.forward(_client_request(same), ("10.0.0.1", 123), 0, 100.0, nonce=1)
    second = table.forward(_client_request(same), ("10.0.0.2", 123), 0, 100.0, nonce=2)
    assert first is not None and second is not None and first[40:] != second[40:]
    assert table.forward(_client_request(same), ("10.0.0.3", 1), 0, 100.0, nonce=3) is None

    answer = table.answer(_upstream_reply(second), upstream=0)
    assert answer is not None
    reply, client = answer
    assert client == ("10.0.0.2", 123) and reply[24:32] == same and len(reply) == 48
    assert table.answer(_upstream_reply(second), upstream=0) is None  # a replay
    assert table.answer(_upstream_reply(first), upstream=1) is None  # the wrong upstream
    assert table.answer(_upstream_reply(first)[:47], upstream=0) is None
    table.expire(101.5)
    assert len(table) == 0
    counts = counters.snapshot()
    assert counts["relayed"] == 2 and counts["dropped_inflight"] == 1
    assert counts["replies"] == 1 and counts["relay_invalid"] == 3
    assert counts["relay_timeouts"] == 1
