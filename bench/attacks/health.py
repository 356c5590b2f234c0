"""``/healthz`` probed every 100 ms while an attack runs: does the daemon keep answering?"""

from __future__ import annotations

import asyncio
import time

import aiohttp


class HealthProbe:
    """GET /healthz every 100 ms while an attack runs; the slowest answer and the failures."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.slowest = 0.0
        self.failures = 0
        self.answers = 0
        self._asked_at: float | None = None
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                began = self._asked_at = time.monotonic()
                try:
                    async with session.get(self.url) as response:
                        await response.read()
                        ok = response.status == 200
                except (aiohttp.ClientError, TimeoutError):
                    ok = False
                self._asked_at = None
                self.slowest = max(self.slowest, time.monotonic() - began)
                self.answers += ok
                self.failures += not ok
                await asyncio.sleep(0.1)

    def __enter__(self) -> HealthProbe:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        if self._asked_at is not None:  # still waiting for an answer when the attack ended
            self.slowest = max(self.slowest, time.monotonic() - self._asked_at)

    def describe(self) -> str:
        return (
            f"/healthz: {self.answers} answered, {self.failures} failed, "
            f"slowest {self.slowest * 1000:.0f} ms"
        )
