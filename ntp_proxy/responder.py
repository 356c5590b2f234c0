"""Which datagrams get an answer, and the answer itself (sans-IO; the caller passes times).

Only client requests (mode 3, versions 1-4, at least 48 bytes) are answered: with the 48-byte
header, plus a MAC under the request's key when the request carries a valid one, or a crypto-NAK
(key ID 0) when it carries a MAC that cannot be verified. No reply is larger than its request
and nothing after the header (extension fields, the request's MAC) is ever echoed. Every
datagram ends in exactly one counter: ``replies``, one ``dropped_<reason>``, one
``kod_<code>_sent`` or ``crypto_nak_sent``; their sum is ``requests``.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from enum import IntEnum

from bridge.guard import Allowlist, RateLimiter
from bridge.metrics import Counters
from ntp_proxy.auth import CRYPTO_NAK, Authenticator, Check, find_mac
from ntp_proxy.clock import Clock
from ntp_proxy.packet import (
    HEADER_LEN,
    LEAP_UNSYNC,
    MODE_CLIENT,
    MODE_SERVER,
    STRATUM_KOD,
    STRATUM_UNSYNC,
    to_ntp,
    to_short,
)

DROP_REASONS = ("short", "mode", "version", "rate", "not_allowed", "unauthenticated")
COUNTERS = (
    "requests",
    "replies",
    *(f"dropped_{reason}" for reason in DROP_REASONS),
    "kod_rate_sent",
    "kod_deny_sent",
    "crypto_nak_sent",
    # not outcomes of their own: which replies were signed, and why each crypto-NAK was sent
    "replies_authenticated",
    "auth_unknown_key",
    "auth_bad_mac",
    "rate_leaked",  # answered although over the rate limit (--rate-leak)
)

# One kiss-o'-death per client per this many seconds at most: a KoD tells a client to back off,
# but answering every excess packet would make the proxy a reflector at the attacker's rate.
KOD_INTERVAL = 10.0

_REPLY = struct.Struct("!BBBbII4sQ8sQQ")
_HEAD = struct.Struct("!BBBbII4sQ8sQ")
_STAMP = struct.Struct("!Q")
_NTP_DELTA = 2_208_988_800
_FRAC = float(1 << 32)
_MASK64 = (1 << 64) - 1


class Verdict(IntEnum):
    DROP = 0
    SERVE = 1
    KOD_RATE = 2
    KOD_DENY = 3
    SIGNED = 4  # serve, with a MAC under the request's key
    CRYPTO_NAK = 5


class Responder:
    """Screens requests (format, allowlist, rate) and builds replies from a :class:`Clock`."""

    def __init__(
        self,
        clock: Clock,
        counters: Counters,
        *,
        precision: int,
        allowlist: Allowlist,
        limiter: RateLimiter,
        deny_kod: bool,
        authenticator: Authenticator | None = None,
        require_auth: bool = False,
        leak: int = 0,
        chance: Callable[[], float] = random.random,
    ) -> None:
        """``leak``: over the rate limit, still answer 1 in 2**leak requests (chrony's
        ``ratelimit leak``), drawn by ``chance`` (uniform in [0, 1)), so a spoofer flooding
        with a victim's address cannot silence the victim; 0: answer none."""
        self.clock = clock
        self.counters = counters
        self.precision = precision
        self.allowlist = allowlist
        self.limiter = limiter
        self.deny_kod = deny_kod
        self.authenticator = authenticator or Authenticator({})
        self.require_auth = require_auth
        self.leak_rate = 0.5**leak if leak else 0.0
        self.chance = chance
        self._kod_limiter = RateLimiter(1.0 / KOD_INTERVAL, 1.0)

    def screen(self, data: bytes, ip: str, now: float) -> Verdict:
        """Decide what ``data`` from ``ip`` deserves; drops are counted here."""
        counters = self.counters
        counters.incr("requests")
        if not data:
            counters.incr("dropped_short")
            return Verdict.DROP
        first = data[0]
        if first & 7 != MODE_CLIENT:
            counters.incr("dropped_mode")
            return Verdict.DROP
        if not 1 <= (first >> 3) & 7 <= 4:
            counters.incr("dropped_version")
            return Verdict.DROP
        if len(data) < HEADER_LEN:
            counters.incr("dropped_short")
            return Verdict.DROP
        if not self.allowlist.permits(ip):
            if self.deny_kod and self._kod_limiter.allow(ip, now):
                counters.incr("kod_deny_sent")
                return Verdict.KOD_DENY
            counters.incr("dropped_not_allowed")
            return Verdict.DROP
        if not self.limiter.allow(ip, now) and not self._leaked():
            if self._kod_limiter.allow(ip, now):
                counters.incr("kod_rate_sent")
                return Verdict.KOD_RATE
            counters.incr("dropped_rate")
            return Verdict.DROP
        if len(data) > HEADER_LEN or self.require_auth:
            return self._authenticate(data)
        return Verdict.SERVE

    def _leaked(self) -> bool:
        """Over the limit, but answered anyway (counted as ``rate_leaked``)."""
        if self.leak_rate and self.chance() < self.leak_rate:
            self.counters.incr("rate_leaked")
            return True
        return False

    def _authenticate(self, data: bytes) -> Verdict:
        """Checked after the rate limit, so a flood of bad MACs costs no more than a flood."""
        check = self.authenticator.check(data)
        if check is Check.OK:
            return Verdict.SIGNED
        if check is Check.NONE:
            if self.require_auth:
                self.counters.incr("dropped_unauthenticated")
                return Verdict.DROP
            return Verdict.SERVE
        self.counters.incr("auth_unknown_key" if check is Check.UNKNOWN_KEY else "auth_bad_mac")
        self.counters.incr("crypto_nak_sent")
        return Verdict.CRYPTO_NAK

    def reply(self, request: bytes, received: float, now: float) -> bytes:
        """The answer to a screened request that arrived at local time ``received``."""
        return self.reply_head(request, received) + self.transmit_stamp(now)

    def reply_head(self, request: bytes, received: float) -> bytes:
        """The first 40 bytes of the answer: everything but the transmit timestamp.

        The caller appends :meth:`transmit_stamp` of a clock read immediately before sending,
        so the gap between the stamp and the datagram leaving is a single bytes concatenation.
        """
        self.counters.incr("replies")
        return self._head(request, received)

    def signed_reply(self, request: bytes, received: float, now: float) -> bytes:
        """The answer to a request screened as SIGNED, with a MAC under the request's key.

        Signing takes a few microseconds after the transmit timestamp is read; that time,
        measured per key at start, is added to the timestamp, as chronyd does.
        """
        mac = find_mac(request)
        assert mac is not None, "screen() said SIGNED"
        authenticator = self.authenticator
        stamp = self.transmit_stamp(now + authenticator.delay(mac.key_id))
        self.counters.incr("replies")
        self.counters.incr("replies_authenticated")
        return authenticator.sign(self._head(request, received) + stamp, mac)

    def crypto_nak(self, request: bytes, received: float, now: float) -> bytes:
        """RFC 5905 7.5: the header and a MAC of key ID 0 only; clients must not use it."""
        return self._head(request, received) + self.transmit_stamp(now) + CRYPTO_NAK

    def _head(self, request: bytes, received: float) -> bytes:
        clock = self.clock
        if received <= clock.valid_until:
            leap, stratum = clock.leap, clock.stratum
        else:
            leap, stratum = LEAP_UNSYNC, STRATUM_UNSYNC
        return _HEAD.pack(
            (leap << 6) | (request[0] & 0x38) | MODE_SERVER,
            stratum,
            request[2],
            self.precision,
            to_short(clock.root_delay),
            to_short(clock.root_dispersion(received)),
            clock.refid,
            clock.reference,
            request[40:48],
            int((received + clock.offset + _NTP_DELTA) * _FRAC) & _MASK64,
        )

    def transmit_stamp(self, now: float) -> bytes:
        return _STAMP.pack(int((now + self.clock.offset + _NTP_DELTA) * _FRAC) & _MASK64)

    def kiss(self, request: bytes, verdict: Verdict, received: float, now: float) -> bytes:
        """A kiss-o'-death (stratum 0, LI 3, code in refid): it never carries usable time."""
        code = b"RATE" if verdict is Verdict.KOD_RATE else b"DENY"
        offset = self.clock.offset
        return _REPLY.pack(
            (LEAP_UNSYNC << 6) | (request[0] & 0x38) | MODE_SERVER,
            STRATUM_KOD,
            request[2],
            self.precision,
            0,
            0,
            code,
            0,
            request[40:48],
            to_ntp(received + offset),
            to_ntp(now + offset),
        )
