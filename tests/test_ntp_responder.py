"""The request guard and the reply builder, with plain bytes and explicit times (sans-IO)."""

from __future__ import annotations

import ipaddress

import ntplib
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.guard import Allowlist, RateLimiter
from bridge.metrics import Counters
from ntp_proxy.clock import Clock
from ntp_proxy.exchange import Sample
from ntp_proxy.packet import (
    HEADER_LEN,
    MODE_SERVER,
    Packet,
    decode,
    encode,
    first_byte,
    from_ntp,
    to_ntp,
)
from ntp_proxy.responder import COUNTERS, Responder, Verdict

NOW = 1_800_000_000.0
CLIENT_TX = to_ntp(NOW - 0.5) | 0x1234  # any value: it must come back bit for bit
REFID = bytes([169, 254, 169, 123])


def synced_clock(offset: float = 0.25, holdover: float = 60.0) -> Clock:
    clock = Clock(["169.254.169.123:123"], max_holdover=holdover)
    clock.end_round(
        [
            Sample(
                upstream="169.254.169.123:123",
                offset=offset,
                delay=0.0004,
                dispersion=2e-6,
                taken=NOW - 1,
                leap=0,
                stratum=3,
                refid=REFID,
                root_delay=0.002,
                root_dispersion=0.001,
                upstream_refid=b"\x0a\0\0\1",
            )
        ],
        NOW - 1,
    )
    return clock


def make(
    clock: Clock | None = None,
    allow: tuple[str, ...] = (),
    rate: float = 0.0,
    burst: float = 1.0,
    deny_kod: bool = True,
) -> Responder:
    return Responder(
        clock or synced_clock(),
        Counters(*COUNTERS),
        precision=-22,
        allowlist=Allowlist([ipaddress.ip_network(n) for n in allow]),
        limiter=RateLimiter(rate, burst),
        deny_kod=deny_kod,
    )


def client_request(version: int = 4, mode: int = 3, poll: int = 6, extra: bytes = b"") -> bytes:
    header = encode(Packet(version=version, mode=mode, poll=poll, transmit=CLIENT_TX))
    return header + extra


def test_reply_fields_follow_rfc_5905() -> None:
    responder = make(synced_clock(offset=0.25))
    request = client_request(version=3, poll=7)
    assert responder.screen(request, "10.0.0.1", NOW) is Verdict.SERVE
    data = responder.reply(request, NOW, NOW + 0.0001)
    assert len(data) == HEADER_LEN
    reply = decode(data)
    assert (reply.leap, reply.version, reply.mode) == (0, 3, MODE_SERVER)  # VN echoed
    assert reply.stratum == 4  # upstream stratum + 1
    assert reply.refid == REFID  # the upstream's IPv4 address
    assert reply.poll == 7 and reply.precision == -22
    assert reply.origin == CLIENT_TX
    assert from_ntp(reply.receive, NOW) == pytest.approx(NOW + 0.25, abs=1e-6)
    assert from_ntp(reply.transmit, NOW) == pytest.approx(NOW + 0.2501, abs=1e-6)
    assert from_ntp(reply.reference, NOW) == pytest.approx(NOW - 1 + 0.25, abs=1e-6)
    assert reply.root_delay == pytest.approx(0.0024, abs=2**-16)
    # upstream dispersion + sample dispersion + 15 ppm for the one second since the update
    assert reply.root_dispersion == pytest.approx(0.001 + 2e-6 + 15e-6, abs=2**-16)
    stats = ntplib.NTPStats()  # and an independent decoder reads the same
    stats.from_data(data)
    assert ntplib.ref_id_to_text(stats.ref_id, stats.stratum) == "169.254.169.123"


def test_unsynchronised_replies_say_so() -> None:
    never = make(Clock(["x"], max_holdover=60.0))
    reply = decode(never.reply(client_request(), NOW, NOW))
    assert (reply.leap, reply.stratum, reply.refid) == (3, 16, b"INIT")
    expired = make(synced_clock(holdover=60.0))
    assert decode(expired.reply(client_request(), NOW + 58, NOW + 58)).leap == 0
    reply = decode(expired.reply(client_request(), NOW + 60, NOW + 60))
    assert (reply.leap, reply.stratum) == (3, 16)


def test_extensions_and_macs_are_not_echoed() -> None:
    responder = make()
    extension = b"\x00\x04\x00\x20" + b"E" * 28
    request = client_request(extra=extension)
    assert responder.screen(request, "10.0.0.1", NOW) is Verdict.SERVE
    assert len(responder.reply(request, NOW, NOW)) == HEADER_LEN
    signed = client_request(extra=extension + b"\x00\x00\x00\x01" + b"M" * 20)
    assert responder.screen(signed, "10.0.0.1", NOW) is Verdict.CRYPTO_NAK  # key 1 unknown
    assert responder.crypto_nak(signed, NOW, NOW)[HEADER_LEN:] == b"\0\0\0\0"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "short"),
        (client_request()[:47], "short"),
        (bytes([first_byte(0, 2, 7)]) + b"\x00\x03\x2a" + b"\0" * 4, "mode"),  # monlist
        (bytes([first_byte(0, 2, 6), 2, 0, 1]) + b"\0" * 8, "mode"),  # mode 6 READVAR
        (client_request(mode=0), "mode"),
        (client_request(mode=4), "mode"),  # a server reply must never be answered
        (client_request(mode=1), "mode"),
        (client_request(version=0), "version"),
        (client_request(version=5), "version"),
    ],
)
def test_dropped_with_reason(data: bytes, reason: str) -> None:
    responder = make()
    assert responder.screen(data, "10.0.0.1", NOW) is Verdict.DROP
    counts = responder.counters.snapshot()
    assert counts["requests"] == 1 and counts[f"dropped_{reason}"] == 1
    assert sum(v for k, v in counts.items() if k.startswith("dropped_")) == 1


