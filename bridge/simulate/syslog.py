"""The router's syslog: steady chatter with bursts, over UDP or octet-counted TCP, counted as
a router would see it (UDP's only word back is a refusal)."""

from __future__ import annotations

import asyncio
import contextlib
import time

import asyncio_dgram

from bridge.simulate.channel import Channel, Tally
from bridge.simulate.messages import Messages
from bridge.simulate.settings import SimulatorSettings


class SyslogChannel(Channel):
    """Sends what is due each tick to the syslog receiver."""

    def __init__(self, settings: SimulatorSettings, tally: Tally, stop: asyncio.Event) -> None:
        super().__init__(settings, tally, stop)
        self.messages = Messages(settings.name, settings.seed)
        # a connected UDP socket: an ICMP port-unreachable comes back on the next send
        self._udp: asyncio_dgram.DatagramClient | None = None
        self._tcp: asyncio.StreamWriter | None = None
        self._last_error: str | None = None

    async def _connect(self) -> None:
        target = self.settings.syslog
        if self.settings.transport == "udp":
            self._udp = await asyncio_dgram.connect((target.host, target.port))
        else:
            _, self._tcp = await asyncio.wait_for(
                asyncio.open_connection(target.host, target.port), self.settings.timeout
            )

    def _error(self, what: str, exc: BaseException) -> None:
        """Log a failure once per kind, not per message: a dead target must not flood stdout."""
        text = f"{what}: {exc!r}"
        if text != self._last_error:
            self.log.warning("simulate.syslog_error", error=text)
            self._last_error = text

    async def send(self, lines: list[bytes]) -> None:
        """Send lines; what a missing or broken connection kept from going out is an error."""
        sent = 0
        try:
            if self._udp is None and self._tcp is None:
                await self._connect()
            if self._udp is not None:
                for line in lines:
                    await self._send_datagram(self._udp, line)
                    sent += 1
            elif self._tcp is not None:
                # RFC 6587 octet counting: a frame survives any byte in the message
                self._tcp.write(b"".join(b"%d %s" % (len(line), line) for line in lines))
                await self._tcp.drain()
                sent = len(lines)
        except (OSError, TimeoutError, asyncio_dgram.TransportClosed) as exc:
            self.tally.syslog_errors += len(lines) - sent
            self._error("send", exc)
            await self._close()
        self.tally.syslog_sent += sent

    async def _send_datagram(self, udp: asyncio_dgram.DatagramClient, line: bytes) -> None:
        """A refusal (ICMP port unreachable) of an earlier datagram surfaces on a later send:
        count it against that one, and still send this one."""
        while True:
            try:
                await udp.send(line)
                return
            except ConnectionRefusedError as exc:
                self.tally.syslog_errors += 1
                self._error("receiver", exc)

    async def _close(self) -> None:
        if self._udp is not None:
            # a refusal of the last datagrams arrives a moment later: count it before closing
            await asyncio.sleep(0.05)
            while True:
                try:
                    self._udp.exception  # noqa: B018 - reading it raises the next queued error
                    break
                except ConnectionRefusedError as exc:
                    self.tally.syslog_errors += 1
                    self._error("receiver", exc)
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            with contextlib.suppress(OSError):
                await self._tcp.wait_closed()
            self._tcp = None

    async def loop(self) -> None:
        """Steady rate with bursts; sends what is due every tick, so the rate holds on average."""
        s = self.settings
        start = time.monotonic()
        steady_due = 0
        next_burst = start + s.burst_every if s.burst_every > 0 else float("inf")
        while not self.stop.is_set():
            mono = time.monotonic()
            now = time.time()
            batch: list[bytes] = []
            target = int((mono - start) * s.rate)
            while steady_due < target and len(batch) < 10_000:
                batch.append(self.messages.steady(now))
                steady_due += 1
            steady_due = max(steady_due, target)  # far behind (a stall): skip, do not flood
            if mono >= next_burst:
                batch += self.messages.burst(now, s.burst_size)
                self.tally.bursts += 1
                next_burst += s.burst_every
                self.log.info("simulate.burst", size=s.burst_size)
            if batch:
                await self.send(batch)
            await self._sleep(0.02)
        await self._close()
