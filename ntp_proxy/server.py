"""The asyncio side of the NTP proxy: the client socket, the poller task and the health state.

The client socket is read directly (``add_reader`` and ``recvmsg``), up to a batch of datagrams
per wake-up, because the receive timestamp must be the kernel's (:mod:`ntp_proxy.stamped`); the
transmit timestamp is read immediately before the reply is packed and sent. Everything else is
in the sans-IO modules.
"""

from __future__ import annotations

import asyncio
import socket
import time

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
from ntp_proxy.stamped import Address, recv_stamped, stamped_socket

# Room for a burst of requests while the loop is busy (the kernel caps it at rmem_max).
RECEIVE_BUFFER = 4 * 1024 * 1024
SEND_BUFFER = 1024 * 1024
# Datagrams handled per wake-up before the loop gets a turn (timers, health checks, polls).
BATCH = 256


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
            "receive_errors",
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
            burst=settings.poll_burst,
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
        self._sock: socket.socket | None = None
        self._poll_task: asyncio.Task[None] | None = None

    def ready(self) -> bool:
        """Healthy only while synchronised, so the NLB sends routers to a task that is."""
        return self.clock.synchronised(time.time())

    async def start(self) -> dict[str, str]:
        listen = self.settings.listen
        sock = stamped_socket(socket.AF_INET6 if ":" in listen.host else socket.AF_INET)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
            sock.bind((listen.host, listen.port))
        except OSError:
            sock.close()
            raise
        self._sock = sock
        if self.relay is not None:
            await self.relay.start(self.send)
        asyncio.get_running_loop().add_reader(sock.fileno(), self._readable)
        self._poll_task = asyncio.create_task(self.poller.run())
        host, port = sock.getsockname()[:2]
        return {
            "listen": format_address(host, port),
            "mode": self.settings.mode,
            "upstream": ",".join(str(u) for u in self.settings.upstream),
            "precision": str(self.precision),
        }

    def _readable(self) -> None:
        """Answer (or relay) what has arrived; bad input is counted, never raised."""
        sock = self._sock
        assert sock is not None
        responder = self.responder
        screen, stamp, relay = responder.screen, responder.transmit_stamp, self.relay
        clock = time.time
        for _ in range(BATCH):
            try:
                data, addr, received = recv_stamped(sock)
            except BlockingIOError:
                return
            except OSError:
                self.counters.incr("receive_errors")
                return
            verdict = screen(data, addr[0], received)
            if verdict is Verdict.DROP:
                continue
            if verdict is Verdict.SERVE:
                if relay is not None:
                    relay.forward(data, addr)
                    continue
                head = responder.reply_head(data, received)
                reply = head + stamp(clock())
            else:
                reply = responder.kiss(data, verdict, received, clock())
            try:
                sock.sendto(reply, addr)
            except OSError:  # send buffer full or the client's address unusable
                self.counters.incr("send_errors")

    def send(self, data: bytes, addr: Address) -> None:
        """Send to a client from the listening socket (the relay's replies)."""
        if self._sock is None:
            return
        try:
            self._sock.sendto(data, addr)
        except OSError:
            self.counters.incr("send_errors")

    async def stop(self) -> None:
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        await cancel(self._poll_task)
        if self.relay is not None:
            await self.relay.stop()