def test_versions_1_to_4_are_served() -> None:
    responder = make()
    for version in (1, 2, 3, 4):
        request = client_request(version=version)
        assert responder.screen(request, "10.0.0.1", NOW) is Verdict.SERVE
        assert decode(responder.reply(request, NOW, NOW)).version == version


def test_allowlist_denies_with_an_occasional_kod_or_silence() -> None:
    responder = make(allow=("10.0.0.0/8",), deny_kod=True)
    assert responder.screen(client_request(), "10.1.2.3", NOW) is Verdict.SERVE
    verdicts = [responder.screen(client_request(), "192.0.2.7", NOW + i * 0.1) for i in range(50)]
    assert verdicts[0] is Verdict.KOD_DENY
    assert verdicts.count(Verdict.KOD_DENY) == 1  # five seconds: one kiss, then silence
    kiss = decode(responder.kiss(client_request(), Verdict.KOD_DENY, NOW, NOW))
    assert (kiss.leap, kiss.stratum, kiss.refid, kiss.origin) == (3, 0, b"DENY", CLIENT_TX)
    counts = responder.counters.snapshot()
    assert (counts["kod_deny_sent"], counts["dropped_not_allowed"]) == (1, 49)

    silent = make(allow=("10.0.0.0/8",), deny_kod=False)
    assert silent.screen(client_request(), "192.0.2.7", NOW) is Verdict.DROP
    assert silent.counters.snapshot()["dropped_not_allowed"] == 1


def test_rate_limit_answers_rate_kod_at_most_occasionally() -> None:
    responder = make(rate=1.0, burst=5)
    verdicts = [responder.screen(client_request(), "10.0.0.9", NOW + i * 0.01) for i in range(100)]
    assert verdicts[:5] == [Verdict.SERVE] * 5
    assert verdicts[5] is Verdict.KOD_RATE
    assert verdicts.count(Verdict.KOD_RATE) == 1
    assert responder.screen(client_request(), "10.0.0.10", NOW) is Verdict.SERVE  # per client
    later = [responder.screen(client_request(), "10.0.0.9", NOW + 30 + i * 0.01) for i in range(50)]
    assert later.count(Verdict.KOD_RATE) == 1  # another one after the KoD interval
    kiss = decode(responder.kiss(client_request(), Verdict.KOD_RATE, NOW, NOW))
    assert (kiss.stratum, kiss.refid, kiss.mode) == (0, b"RATE", MODE_SERVER)


@settings(max_examples=500)
@given(st.binary(max_size=120), st.sampled_from(["10.0.0.1", "192.0.2.1", "::1"]))
def test_guard_never_crashes_and_every_datagram_is_counted_once(data: bytes, ip: str) -> None:
    responder = make(allow=("10.0.0.0/8",), rate=1.0, burst=2)
    verdict = responder.screen(data, ip, NOW)
    if verdict is not Verdict.DROP:
        assert len(data) >= HEADER_LEN and data[0] & 7 == 3
        if verdict is Verdict.CRYPTO_NAK:  # no key is known: every MAC is refused
            reply = responder.crypto_nak(data, NOW, NOW)
            assert len(reply) == HEADER_LEN + 4 < len(data)
        else:
            if verdict is Verdict.SERVE:
                reply = responder.reply(data, NOW, NOW)
            else:
                reply = responder.kiss(data, verdict, NOW, NOW)
            assert len(reply) == HEADER_LEN <= len(data)  # never larger than the request
        assert reply[24:32] == data[40:48]
    counts = responder.counters.snapshot()
    outcomes = counts["replies"] + counts["kod_rate_sent"] + counts["kod_deny_sent"]
    outcomes += counts["crypto_nak_sent"]
    outcomes += sum(v for k, v in counts.items() if k.startswith("dropped_"))
    assert counts["requests"] == 1 and outcomes == 1


def test_rate_leak_keeps_answering_a_spoofed_victim() -> None:
    """chrony's ratelimit leak: over the limit, 1 in 2**leak requests is still answered."""
    draws = iter([0.1, 0.9, 0.3, 0.6] * 250)  # a stand-in for random.random: half below 1/4
    responder = Responder(
        synced_clock(),
        Counters(*COUNTERS),
        precision=-22,
        allowlist=Allowlist([]),
        limiter=RateLimiter(1.0, 1.0),
        deny_kod=False,
        leak=2,
        chance=lambda: next(draws),
    )
    verdicts = [responder.screen(client_request(), "10.0.0.9", NOW) for _ in range(1001)]
    assert verdicts[0] is Verdict.SERVE  # the burst
    assert verdicts[1:].count(Verdict.SERVE) == 250  # the draws under 0.25: one in four
    counts = responder.counters.snapshot()
    assert counts["rate_leaked"] == 250 and counts["dropped_rate"] + counts["kod_rate_sent"] == 750
    assert make(rate=1.0).screen(client_request(), "10.0.0.9", NOW) is Verdict.SERVE
