"""The router's NTP client: a query now and then with ntplib, checked as a router would."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import ntplib

from bridge.simulate.channel import Channel

# NTP header values a client must refuse (RFC 5905): leap 3 = server clock not synchronised.
_LEAP_UNSYNCHRONISED = 3
_MODE_SERVER = 4


class NtpChannel(Channel):
    """Asks the NTP server every ``--ntp-every`` and counts good and bad answers."""

    def _query(self) -> dict[str, Any]:
        """One query with ntplib (an independent client), checked as a router would."""
        target = self.settings.ntp
        before = time.time()
        stats = ntplib.NTPClient().request(
            target.host, version=4, port=target.port, timeout=self.settings.timeout
        )
        after = time.time()
        result = {
            "stratum": stats.stratum,
            "leap": stats.leap,
            "offset": round(stats.offset, 6),
            "delay": round(stats.delay, 6),
        }
        problems = []
        if stats.mode != _MODE_SERVER:
            problems.append(f"mode {stats.mode}")
        if stats.leap == _LEAP_UNSYNCHRONISED:
            problems.append("server unsynchronised (leap 3)")
        if not 1 <= stats.stratum <= 15:
            problems.append(f"stratum {stats.stratum}")
        if not before - 0.001 <= stats.orig_time <= after + 0.001:
            problems.append("origin timestamp does not echo the request")
        if abs(stats.offset) > self.settings.max_offset:
            problems.append(f"offset {stats.offset:.3f}s")
        if problems:
            result["problem"] = "; ".join(problems)
        return result

    async def loop(self) -> None:
        while not self.stop.is_set():
            try:
                result = await asyncio.to_thread(self._query)
            except (OSError, ntplib.NTPException) as exc:
                result = {"problem": str(exc) or repr(exc)}
            ok = "problem" not in result
            if ok:
                self.tally.ntp_ok += 1
            else:
                self.tally.ntp_failed += 1
            (self.log.info if ok else self.log.warning)("simulate.ntp", ok=ok, **result)
            await self._sleep(self.settings.ntp_every)
