"""One client/server exchange with an upstream: the request we send and the checks on its reply.

The transmit timestamp of our request is a random nonce, not the time: the server echoes it as
the origin of its reply, so an off-path attacker who cannot see the request cannot forge an
answer (RFC 5905 section 8, "bogus" test), and the local send time stays private.
"""

from __future__ import annotations

from dataclasses import dataclass

from ntp_proxy.auth import V4_MAC_FIELD, Authenticator, Check, digest_length
from ntp_proxy.keys import Key
from ntp_proxy.packet import (
    LEAP_UNSYNC,
    MODE_CLIENT,
    MODE_SERVER,
    Packet,
    PacketError,
    decode,
    encode,
    from_ntp,
)

# RFC 5905: frequency tolerance (s/s) and the largest root distance a usable source may have.
PHI = 15e-6
MAX_DISTANCE = 1.0
VERSION = 4


@dataclass(frozen=True, slots=True)
class Sample:
    """What one valid reply says about the upstream's clock relative to ours."""

    upstream: str
    offset: float  # upstream time minus local time, seconds
    delay: float  # round trip minus the upstream's processing time
    dispersion: float  # error bound from both precisions and the frequency tolerance
    taken: float  # local time the reply arrived (t4)
    leap: int
    stratum: int
    refid: bytes  # the reference id we serve: the upstream's address
    root_delay: float
    root_dispersion: float
    upstream_refid: bytes  # what the upstream itself named as its reference

    @property
    def root_distance(self) -> float:
        return (self.root_delay + self.delay) / 2 + self.root_dispersion + self.dispersion


class InvalidReply(ValueError):
    """A reply that must not move the clock; ``reason`` names the failed check.

    A kiss-o'-death carries its code (``RATE``, ``DENY``, ...), so the poller can back off.
    """

    def __init__(self, reason: str, kiss_code: bytes = b"") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kiss_code = kiss_code


def request(nonce: int, poll: int = 0, key: Key | None = None) -> bytes:
    """A version 4 client request whose transmit field carries ``nonce``, signed with ``key``."""
    data = encode(Packet(version=VERSION, mode=MODE_CLIENT, poll=poll, transmit=nonce))
    if key is None:
        return data
    digest = key.mac(data)[: digest_length(key, VERSION, V4_MAC_FIELD)]
    return data + key.key_id.to_bytes(4, "big") + digest


def sample_from_reply(
    data: bytes,
    *,
    nonce: int,
    sent: float,
    received: float,
    local_precision: int,
    upstream: str,
    refid: bytes,
    key: Key | None = None,
) -> Sample:
    """Validate a reply to ``request(nonce, key=key)`` sent at ``sent`` and read at ``received``.

    Raises :class:`InvalidReply` for anything RFC 5905 says a client must not use, including
    a reply without a valid MAC under ``key`` when one was given.
    """
    try:
        reply = decode(data)
    except PacketError:
        raise InvalidReply("short") from None
    if reply.mode != MODE_SERVER:
        raise InvalidReply("mode")
    if reply.version != VERSION:
        raise InvalidReply("version")
    if reply.origin != nonce:
        raise InvalidReply("origin")
    if key is not None and Authenticator({key.key_id: key}).check(data) is not Check.OK:
        raise InvalidReply("auth")
    if reply.stratum == 0:
        raise InvalidReply("kiss", reply.refid)
    if reply.stratum > 15:
        raise InvalidReply("stratum")
    if reply.leap == LEAP_UNSYNC:
        raise InvalidReply("unsynchronised")
    if reply.receive == 0 or reply.transmit == 0:
        raise InvalidReply("timestamps")
    t2 = from_ntp(reply.receive, sent)
    t3 = from_ntp(reply.transmit, sent)
    if t3 < t2:
        raise InvalidReply("timestamps")
    server_precision = 2.0**reply.precision
    precision = 2.0**local_precision
    delay = max((received - sent) - (t3 - t2), precision)
    sample = Sample(
        upstream=upstream,
        offset=((t2 - sent) + (t3 - received)) / 2,
        delay=delay,
        dispersion=server_precision + precision + PHI * max(received - sent, 0.0),
        taken=received,
        leap=reply.leap,
        stratum=reply.stratum,
        refid=refid,
        root_delay=reply.root_delay,
        root_dispersion=reply.root_dispersion,
        upstream_refid=reply.refid,
    )
    if sample.root_distance >= MAX_DISTANCE:
        raise InvalidReply("distance")
    return sample
