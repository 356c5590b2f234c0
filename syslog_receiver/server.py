"""The asyncio adapter: sockets in, JSON lines out, for one process.

The UDP hot path reads the socket itself, 64 datagrams per system call (batch_recv.py) until
it would block, at most ``DRAIN_MAX`` per wake-up. An idle socket wakes the loop
(``add_reader``); while datagrams keep coming it is read on a timer instead (every 0.5 to
10 ms, as the kernel buffer's fill allows), so one wake-up, one clock read, one ``iso_utc``
and one ``write`` serve a whole burst (``received_at`` is then up to 10 ms after arrival).
Every message goes through the allowlist, the per-source rate limit, the parser and the
renderer, and is counted: that is :mod:`syslog_receiver.intake`, sans-IO, shared by UDP and
TCP; this module only reads sockets, keeps time and writes (TCP peers: :mod:`.tcp`).
Datagrams are read ahead of parsing into a backlog, so a burst the parser cannot keep up with
waits in memory rather than in a kernel buffer that may be small. Nothing queues without
bound: the backlog has a cap in count and bytes (then reading pauses), the pending batch is
written at the end of the loop iteration that filled it, and when stdout is slow the lines
wait in the process's bounded stdout buffer (bridge/stdout.py; what overflows it is counted
as ``stdout_dropped_lines``). A ``--workers`` process writes directly, so there a slow stdout
fills the kernel's receive buffer, whose drops are counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

from bridge.evidence import evidence_lines, router_emf_lines
from bridge.guard import ConnectionTable, RouterNames
from bridge.inventory import address_entries, read_inventory
from bridge.log_evidence import ROUTER_UNITS, router_metrics
from bridge.logging import get_logger
from bridge.metrics import Counters
from bridge.output import iso_utc
from bridge.stdout import write_lines
from syslog_receiver.batch_recv import VLEN, BatchReceiver, SingleReceiver
from syslog_receiver.intake import DRAIN_MAX, Intake
from syslog_receiver.malloc import tune_malloc
from syslog_receiver.settings import SyslogSettings
from syslog_receiver.sockets import describe, kernel_drops, receive_queue_fill
from syslog_receiver.tcp import TcpConnection

__all__ = [
    "COUNTERS",
    "GAUGES",
    "Receiver",
    "new_counters",
    "next_poll_wait",
]

COUNTERS = (
    "received",
    "emitted",
    "dropped_not_allowed",
    "dropped_rate_limited",
    "truncated",
    "redacted",
    "redaction_cut",
    "malformed_frames",
    "parse_errors",
    "kernel_drops",
    "tcp_connections",
    "tcp_refused",
    "tcp_refused_per_address",
    "tcp_idle_closed",
    "tcp_dead_peers",
)
GAUGES = ("tcp_open", "backlog")

# Datagrams are read ahead of handling into the intake's backlog, so the kernel buffer is
# emptied every few milliseconds even while a burst outruns the parser; when the backlog is
# full, reading pauses and the kernel buffer takes over.
READ_MAX = 4 * DRAIN_MAX  # datagrams read per iteration at most (filtered ones included)
# While datagrams keep coming, read them on a timer instead of waking up for each one: a
# wake-up, a clock read and a write then serve a larger batch (2 -> 10 ms between reads: 8.5
# -> 6.1 us/msg for --workers 2 at 50,000/s). The wait adapts so that the kernel buffer fills
# to about POLL_FILL between reads: a buffer capped small (net.core.rmem_max is 208 KiB where
# it cannot be raised, as on Fargate) is read more often. An idle socket is watched again.
POLL_MIN = 0.0005
POLL_MAX = 0.01
POLL_START = 0.001  # the first wait after idle, before the buffer's fill is known
POLL_FILL = 0.25
FLUSH_AT = 4096  # lines: a TCP read of tiny frames is written out in slices this big
TICK = 1.0  # seconds between reads of kernel drops and checks for due warnings
STOP_DRAIN_SECONDS = 2.0  # at stop, how long to keep emitting what the kernel already holds
TCP_QUIET = 0.1  # at stop, a connection silent this long has sent what it had in flight
TCP_GRACE = 1.0


def next_poll_wait(wait: float, fill: float | None) -> float:
    """The next wait between reads, from the last one and how full it left the buffer.

    Arrivals grow with the wait, so scaling it by POLL_FILL / fill aims at POLL_FILL; it grows
    at most fourfold a step and stays within [POLL_MIN, POLL_MAX]. Without a fill reading
    (no SO_MEMINFO) the wait stays at POLL_START.
    """
    if fill is None:
        return POLL_START
    target = wait * POLL_FILL / fill if fill > 0 else POLL_MAX
    return max(POLL_MIN, min(POLL_MAX, wait * 4, target))


class Receiver:
    """The UDP and TCP listeners of one process, over sockets it is given already bound."""

    def __init__(
        self,
        settings: SyslogSettings,
        udp: socket.socket,
        tcp: socket.socket,
        counters: Counters,
    ) -> None:
        self.settings = settings
        self.counters = counters
        self.udp = udp
        self.tcp = tcp
        self.log = get_logger()
        # Admission, the backlog and parse-render, sans-IO; this class reads and writes.
        inventory = address_entries(read_inventory(settings.inventory))
        self.intake = Intake(
            settings, counters, routers=RouterNames([*settings.router, *inventory])
        )
        self._kernel_drops_seen = 0
        self._kernel_warned_at = float("-inf")
        self._summary_interval = settings.metrics_interval
        self.evidence = self.intake.evidence
        self._evidence_next = time.time() + settings.metrics_interval
        self._flush_handle: asyncio.Handle | None = None
        self._tick_handle: asyncio.TimerHandle | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[TcpConnection] = set()
        self._table = ConnectionTable(
            settings.max_connections, settings.max_connections_per_address
        )
        self._reading = False
        self._poll_handle: asyncio.Handle | None = None  # set while reading on the timer
        self._poll_wait = POLL_START
        self._udp_v6 = udp.family == socket.AF_INET6
        # Datagrams are read VLEN at a time into reused slots (recvmmsg where the C library
        # has it), rather than one system call and one 64 KiB allocation each.
        self._batch: BatchReceiver | SingleReceiver = BatchReceiver.open(udp) or SingleReceiver(udp)
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> dict[str, str]:
        loop = asyncio.get_running_loop()
        self._loop = loop
        tune_malloc()
        self._server = await loop.create_server(
            lambda: TcpConnection(self), sock=self.tcp, start_serving=True
        )
        loop.add_reader(self.udp.fileno(), self._on_udp)
        self._reading = True
        self._tick_handle = loop.call_later(TICK, self._on_tick)
        return {"udp": describe(self.udp), "tcp": describe(self.tcp)}

    def serving(self) -> bool:
        return self._reading and self._server is not None and self._server.is_serving()

    async def stop(self) -> None:
        """Stop reading, emit what the kernel and the connections already hold, then close."""
        loop = asyncio.get_running_loop()
        if self._tick_handle is not None:
            self._tick_handle.cancel()
        if self._reading:
            if self._poll_handle is None:
                loop.remove_reader(self.udp.fileno())
            else:
                self._poll_handle.cancel()
                self._poll_handle = None
            self._reading = False
        if self._server is not None:
            self._server.close()
        deadline = loop.time() + STOP_DRAIN_SECONDS
        while self._drain_udp() and loop.time() < deadline:
            self.flush()
        while self._handle_backlog():  # read already, and bounded: well under a second
            self.flush()
        self.flush()
        await self._close_connections()
        self._read_kernel_drops()
        self._warn_due(time.time(), final=True)
        self._evidence_due(time.time(), final=True)
        self.flush()
        self.udp.close()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 0.5)
        self.tcp.close()

    async def _close_connections(self) -> None:
        loop = asyncio.get_running_loop()
        begun = loop.time()
        deadline = begun + TCP_GRACE
        while self._connections and loop.time() < deadline:
            # Quiet since the stop began: bytes already in the kernel get a chance to be read.
            latest = max(begun, *(c.last_data for c in self._connections))
            if loop.time() - latest >= TCP_QUIET:
                break
            await asyncio.sleep(TCP_QUIET / 2)
        for connection in list(self._connections):
            connection.transport_close()
        for _ in range(20):  # connection_lost runs on the next iterations
            if not self._connections:
                break
            await asyncio.sleep(0.01)
        self.flush()

    # -- the hot path ----------------------------------------------------------------------

    def _on_udp(self) -> None:
        """Datagrams woke the idle loop: read them, then poll on the timer while they last."""
        if self._drain_udp() and self._reading:
            assert self._loop is not None
            self._loop.remove_reader(self.udp.fileno())
            self._poll_wait = POLL_START
            self._poll_handle = self._loop.call_later(POLL_START, self._poll)

    def _poll(self) -> None:
        assert self._loop is not None
        self._poll_handle = None
        if not self._reading:
            return
        fill = receive_queue_fill(self.udp)  # what arrived during the wait
        done = self._drain_udp()
        if self.intake.backlog or done >= READ_MAX:
            self._poll_handle = self._loop.call_soon(self._poll)
        elif done:
            self._poll_wait = next_poll_wait(self._poll_wait, fill)
            self._poll_handle = self._loop.call_later(self._poll_wait, self._poll)
        else:
            self._loop.add_reader(self.udp.fileno(), self._on_udp)

    def _drain_udp(self) -> int:
        """Read what the socket holds into the backlog, then handle up to ``DRAIN_MAX``.

        Returns how many datagrams were read plus how many were handled: 0 only once the
        socket and the backlog are both empty.
        """
        read = self._read_udp()
        return read + self._handle_backlog()

    def _read_udp(self) -> int:
        """Move waiting datagrams into the intake's backlog: how many were read."""
        intake = self.intake
        room, room_bytes = intake.room()
        if room < VLEN or room_bytes <= 0:
            return 0
        batch = self._batch
        receive = batch.receive
        take = intake.take_batch
        now = time.time()
        stamp = iso_utc(now)
        v6 = self._udp_v6
        received = stored = 0
        for _ in range(READ_MAX // VLEN):
            try:
                count = receive()
            except OSError:  # an ICMP error queued on the socket: nothing to read
                continue
            stored += take(batch, count, now, stamp, v6)
            received += count
            if count < VLEN or len(intake.backlog) > intake.backlog_max - VLEN:
                break  # the socket is empty, or the backlog is (nearly) full
            if stored >= room_bytes:
                break
        return received

    def _handle_backlog(self) -> int:
        """Parse and render up to ``DRAIN_MAX`` datagrams of the backlog into the batch."""
        count = self.intake.handle(DRAIN_MAX)
        if count and self._flush_handle is None:
            assert self._loop is not None
            self._flush_handle = self._loop.call_soon(self.flush)
        return count

    def accept_frames(self, frames: list[bytes], ip: str, port: int) -> None:
        """Handle frames from one TCP connection (whose source the allowlist admitted)."""
        now = time.time()
        self.intake.frames(frames, ip, port, now, iso_utc(now))
        if len(self.intake.lines) >= FLUSH_AT:
            self.flush()
        elif self.intake.lines and self._flush_handle is None and self._loop is not None:
            self._flush_handle = self._loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write the pending batch: one write and one flush for all lines of the iteration."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        lines = self.intake.take_lines()
        if lines:
            write_lines(lines)

    # -- TCP connection bookkeeping --------------------------------------------------------

    def admit(self, connection: TcpConnection, ip: str) -> bool:
        """Allowlist, then the caps in total and per address (``--max-connections``,
        ``--max-connections-per-address``): one host cannot take every slot."""
        values = self.counters.values
        if not self.intake.allowlist.permits(ip):
            values["tcp_refused"] += 1
            values["dropped_not_allowed"] += 1
            return False
        refused = self._table.admit(ip) if self._reading else "total"
        if refused is not None:
            values["tcp_refused"] += 1
            if refused == "per_address":
                values["tcp_refused_per_address"] += 1
            return False
        values["tcp_connections"] += 1
        self._connections.add(connection)
        self.counters.set_gauge("tcp_open", len(self._connections))
        return True

    def release(self, connection: TcpConnection, dead: bool = False) -> None:
        """An admitted connection ended; ``dead`` when keepalive found its peer gone."""
        if connection in self._connections:
            self._connections.discard(connection)
            self._table.release(connection.ip)
            if dead:
                self.counters.values["tcp_dead_peers"] += 1
        self.counters.set_gauge("tcp_open", len(self._connections))

    def _close_idle(self, now: float) -> None:
        """Close connections silent for ``--tcp-idle-timeout``: the NLB forgets an idle flow
        after 350 s without telling either end, so waiting longer only holds a dead slot."""
        limit = self.settings.tcp_idle_timeout
        idle = [c for c in self._connections if now - c.last_data >= limit]
        for connection in idle:
            connection.transport_close()
        if idle:
            self.counters.values["tcp_idle_closed"] += len(idle)

    def frame_error(self, ip: str, port: int, reason: str, closing: bool) -> None:
        self.counters.values["malformed_frames"] += 1
        self.flush()  # what came before the bad frame goes out before the warning about it
        self.log.warning(
            "syslog.tcp_frame_error",
            source_ip=ip,
            source_port=port,
            reason=reason,
            action="connection closed" if closing else "partial frame emitted",
        )

    # -- once a second -----------------------------------------------------------------------

    def _on_tick(self) -> None:
        assert self._loop is not None
        self._tick_handle = self._loop.call_later(TICK, self._on_tick)
        self.counters.set_gauge("backlog", len(self.intake.backlog))
        self._close_idle(self._loop.time())
        self._read_kernel_drops()
        now = time.time()
        self._warn_due(now)
        self._evidence_due(now)

    def _read_kernel_drops(self) -> None:
        drops = kernel_drops(self.udp)
        self.counters.values["kernel_drops"] = drops

    def _evidence_due(self, now: float, final: bool = False) -> None:
        """The ``syslog.evidence`` summary and per-router EMF, once per metrics interval."""
        if now < self._evidence_next and not final:
            return
        self._evidence_next = now + self._summary_interval
        summary = self.evidence.summary(now)
        routers = summary["routers"]
        self.flush()
        lines = evidence_lines(
            "syslog.evidence",
            routers,
            now,
            {
                "interval": self._summary_interval,
                "untracked_messages": summary["untracked_messages"],
            },
        )
        metrics = {name: router_metrics(fields) for name, fields in routers.items()}
        lines += router_emf_lines("syslog.router_metrics", metrics, now, ROUTER_UNITS)
        write_lines(lines)

    def _warn_due(self, now: float, final: bool = False) -> None:
        fields = self.intake.rate_warning(now, final)
        if fields is not None:
            self.flush()
            self.log.warning("syslog.rate_limited", **fields)
        drops = self.counters.values["kernel_drops"]
        if drops > self._kernel_drops_seen and (
            final or now >= self._kernel_warned_at + self._summary_interval
        ):
            self.flush()
            self.log.warning(
                "syslog.kernel_drops",
                dropped=drops - self._kernel_drops_seen,
                total=drops,
                recv_buffer=self.udp.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2,
                hint="the receiver cannot keep up: add --workers or vCPUs, or raise --recv-buffer",
            )
            self._kernel_drops_seen = drops
            self._kernel_warned_at = now


def new_counters(*extra_gauges: str) -> Counters:
    return Counters(*COUNTERS, gauges=(*GAUGES, "recv_buffer_bytes", *extra_gauges))
