"""What happens to a message between the socket and stdout, sans-IO, for UDP and TCP alike:
admission (allowlist, per-source rate limit), the UDP backlog, and parse-render into lines.

The asyncio adapter (:mod:`syslog_receiver.server`) reads sockets and hands over bytes with
their source and arrival time; it takes back the finished lines with :meth:`Intake.take_lines`
and writes them in one call. Nothing here reads a clock or touches a socket, so the tests feed
it bytes. Nothing queues without bound: the backlog holds at most ``backlog_max`` datagrams
and ``backlog_bytes`` bytes (:meth:`Intake.room` tells the reader when to stop), and rate-limit
drops are summarised (:meth:`Intake.rate_warning`), never logged one by one.

UDP datagrams are read ahead of parsing into the backlog, so a burst the parser cannot keep up
with waits in memory rather than in a kernel buffer that may be small; TCP frames are parsed as
they arrive (their flow control is TCP's).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any, Protocol

from bridge.guard import Allowlist, RateLimiter, RouterNames, unmapped
from bridge.log_evidence import LogEvidence
from bridge.metrics import Counters
from bridge.secrets import holding_trigger_words
from bridge.summary import DropSummary
from syslog_receiver.parse import parse
from syslog_receiver.render import Renderer
from syslog_receiver.settings import SyslogSettings

__all__ = ["BACKLOG_BYTES", "BACKLOG_MAX", "DRAIN_MAX", "Batch", "Intake"]

DRAIN_MAX = 512  # datagrams handled per call: keeps TCP and /healthz served
# Fargate caps the kernel buffer at 208 KiB (some 500 datagrams): a burst waits here instead.
BACKLOG_MAX = 65536
BACKLOG_BYTES = 16 * 1024 * 1024

# (data, source ip, source port, original length if cut, arrival time, its ISO stamp)
Datagram = tuple[bytes, str, int, int | None, float, str]


class Batch(Protocol):
    """Datagrams received by one system call into reused buffers (see batch_recv.py)."""

    data: memoryview

    def slot(self, index: int) -> tuple[int, int, tuple[str, int]]:
        """(offset in ``data``, size, (ip, port)) of the ``index``-th datagram."""
        ...


def unparsed(data: bytes) -> dict[str, Any]:
    """The parser promises never to raise; if it ever does, the message is still emitted."""
    return {
        "format": "raw",
        "facility": None,
        "severity": None,
        "timestamp": None,
        "hostname": None,
        "app_name": None,
        "procid": None,
        "msgid": None,
        "structured_data": None,
        "message": data.decode("utf-8", "replace"),
    }


class Intake:
    """Admission, backlog and parse-render of one receiver process; ``routers`` names
    sources (default: ``--router`` alone)."""

    def __init__(
        self,
        settings: SyslogSettings,
        counters: Counters,
        backlog_max: int = BACKLOG_MAX,
        backlog_bytes: int = BACKLOG_BYTES,
        routers: RouterNames | None = None,
    ) -> None:
        self.settings = settings
        self.counters = counters
        self.backlog_max = backlog_max
        self.backlog_bytes_max = backlog_bytes
        self.renderer = Renderer(
            include_raw=settings.include_raw, routers=routers or RouterNames(settings.router)
        )
        self.allowlist = Allowlist(settings.allow)
        self.limiter = RateLimiter(settings.rate_limit, settings.rate_burst)
        self.rate_drops = DropSummary(settings.metrics_interval)
        self.evidence = LogEvidence(self.renderer.routers.entries())
        """Per-router log evidence (last message, clock skew), observed as lines are made."""
        self.backlog: deque[Datagram] = deque()
        self.backlog_bytes = 0
        self.lines: list[bytes] = []

    # -- UDP -------------------------------------------------------------------------------

    def room(self) -> tuple[int, int]:
        """(datagrams, bytes) the backlog can still take."""
        return self.backlog_max - len(self.backlog), self.backlog_bytes_max - self.backlog_bytes

    def take_batch(self, batch: Batch, count: int, now: float, stamp: str, v6: bool) -> int:
        """Admit the ``count`` datagrams of a received batch into the backlog (cut at
        ``--max-message-size``, flagged); returns the bytes stored. The hot path: one call per
        batch, names bound once."""
        slot = batch.slot
        view = batch.data
        append = self.backlog.append
        permits = self.allowlist.permits if self.allowlist.networks else None
        allow = self.limiter.allow if self.limiter.enabled else None
        max_size = self.settings.max_message_size
        not_allowed = limited = stored = 0
        for index in range(count):
            start, size, (ip, port) = slot(index)
            if v6:
                ip = unmapped(ip)
            if permits is not None and not permits(ip):
                not_allowed += 1
                continue
            if allow is not None and not allow(ip, now):
                limited += 1
                self.rate_drops.add(ip)
                continue
            original = None
            if size > max_size:
                original = size
                size = max_size
            append((view[start : start + size].tobytes(), ip, port, original, now, stamp))
            stored += size
        self.backlog_bytes += stored
        values = self.counters.values
        values["received"] += count
        if not_allowed:
            values["dropped_not_allowed"] += not_allowed
        if limited:
            values["dropped_rate_limited"] += limited
        return stored

    def datagrams(self, datagrams: Iterable[tuple[bytes, str, int]], now: float, stamp: str) -> int:
        """:meth:`take_batch` for datagrams given as ``(data, ip, port)``."""
        batch = _Listed(list(datagrams))
        return self.take_batch(batch, len(batch.items), now, stamp, v6=False)

    def handle(self, limit: int = DRAIN_MAX) -> int:
        """Parse and render up to ``limit`` datagrams of the backlog into :attr:`lines`;
        returns how many. Secrets' trigger words are looked for in all of them at once: one
        pass instead of one per datagram, which nearly every datagram would end in."""
        backlog = self.backlog
        if not backlog:
            return 0
        count = min(limit, len(backlog))
        lines = self.lines
        render = self.renderer.render
        observe = self.evidence.observe
        popleft = backlog.popleft
        datagrams = [popleft() for _ in range(count)]
        suspects = holding_trigger_words([datagram[0] for datagram in datagrams])
        errors = done = 0
        for index, (data, ip, port, original, now, stamp) in enumerate(datagrams):
            done += len(data)
            try:
                fields = parse(data, now)
            except Exception:
                errors += 1
                fields = unparsed(data)
            lines.append(render(fields, data, ip, port, "udp", stamp, original, index in suspects))
            observe(fields.get("router"), ip, fields["severity"], fields["timestamp"], now)
        self.backlog_bytes -= done
        if errors:
            self.counters.values["parse_errors"] += errors
        return count

    # -- TCP -------------------------------------------------------------------------------

    def frames(self, frames: list[bytes], ip: str, port: int, now: float, stamp: str) -> None:
        """Frames from one TCP connection (whose source the allowlist admitted): rate limit,
        parse, render into :attr:`lines`."""
        render = self.renderer.render
        observe = self.evidence.observe
        allow = self.limiter.allow if self.limiter.enabled else None
        lines = self.lines
        suspects = holding_trigger_words(frames)
        limited = errors = 0
        for index, data in enumerate(frames):
            if allow is not None and not allow(ip, now):
                limited += 1
                self.rate_drops.add(ip)
                continue
            try:
                fields = parse(data, now)
            except Exception:
                errors += 1
                fields = unparsed(data)
            lines.append(render(fields, data, ip, port, "tcp", stamp, None, index in suspects))
            observe(fields.get("router"), ip, fields["severity"], fields["timestamp"], now)
        values = self.counters.values
        values["received"] += len(frames)
        values["dropped_rate_limited"] += limited
        values["parse_errors"] += errors

    # -- out -------------------------------------------------------------------------------

    def take_lines(self) -> list[bytes]:
        """The finished lines, counted as emitted (the caller writes them now)."""
        lines = self.lines
        if not lines:
            return lines
        self.lines = []
        values = self.counters.values
        values["emitted"] += len(lines)
        renderer = self.renderer
        if renderer.truncated:
            values["truncated"] += renderer.truncated
            renderer.truncated = 0
        if renderer.redacted:
            values["redacted"] += renderer.redacted
            renderer.redacted = 0
        return lines

    def rate_warning(self, now: float, final: bool = False) -> dict[str, Any] | None:
        """The fields of a ``syslog.rate_limited`` warning when one is due."""
        fields = self.rate_drops.due(now, force=final)
        if fields is None:
            return None
        return {
            "limit_per_second": self.settings.rate_limit,
            "burst": self.settings.rate_burst,
            **fields,
        }


class _Listed:
    """A :class:`Batch` over datagrams given as bytes (tests, and any reader without
    reusable buffers)."""

    def __init__(self, items: list[tuple[bytes, str, int]]) -> None:
        self.items = items
        self.data = memoryview(b"".join(data for data, _, _ in items))
        offsets = []
        at = 0
        for data, _, _ in items:
            offsets.append(at)
            at += len(data)
        self._offsets = offsets

    def slot(self, index: int) -> tuple[int, int, tuple[str, int]]:
        data, ip, port = self.items[index]
        return self._offsets[index], len(data), (ip, port)
