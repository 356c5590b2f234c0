"""The asyncio side of the NTP proxy: the client socket, the poller task and the health state.

The client socket is read directly (``add_reader`` and ``recvmsg``), up to a batch of datagrams
per wake-up, because the receive timestamp must be the kernel's (:mod:`ntp_proxy.stamped`); the
transmit timestamp is read immediately before the reply is packed and sent. Everything else is
in the sans-IO modules.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import socket
import time
from pathlib import Path

from bridge.evidence import evidence_lines, router_emf_lines
from bridge.guard import Allowlist, RateLimiter, RouterNames
from bridge.metrics import Counters
from bridge.output import envelope, fit
from bridge.settings import HostPort, fail, format_address
from bridge.tasks import cancel
from ntp_proxy import poller as poller_module
from ntp_proxy import relay as relay_module
from ntp_proxy import responder as responder_module
from ntp_proxy.auth import Authenticator, find_mac, measure_mac_delays
from ntp_proxy.clients import ROUTER_UNITS, ClientTable, router_metrics
from ntp_proxy.clock import Clock, TransmitDelay, measure_precision
from ntp_proxy.ecs import ECS_METADATA, MetadataSource, task_metadata_url
from ntp_proxy.keys import Key, KeyFileError, keys_from_text, load_keys
from ntp_proxy.packet import STRATUM_UNSYNC
from ntp_proxy.poller import MAX_TIMEOUT, Poller
from ntp_proxy.relay import Relay
from ntp_proxy.responder import Responder, Verdict
from ntp_proxy.settings import NtpSettings
from ntp_proxy.stamped import (
    Address,
    count_drops,
    enable_tx_stamps,
    read_tx_stamps,
    recv_stamped,
    stamp_sends,
    stamped_socket,
)

# Room for a burst of requests while the loop is busy (the kernel caps it at rmem_max).
RECEIVE_BUFFER = 4 * 1024 * 1024
SEND_BUFFER = 1024 * 1024
# Datagrams handled per wake-up before the loop gets a turn (timers, health checks, polls).
BATCH = 256
# Every PROBE_INTERVAL seconds, PROBE_RUN datagrams measure the send path (see _calibrate).
PROBE_INTERVAL = 1.0
PROBE_RUN = 4


def read_keys(settings: NtpSettings, prog: str) -> dict[int, Key]:
    """The keys of ``--keys`` or ``--keys-text``, checked with the options that depend on them
    (exit 2 if unusable)."""
    source = "--keys" if settings.keys else "--keys-text"
    if settings.keys and settings.keys_text:
        fail(prog, "--keys and --keys-text (EDGE_BRIDGE_KEYS_TEXT) both given: keep one")
    if not (settings.keys or settings.keys_text):
        if settings.require_auth or settings.upstream_key:
            option = "--require-auth" if settings.require_auth else "--upstream-key"
            fail(prog, f"{option} needs --keys or --keys-text")
        return {}
    if settings.mode == "relay":
        fail(prog, f"{source} works in serve mode only: a relayed reply is the upstream's")
    try:
        if settings.keys:
            keys = load_keys(Path(settings.keys))
        else:  # already checked when the settings were read (ntp_proxy.keys.key_text)
            keys = keys_from_text(settings.keys_text, "key text")
    except KeyFileError as exc:
        fail(prog, f"invalid {source}: {exc}")
    if settings.upstream_key and settings.upstream_key not in keys:
        fail(prog, f"--upstream-key {settings.upstream_key} is not in {source}")
    return keys


def metadata_url(settings: NtpSettings, prog: str) -> str:
    """Where ecs-metadata reads the task document, if it is an upstream (exit 2 outside ECS)."""
    if ECS_METADATA not in settings.upstream:
        return ""
    try:
        return task_metadata_url(os.environ)
    except ValueError as exc:
        fail(prog, f"invalid --upstream: {exc}")


class NtpService:
    """The ``ntp`` service for :func:`bridge.runner.run`."""

    name = "ntp"

    def __init__(self, settings: NtpSettings, prog: str = "edge-bridge ntp") -> None:
        self.settings = settings
        keys = read_keys(settings, prog)
        self.health: HostPort | None = settings.health
        self.counters = Counters(
            *responder_module.COUNTERS,
            *poller_module.COUNTERS,
            *(relay_module.COUNTERS if settings.mode == "relay" else ()),
            "dropped_kernel",
            "send_errors",
            "receive_errors",
            gauges=(*poller_module.GAUGES, "transmit_delay_seconds"),
        )
        self.precision = measure_precision(time.time)
        # ecs-metadata vouches only for the moment it was read: two polls and a timeout
        holdovers = [
            2 * settings.poll + MAX_TIMEOUT if isinstance(u, MetadataSource) else math.inf
            for u in settings.upstream
        ]
        self.clock = Clock(
            [str(u) for u in settings.upstream],
            settings.max_holdover,
            settings.max_offset,
            holdovers,
        )
        self.responder = Responder(
            self.clock,
            self.counters,
            precision=self.precision,
            allowlist=Allowlist(settings.allow),
            limiter=RateLimiter(settings.rate_limit, settings.rate_burst),
            deny_kod=settings.deny_response == "kod",
            authenticator=Authenticator(keys, measure_mac_delays(keys, time.perf_counter)),
            require_auth=settings.require_auth,
            leak=settings.rate_leak,
        )
        self.poller = Poller(
            settings.upstream,
            self.clock,
            self.counters,
            poll=settings.poll,
            precision=self.precision,
            burst=settings.poll_burst,
            key=keys.get(settings.upstream_key),
            max_error_bound=settings.max_error_bound,
            metadata_url=metadata_url(settings, prog),
        )
        self.relay: Relay | None = None
        if settings.mode == "relay":
            servers = tuple(u for u in settings.upstream if isinstance(u, HostPort))
            if len(servers) < len(settings.upstream):
                fail(prog, "--mode relay forwards requests to NTP servers, not to ecs-metadata")
            self.relay = Relay(
                servers,
                self.counters,
                timeout=settings.relay_timeout,
                max_inflight=settings.relay_max_inflight,
                select=lambda: self.clock.selected,
            )
        self.clients = ClientTable(RouterNames(settings.router), settings.client_silence)
        self.router_names = {name for _ip, name in settings.router}
        self.interval = settings.metrics_interval
        self._sock: socket.socket | None = None
        self.tx_delay = TransmitDelay()
        self._calibration: asyncio.Task[None] | None = None
        self._kernel_drops = 0
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
            count_drops(sock)
        except OSError:
            sock.close()
            raise
        self._sock = sock
        if self.relay is not None:
            await self.relay.start(self.send)
        asyncio.get_running_loop().add_reader(sock.fileno(), self._readable)
        self._poll_task = asyncio.create_task(self.poller.run())
        if self.relay is None:
            self._calibration = asyncio.create_task(self._calibrate())
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
        observe = self.clients.observe
        clock = time.time
        correction = self.tx_delay.value
        for _ in range(BATCH):
            try:
                data, addr, received, drops = recv_stamped(sock)
            except BlockingIOError:
                break
            except OSError:
                self.counters.incr("receive_errors")
                break
            if drops > self._kernel_drops:  # requests the kernel lost to a full buffer
                self.counters.incr("dropped_kernel", drops - self._kernel_drops)
                self._kernel_drops = drops
            verdict = screen(data, addr[0], received)
            if verdict is Verdict.DROP:
                continue
            try:
                if verdict is Verdict.SERVE:
                    if relay is not None:
                        relay.forward(data, addr)
                    else:
                        head = responder.reply_head(data, received)
                        sock.sendto(head + stamp(clock() + correction), addr)
                    observe(addr[0], data, received + self.clock.offset, None)
                elif verdict is Verdict.SIGNED:
                    sock.sendto(responder.signed_reply(data, received, clock() + correction), addr)
                    mac = find_mac(data)
                    key_id = None if mac is None else mac.key_id
                    observe(addr[0], data, received + self.clock.offset, key_id)
                elif verdict is Verdict.CRYPTO_NAK:
                    sock.sendto(responder.crypto_nak(data, received, clock()), addr)
                else:
                    sock.sendto(responder.kiss(data, verdict, received, clock()), addr)
            except OSError:  # send buffer full or the client's address unusable
                self.counters.incr("send_errors")

    def evidence_lines(self, now: float) -> list[bytes]:
        """Per-router evidence for the runner, every --metrics-interval: ``ntp.clients``, the
        per-router EMF (named routers only, bounded) and warnings about named routers."""
        stratum = self.clock.stratum if self.clock.synchronised(now) else STRATUM_UNSYNC
        routers = self.clients.summary(now, stratum)
        lines = evidence_lines("ntp.clients", routers, now, {"interval": self.interval})
        named = {n: router_metrics(f) for n, f in routers.items() if n in self.router_names}
        lines += router_emf_lines("ntp.router_metrics", named, now, ROUTER_UNITS)
        for warning in self.clients.warnings(now):
            lines += fit(envelope(warning.event, "warning", now, warning.fields))
        return lines

    async def _calibrate(self) -> None:
        """Measure how long a reply takes to leave after its transmit timestamp is read.

        Every PROBE_INTERVAL seconds, PROBE_RUN datagrams go from a separate loopback socket
        to itself through exactly the reply path (clock read, stamp, concatenation, sendto),
        with kernel transmit stamps on. The listening socket itself never has them on: an
        error-queue entry makes libuv report POLLERR and drop the reader for good.
        """
        probe = stamped_socket(socket.AF_INET)
        try:
            probe.bind(("127.0.0.1", 0))
            if not enable_tx_stamps(probe):
                return
            stamp_sends(probe, True)
            target = probe.getsockname()
            stamp, clock = self.responder.transmit_stamp, time.time
            head = bytes(40)
            while True:
                correction = self.tx_delay.value
                for _ in range(PROBE_RUN):
                    read = clock()
                    tail = stamp(read + correction)
                    probe.sendto(head + tail, target)
                    self.tx_delay.sent(tail, read)
                for tail, left in read_tx_stamps(probe):
                    self.tx_delay.stamped(tail, left)
                with contextlib.suppress(BlockingIOError):
                    while True:
                        probe.recv(64)
                self.counters.set_gauge("transmit_delay_seconds", self.tx_delay.value)
                await asyncio.sleep(PROBE_INTERVAL)
        except OSError:
            return  # no correction: transmit stamps stay as read
        finally:
            probe.close()

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
        await cancel(self._calibration)
        if self.relay is not None:
            await self.relay.stop()
