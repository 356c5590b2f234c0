"""Symmetric-key authentication of NTP packets (RFC 5905 section 7.3 and appendix A.2, RFC 8573).

A MAC is the last thing in a packet: a 4-byte key ID and a digest of everything before it. In
NTPv4 it follows any extension fields (RFC 7822), so the parser walks well-formed extension
fields while more than a 24-byte MAC remains, as chrony does; what is left is the MAC if its
length fits one (20-68 bytes, a multiple of 4). A MAC with key ID 0 and no digest is a
crypto-NAK: the server's answer to a MAC it cannot verify (RFC 5905 section 7.5).
Comparison is constant-time; the key file is never consulted here, only the parsed keys.
"""

from __future__ import annotations

import hmac
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum

from ntp_proxy.keys import Key
from ntp_proxy.packet import HEADER_LEN

CRYPTO_NAK = b"\0\0\0\0"
# RFC 7822: an NTPv4 MAC is at most 24 bytes (key ID + 20), so longer digests are truncated to
# 20 bytes in NTPv4 (chrony does the same); NTPv3 packets carry up to 64 digest bytes.
V4_MAC_FIELD = 24
MIN_MAC_FIELD = 20
MAX_MAC_FIELD = 68
MIN_EXTENSION = 16


@dataclass(frozen=True, slots=True)
class Mac:
    """The MAC of a packet: it covers ``data[:start]``."""

    key_id: int
    start: int
    digest: bytes


class Check(IntEnum):
    NONE = 0  # no MAC: an unauthenticated request
    OK = 1
    UNKNOWN_KEY = 2
    BAD_MAC = 3


def find_mac(data: bytes) -> Mac | None:
    """The MAC at the end of ``data`` (at least a header long), or None if it carries none.

    Bytes after the header that are neither extension fields nor a MAC are no MAC either:
    such a request is unauthenticated, never mistaken for an authenticated one.
    """
    end = len(data)
    position = HEADER_LEN
    if (data[0] >> 3) & 7 == 4:
        while end - position > V4_MAC_FIELD:
            length = int.from_bytes(data[position + 2 : position + 4], "big")
            if length < MIN_EXTENSION or length % 4 or position + length > end:
                break
            position += length
    rest = end - position
    if rest < MIN_MAC_FIELD or rest > MAX_MAC_FIELD or rest % 4:
        return None
    return Mac(int.from_bytes(data[position : position + 4], "big"), position, data[position + 4 :])


def digest_length(key: Key, version: int, field_length: int) -> int:
    """Digest bytes a MAC under ``key`` carries in a packet of ``version`` (chrony's rule)."""
    limit = V4_MAC_FIELD - 4 if version == 4 and field_length <= V4_MAC_FIELD else 64
    return min(key.length, limit)


class Authenticator:
    """Checks request MACs and signs replies with the keys of one key file."""

    def __init__(self, keys: Mapping[int, Key], mac_delays: Mapping[int, float] | None = None):
        self.keys = dict(keys)
        self.mac_delays = dict(mac_delays or {})

    def check(self, data: bytes) -> Check:
        """Whether ``data`` (a request at least a header long) carries a valid MAC."""
        mac = find_mac(data)
        if mac is None:
            return Check.NONE
        key = self.keys.get(mac.key_id)
        if key is None:
            return Check.UNKNOWN_KEY
        wanted = digest_length(key, (data[0] >> 3) & 7, len(data) - mac.start)
        if len(mac.digest) != wanted:
            return Check.BAD_MAC
        if not hmac.compare_digest(key.mac(data[: mac.start])[:wanted], mac.digest):
            return Check.BAD_MAC
        return Check.OK

    def sign(self, packet: bytes, request_mac: Mac) -> bytes:
        """``packet`` with a MAC under the request's key, its digest as long as the request's."""
        key = self.keys[request_mac.key_id]
        digest = key.mac(packet)[: len(request_mac.digest)]
        return packet + request_mac.key_id.to_bytes(4, "big") + digest

    def delay(self, key_id: int) -> float:
        """How long signing takes: added to the transmit timestamp, as chronyd does."""
        return self.mac_delays.get(key_id, 0.0)


def measure_mac_delays(keys: Mapping[int, Key], read: Callable[[], float]) -> dict[int, float]:
    """The median time each key takes to sign a reply-sized packet (``read`` is a clock)."""
    packet = bytes(HEADER_LEN)
    delays: dict[int, float] = {}
    for key_id, key in keys.items():
        times = []
        for _ in range(25):
            start = read()
            key.mac(packet)
            times.append(read() - start)
        delays[key_id] = statistics.median(times)
    return delays
