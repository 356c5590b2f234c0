"""The asyncio side of the NTP proxy: the client socket, the poller task and the health state.

The receive timestamp is read first thing in ``datagram_received`` and the transmit timestamp
immediately before the reply is packed, so the only time not accounted for in the client's
delay is the event loop's own wake-up; everything else is in the sans-IO modules.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any, cast

from bridge.guard import Allowlist, RateLimiter
from bridge.metrics import Counters
from bridge.settings import HostPort, format_address
from ntp_proxy import poller as poller_module
from ntp_proxy import relay as relay_module
from ntp_proxy import responder as responder_module
from ntp_proxy.clock import Clock, measure_precision
from ntp_proxy.poller import Poller, cancel
from ntp_proxy.relay import Relay
from ntp_proxy.responder import Responder, Verdict
from ntp_proxy.settings import NtpSettings

# Room for a burst of requests while the loop is busy (the kernel caps it at rmem_max).
RECEIVE_BUFFER = 4 * 1024 * 1024

Address = tuple[Any, ...]


class _ClientProtocol(asyncio.DatagramProtocol):
    """Answers (or relays) each client datagram as it arrives; never raises on bad input."""

    def __init__(self, service: NtpService) -> None:
        self.service = service
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's UDP transport does not subclass asyncio.DatagramTransport, so no isinstance.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        received = time.time()
        service = self.service
        responder = service.responder
        verdict = responder.screen(data, addr[0], received)
        if verdict is Verdict.DROP:
            return
        assert self.transport is not None
        if verdict is Verdict.SERVE:
            if service.relay is not None:
                service.relay.forward(data, addr)
                return
            self.transport.sendto(responder.reply(data, received, time.time()), addr)
        else:
            self.transport.sendto(responder.kiss(data, verdict, received, time.time()), addr)

    def error_received(self, exc: Exception) -> None:
        """ICMP errors about earlier replies (client gone): counted, nothing else to do."""
        self.service.counters.incr("send_errors")


class NtpService:
    """The ``ntp`` service for :func:`bridge.runner.run`."""

    name = "ntp"

    def __init__(self, settings: NtpSettings) -> None:
        self.settings = settings
        self.health: HostPort | None = settings.health
        self.counters = Counters(
            *responder_module.COUNTERS,
            *poller_module.COUNTERS,
            *(relay_module.COUNTERS if settings.mode == "relay" else ()),
            "send_errors",
            gauges=poller_module.GAUGES,
        )
        self.precision = measure_precision(time.time)
        self.clock = Clock([str(u) for u in settings.upstream], settings.max_holdover)
        self.responder = Responder(
            self.clock,
            self.counters,
            precision=self.precision,
            allowlist=Allowlist(settings.allow),
            limiter=RateLimiter(settings.rate_limit, settings.rate_burst),
            deny_kod=settings.deny_response == "kod",
        )
        self.poller = Poller(
            settings.upstream,
            self.clock,
            self.counters,
            poll=settings.poll,
            precision=self.precision,
        )
        self.relay: Relay | None = None
        if settings.mode == "relay":
            self.relay = Relay(
                settings.upstream,
                self.counters,
                timeout=settings.relay_timeout,
                max_inflight=settings.relay_max_inflight,
                select=lambda: self.clock.selected,
            )
        self._transport: asyncio.DatagramTransport | None = None
        self._poll_task: asyncio.Task[None] | None = None

    def ready(self) -> bool:
        """Healthy only while synchronised, so the NLB sends routers to a task that is."""
        return self.clock.synchronised(time.time())

    async def start(self) -> dict[str, str]:
        loop = asyncio.get_running_loop()
        listen = self.settings.listen
        family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            sock.bind((listen.host, listen.port))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        transport, _ = await loop.create_datagram_endpoint(lambda: _ClientProtocol(self), sock=sock)
        self._transport = transport
        if self.relay is not None:
            await self.relay.start(transport)
        self._poll_task = asyncio.create_task(self.poller.run())
        host, port = transport.get_extra_info("sockname")[:2]
        return {
            "listen": format_address(host, port),
            "mode": self.settings.mode,
            "upstream": ",".join(str(u) for u in self.settings.upstream),
            "precision": str(self.precision),
        }

    async def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
        await cancel(self._poll_task)
        if self.relay is not None:
            await self.relay.stop()
