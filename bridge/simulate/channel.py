"""What the simulated router's channels (syslog, NTP, uploads) share: its settings, its own
counts and the stop every loop watches."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from bridge.logging import get_logger
from bridge.simulate.settings import SimulatorSettings


@dataclass
class Tally:
    """The router's own counts, reported at the end and in progress lines."""

    syslog_sent: int = 0
    syslog_errors: int = 0
    bursts: int = 0
    ntp_ok: int = 0
    ntp_failed: int = 0
    uploads_ok: int = 0
    uploads_failed: int = 0

    def worked(self, settings: SimulatorSettings) -> bool:
        """True if at least one enabled channel got something through.

        Syslog over UDP is never acknowledged; a refusal (ICMP port unreachable) is the only
        word back, and it comes for an earlier datagram than the one whose send reports it.
        So syslog counts as working only if something was sent and nothing was refused.
        """
        syslog = settings.rate > 0 or settings.burst_every > 0
        return (
            (syslog and self.syslog_sent > 0 and self.syslog_errors == 0)
            or self.ntp_ok > 0
            or self.uploads_ok > 0
        )


class Channel:
    """One thing a router does on the wire, in a loop until ``stop`` is set."""

    def __init__(self, settings: SimulatorSettings, tally: Tally, stop: asyncio.Event) -> None:
        self.settings = settings
        self.tally = tally
        self.stop = stop
        self.log = get_logger(router=settings.name)

    async def _sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less if the run stops meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)
