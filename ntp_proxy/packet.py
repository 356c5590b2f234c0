"""The 48-byte NTP header (RFC 5905 section 7.3): bytes in, fields out, and back.

Timestamps stay raw 64-bit integers in the packet so that an origin timestamp is echoed and
compared bit for bit; conversion to Unix seconds is explicit and takes a pivot, so era 1 (from
February 2036) decodes correctly while the wire format itself carries no era number.
Extension fields and MACs after the header are ignored: this codec never reads or echoes them.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

HEADER_LEN = 48

# Seconds from the NTP prime epoch (1900-01-01) to the Unix epoch (1970-01-01).
NTP_UNIX_DELTA = 2_208_988_800
ERA_SECONDS = 1 << 32
_FRAC = float(1 << 32)
_MASK64 = (1 << 64) - 1

MODE_SYMMETRIC_ACTIVE = 1
MODE_CLIENT = 3
MODE_SERVER = 4
MODE_CONTROL = 6
MODE_PRIVATE = 7

LEAP_NONE = 0
LEAP_ADD = 1
LEAP_DEL = 2
LEAP_UNSYNC = 3

STRATUM_KOD = 0
STRATUM_UNSYNC = 16

# Unsigned 16.16 fixed point, the "short format" of root delay and root dispersion.
SHORT_MAX = 0xFFFF_FFFF / 65536.0

_HEADER = struct.Struct("!BBbbII4sQQQQ")


class PacketError(ValueError):
    """Bytes that cannot be an NTP header; ``reason`` is a counter suffix."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Packet:
    """One NTP header; timestamps are raw NTP 64-bit values, intervals are seconds."""

    leap: int = LEAP_NONE
    version: int = 4
    mode: int = MODE_CLIENT
    stratum: int = 0
    poll: int = 0
    precision: int = 0
    root_delay: float = 0.0
    root_dispersion: float = 0.0
    refid: bytes = b"\0\0\0\0"
    reference: int = 0
    origin: int = 0
    receive: int = 0
    transmit: int = 0


def to_ntp(unix: float) -> int:
    """Unix seconds -> NTP 64-bit timestamp; the era number is dropped, as on the wire."""
    return int((unix + NTP_UNIX_DELTA) * _FRAC) & _MASK64


def from_ntp(ts: int, pivot: float) -> float:
    """NTP 64-bit timestamp -> Unix seconds in the era that puts it nearest ``pivot``.

    The pivot is the local clock's idea of now (any reading within 68 years is enough), which
    is how RFC 5905 expects era ambiguity to be resolved.
    """
    seconds = ts / _FRAC
    pivot_ntp = pivot + NTP_UNIX_DELTA
    era = round((pivot_ntp - seconds) / ERA_SECONDS)
    return seconds + era * ERA_SECONDS - NTP_UNIX_DELTA


def to_short(seconds: float) -> int:
    """Seconds -> unsigned 16.16; negative values are clamped to 0, large ones saturate."""
    if seconds <= 0.0:
        return 0
    if seconds >= SHORT_MAX:
        return 0xFFFF_FFFF
    return int(seconds * 65536.0)


def from_short(value: int) -> float:
    return value / 65536.0


def decode(data: bytes) -> Packet:
    """Parse the first 48 bytes; anything after them (extensions, MAC) is ignored."""
    if len(data) < HEADER_LEN:
        raise PacketError("short")
    (first, stratum, poll, precision, delay, dispersion, refid, ref, org, rec, xmt) = (
        _HEADER.unpack_from(data)
    )
    return Packet(
        leap=first >> 6,
        version=(first >> 3) & 7,
        mode=first & 7,
        stratum=stratum,
        poll=poll,
        precision=precision,
        root_delay=from_short(delay),
        root_dispersion=from_short(dispersion),
        refid=refid,
        reference=ref,
        origin=org,
        receive=rec,
        transmit=xmt,
    )


def encode(packet: Packet) -> bytes:
    """Exactly 48 bytes; out-of-range header fields raise ``ValueError`` (a caller's bug)."""
    if not (0 <= packet.leap <= 3 and 0 <= packet.version <= 7 and 0 <= packet.mode <= 7):
        raise ValueError("leap, version or mode out of range")
    if len(packet.refid) != 4:
        raise ValueError("refid must be 4 bytes")
    try:
        return _HEADER.pack(
            (packet.leap << 6) | (packet.version << 3) | packet.mode,
            packet.stratum,
            packet.poll,
            packet.precision,
            to_short(packet.root_delay),
            to_short(packet.root_dispersion),
            packet.refid,
            packet.reference,
            packet.origin,
            packet.receive,
            packet.transmit,
        )
    except struct.error as exc:
        raise ValueError(str(exc)) from None


def first_byte(leap: int, version: int, mode: int) -> int:
    return (leap << 6) | (version << 3) | mode


def refid_text(refid: bytes, stratum: int) -> str:
    """As ntpq shows a refid: ASCII codes for stratum 0 (kiss codes), 1 (``GPS``) and 16
    (``INIT``, unsynchronised), else a dotted quad (the upstream's IPv4 address)."""
    code = refid.rstrip(b"\0")
    if (stratum <= 1 or stratum == STRATUM_UNSYNC) and code and all(0x20 < b < 0x7F for b in code):
        return code.decode("ascii")
    return str(ipaddress.IPv4Address(refid))
