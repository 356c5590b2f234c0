"""Syslog timestamps to ISO 8601 UTC strings, without strptime.

Every dialect ends up here so that all records carry one timestamp shape:
``2026-11-30T16:35:23Z``, ``2026-11-30T16:35:23.123Z`` or ``...23.123456Z`` (the fraction
keeps the digits the sender gave, cut to microseconds). Numeric offsets are folded into UTC;
a timestamp without a zone is taken as UTC. BSD and Cisco timestamps usually lack the year:
it is inferred as the year that puts the timestamp nearest to ``now`` (the arrival time), so a
"Dec 31 23:59:59" that arrives on 1 January lands in the old year and a "Jan  1 00:00:01"
that arrives on 31 December (a fast router clock) lands in the new one.

Hand-written integer arithmetic instead of ``datetime.strptime``: strptime costs ~8 us per
call, which alone would blow the parser's budget of a few microseconds per message.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta

MONTHS: dict[str, int] = {
    "Jan": 1,
    "Feb": 2,
    "Mar": 3,
    "Apr": 4,
    "May": 5,
    "Jun": 6,
    "Jul": 7,
    "Aug": 8,
    "Sep": 9,
    "Oct": 10,
    "Nov": 11,
    "Dec": 12,
}

# Zone abbreviations that routers print with `clock timezone NAME` / `show-timezone`, in
# minutes east of UTC. Abbreviations are ambiguous (IST, CST); each maps to its most common
# reading in router configs. A name not listed here is taken as UTC (documented in parse.py).
TZ_OFFSETS: dict[str, int] = {
    "UTC": 0,
    "GMT": 0,
    "UT": 0,
    "Z": 0,
    "WET": 0,
    "WEST": 60,
    "BST": 60,
    "CET": 60,
    "MET": 60,
    "CEST": 120,
    "MEST": 120,
    "EET": 120,
    "EEST": 180,
    "MSK": 180,
    "IST": 330,
    "SGT": 480,
    "HKT": 480,
    "AWST": 480,
    "JST": 540,
    "KST": 540,
    "ACST": 570,
    "AEST": 600,
    "AEDT": 660,
    "NZST": 720,
    "NZDT": 780,
    "AST": -240,
    "ADT": -180,
    "EST": -300,
    "EDT": -240,
    "CST": -360,
    "CDT": -300,
    "MST": -420,
    "MDT": -360,
    "PST": -480,
    "PDT": -420,
    "AKST": -540,
    "AKDT": -480,
    "HST": -600,
}

_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_HALF_YEAR = 182 * 86400

# RFC 3339 (RFC 5424's TIMESTAMP) with the usual leniencies: lower-case t/z, offsets
# without a colon, no zone at all (taken as UTC), any number of fraction digits.
RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?([Zz]|[+-]\d\d:?\d\d)?",
    re.ASCII,
)


def _valid_date(y: int, mo: int, d: int) -> bool:
    if not 1 <= mo <= 12 or d < 1:
        return False
    if d <= _DAYS_IN_MONTH[mo]:
        return True
    return mo == 2 and d == 29 and y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def _epoch(y: int, mo: int, d: int, h: int, mi: int, s: int) -> int:
    """Seconds since 1970 for a proleptic Gregorian UTC date (days_from_civil)."""
    y2 = y - 1 if mo <= 2 else y
    era = y2 // 400
    yoe = y2 - era * 400
    doy = (153 * (mo - 3 if mo > 2 else mo + 9) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return (era * 146097 + doe - 719468) * 86400 + h * 3600 + mi * 60 + s


def offset_minutes(zone: str | None) -> int:
    """Minutes east of UTC for 'Z', '+09:00', '-0500' or a known abbreviation; else 0."""
    if not zone:
        return 0
    sign = zone[0]
    if sign == "+" or sign == "-":
        digits = zone[1:].replace(":", "")
        if len(digits) != 4 or not digits.isdigit():
            return 0
        minutes = int(digits[:2]) * 60 + int(digits[2:])
        return -minutes if sign == "-" else minutes
    return TZ_OFFSETS.get(zone.upper(), 0)


def _base(y: int, mo: int, d: int, h: int, mi: int, s: int, offset: int) -> str | None:
    """'YYYY-MM-DDTHH:MM:SS' in UTC for a wall time `offset` minutes east, or None if unreal."""
    if not _valid_date(y, mo, d) or h > 23 or mi > 59 or s > 59 or y < 1:
        return None
    if offset:
        try:
            dt = datetime(y, mo, d, h, mi, s) - timedelta(minutes=offset)
        except OverflowError:
            return None
        y, mo, d, h, mi = dt.year, dt.month, dt.day, dt.hour, dt.minute
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}"


def _finish(base: str | None, frac: str | None) -> str | None:
    if base is None:
        return None
    return f"{base}.{frac[:6]}Z" if frac else base + "Z"


def utc_from_fields(
    y: int, mo: int, d: int, h: int, mi: int, s: int, frac: str | None, offset: int
) -> str | None:
    """Format a wall-clock time with `offset` minutes east of UTC as ISO 8601 UTC.

    None when the fields do not form a real instant (month 13, Feb 30, hour 24, a leap
    second, a year pushed outside 1..9999 by the offset).
    """
    return _finish(_base(y, mo, d, h, mi, s, offset), frac)


# Messages arrive in bursts with the same second, so the costly part (validation, offset
# arithmetic, year inference, formatting) is cached per whole-second stamp; the fraction is
# appended afterwards. The caches are cleared when full, which bounds memory under any input.
_CACHE_MAX = 4096
_rfc3339_cache: dict[str, str | None] = {}
_yearless_cache: dict[tuple[str, str | None, str | None], str | None] = {}
# The inferred year depends on `now` only near half a year away: the answers cached hold for
# the hour of `now` in which they were found, [start, end); a `now` outside starts over.
_yearless_hour: list[float] = [0.0, 0.0]


def rfc3339(token: str) -> str | None:
    """An RFC 3339 timestamp token as ISO 8601 UTC, or None if it is not one."""
    m = RFC3339.fullmatch(token)
    if m is None:
        return None
    _, _, _, _, _, _, frac, zone = m.groups()
    return rfc3339_parts(token[:19], frac, zone)


def rfc3339_parts(second: str, frac: str | None, zone: str | None) -> str | None:
    """An RFC 3339 stamp already matched: 'YYYY-MM-DDTHH:MM:SS', fraction digits, zone."""
    key = second + zone if zone else second
    try:
        base = _rfc3339_cache[key]
    except KeyError:
        base = _base(
            int(second[:4]),
            int(second[5:7]),
            int(second[8:10]),
            int(second[11:13]),
            int(second[14:16]),
            int(second[17:19]),
            offset_minutes(zone),
        )
        if len(_rfc3339_cache) >= _CACHE_MAX:
            _rfc3339_cache.clear()
        _rfc3339_cache[key] = base
    if base is None:
        return None
    return f"{base}.{frac[:6]}Z" if frac else base + "Z"


_year_cache: list[float] = [0.0, 0.0, 1970.0]  # [start, end, year] of the year holding `now`


def _year_of(now: float) -> int:
    cache = _year_cache
    if cache[0] <= now < cache[1]:
        return int(cache[2])
    year = time.gmtime(now).tm_year
    cache[0] = float(_epoch(year, 1, 1, 0, 0, 0))
    cache[1] = float(_epoch(year + 1, 1, 1, 0, 0, 0))
    cache[2] = float(year)
    return year


def nearest_year(mo: int, d: int, h: int, mi: int, s: int, offset: int, now: float) -> int | None:
    """The year that puts this yearless UTC-offset wall time nearest to `now`."""
    try:
        year = _year_of(now)
    except (OverflowError, OSError, ValueError):
        return None
    shift = offset * 60
    if _valid_date(year, mo, d):
        delta = _epoch(year, mo, d, h, mi, s) - shift - now
        if -_HALF_YEAR < delta < _HALF_YEAR:
            return year  # any other year is at least half a year further away
    best: int | None = None
    best_distance = 0.0
    for candidate in (year, year - 1, year + 1):
        if not _valid_date(candidate, mo, d):
            continue
        distance = abs(_epoch(candidate, mo, d, h, mi, s) - shift - now)
        if best is None or distance < best_distance:
            best, best_distance = candidate, distance
    return best


def yearless(
    when: str, year: str | None, zone: str | None, frac: str | None, now: float
) -> str | None:
    """A BSD/Cisco timestamp as ISO UTC. ``when`` is its text up to the second as the parsers
    matched it ('Nov  3 16:35:23', '2018 Apr 20 13:15:07', 'Nov 30 2026 16:35:23'); ``year``
    is one written apart from it (after the time), ``zone`` a zone name, ``frac`` the
    fraction's digits."""
    hour = _yearless_hour
    if not hour[0] <= now < hour[1]:
        if not -1e15 < now < 1e15:  # inf, nan or beyond any calendar: nothing to cache
            return _finish(_yearless_base(when, year, zone, now), frac)
        _yearless_cache.clear()
        hour[0] = now - now % 3600
        hour[1] = hour[0] + 3600
    key = (when, year, zone)
    try:
        base = _yearless_cache[key]
    except KeyError:
        base = _yearless_base(when, year, zone, now)
        if len(_yearless_cache) >= _CACHE_MAX:
            _yearless_cache.clear()
        _yearless_cache[key] = base
    if base is None:
        return None
    return f"{base}.{frac[:6]}Z" if frac else base + "Z"


def _yearless_base(when: str, year: str | None, zone: str | None, now: float) -> str | None:
    words = when.split()  # [YYYY] Mmm dd [YYYY] hh:mm:ss, as the parsers' patterns allow
    if words[0].isdigit():
        year, month, day = words[0], words[1], words[2]
    else:
        month, day = words[0], words[1]
        if len(words) == 4:
            year = words[2]
    mo = MONTHS.get(month) or MONTHS.get(month.capitalize())  # 'NOV', 'nov'
    if mo is None:
        return None
    h, mi, s = words[-1].split(":")
    offset = offset_minutes(zone)
    d, hh, mm, ss = int(day), int(h), int(mi), int(s)
    y = int(year) if year is not None else nearest_year(mo, d, hh, mm, ss, offset, now)
    return None if y is None else _base(y, mo, d, hh, mm, ss, offset)
