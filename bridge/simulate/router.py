"""The simulated router: its channels run side by side until ``--duration`` is up or a signal
comes, then its own counts (``simulate.summary``) say whether anything got through."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import time
from collections.abc import Callable, Coroutine
from typing import Any

from bridge.logging import get_logger
from bridge.settings import load_settings
from bridge.simulate.channel import Channel, Tally
from bridge.simulate.ntp import NtpChannel
from bridge.simulate.settings import PROG, SimulatorSettings
from bridge.simulate.syslog import SyslogChannel
from bridge.simulate.upload import UploadChannel


class Router(Channel):
    """Runs the enabled channels until the duration is up or a stop signal arrives."""

    def __init__(self, settings: SimulatorSettings) -> None:
        super().__init__(settings, Tally(), asyncio.Event())

    async def _progress(self) -> None:
        while not self.stop.is_set():
            await self._sleep(10.0)
            if self.stop.is_set():
                return
            self.log.info("simulate.progress", **dataclasses.asdict(self.tally))

    async def run(self) -> Tally:
        s = self.settings
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop.set)
        jobs: list[Callable[[], Coroutine[Any, Any, None]]] = [self._progress]
        if s.rate > 0 or s.burst_every > 0:
            jobs.append(SyslogChannel(s, self.tally, self.stop).loop)
        if s.ntp_every > 0:
            jobs.append(NtpChannel(s, self.tally, self.stop).loop)
        if s.upload_every > 0:
            jobs.append(UploadChannel(s, self.tally, self.stop).loop)
        self.log.info(
            "simulate.started",
            syslog=f"{s.transport}://{s.syslog}",
            ntp=str(s.ntp),
            config_url=s.config_url.replace("{name}", s.name),
            rate=s.rate,
            duration=s.duration,
        )
        tasks = [asyncio.create_task(job()) for job in jobs]
        if s.duration > 0:
            await self._sleep(s.duration)
            self.stop.set()
        # every loop notices the stop within a tick or one timeout
        await asyncio.wait(tasks, timeout=s.timeout + 2.0)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return self.tally


def main(argv: list[str]) -> int:
    settings = load_settings(SimulatorSettings, argv, prog=PROG)
    started = time.monotonic()
    tally = asyncio.run(Router(settings).run())
    worked = tally.worked(settings)
    get_logger(router=settings.name).info(
        "simulate.summary",
        **dataclasses.asdict(tally),
        seconds=round(time.monotonic() - started, 3),
        worked=worked,
    )
    return 0 if worked else 1
