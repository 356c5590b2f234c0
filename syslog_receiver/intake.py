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

from collections import Counter, deque
from collections.abc import Iterable
from itertools import repeat
from operator import itemgetter
from typing import Any, Protocol

from bridge.guard import Allowlist, RateLimiter, RouterNames, unmapped
from bridge.log_evidence import LogEvidence
from bridge.metrics import Counters
from bridge.summary import DropSummary
from bridge.trigger_words import holding_trigger_words
from syslog_receiver.parse import parse
from syslog_receiver.render import Renderer
from syslog_receiver.settings import SyslogSettings

__all__ = ["BACKLOG_BYTES", "BACKLOG_MAX", "DRAIN_MAX", "Batch", "Intake"]

DRAIN_MAX = 512  # datagrams handled per call: keeps TCP and /healthz served
# Fargate caps the kernel buffer at 208 KiB (some 500 datagrams): a burst waits here instead.
BACKLOG_MAX = 65536
BACKLOG_BYTES = 16 * 1024 * 1024

# (data, (source ip, port), original length if cut, arrival time, its ISO stamp)
Datagram = tuple[bytes, tuple[str, int], int | None, float, str]


class Batch(Protocol):
    """Datagrams received by one system call into reused buffers (see batch_recv.py)."""

    def datagrams(self, count: int) -> tuple[list[bytes], list[tuple[str, int]]]:
        """The first ``count`` datagrams as bytes, and their sources (ip, port)."""
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
        ``--max-message-size``, flagged); returns the bytes stored.

        The hot path, so it works on the batch as a whole: admission is decided once per
        source (a batch holds a few), and the rest are C-level maps, no Python step per
        datagram unless one is refused or too long.
        """
        data, sources = batch.datagrams(count)
        if v6:
            sources = [(unmapped(ip), port) for ip, port in sources]
        self.counters.values["received"] += count
        if self.allowlist.networks or self.limiter.enabled:
            data, sources = self._admit(data, sources, now)
        sizes = list(map(len, data))
        originals: Iterable[int | None] = repeat(None)
        max_size = self.settings.max_message_size
        if sizes and max(sizes) > max_size:
            originals = [size if size > max_size else None for size in sizes]
            data = [datagram[:max_size] for datagram in data]
            sizes = list(map(len, data))
        self.backlog.extend(zip(data, sources, originals, repeat(now), repeat(stamp)))
        stored = sum(sizes)
        self.backlog_bytes += stored
        return stored

    def _admit(
        self, data: list[bytes], sources: list[tuple[str, int]], now: float
    ) -> tuple[list[bytes], list[tuple[str, int]]]:
        """The datagrams the allowlist and the per-source rate limit let in, in order; the
        refused are counted. One decision per source: all of a batch arrived at ``now``, so
        a source's first datagrams take what its bucket holds, as one by one they would."""
        permits = self.allowlist.permits
        quota: dict[str, int] = {}
        refused = limited = 0
        for ip, count in Counter(map(itemgetter(0), sources)).items():
            granted = 0
            if not permits(ip):
                refused += count
            else:
                granted = self.limiter.take(ip, count, now)
                if granted < count:
                    limited += count - granted
                    self.rate_drops.add(ip, count - granted)
            quota[ip] = granted
        values = self.counters.values
        if refused:
            values["dropped_not_allowed"] += refused
        if limited:
            values["dropped_rate_limited"] += limited
        if not (refused or limited):
            return data, sources
        kept: list[bytes] = []
        kept_sources: list[tuple[str, int]] = []
        for datagram, source in zip(data, sources, strict=True):
            if quota[source[0]]:
                quota[source[0]] -= 1
                kept.append(datagram)
                kept_sources.append(source)
        return kept, kept_sources

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
        for index, (data, (ip, port), original, now, stamp) in enumerate(datagrams):
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
        parse, render into :attr:`lines`. The source's first frames take what its bucket
        holds, as for a UDP batch."""
        render = self.renderer.render
        observe = self.evidence.observe
        lines = self.lines
        granted = self.limiter.take(ip, len(frames), now)
        limited = len(frames) - granted
        if limited:
            self.rate_drops.add(ip, limited)
            frames = frames[:granted]
        suspects = holding_trigger_words(frames)
        errors = 0
        for index, data in enumerate(frames):
            try:
                fields = parse(data, now)
            except Exception:
                errors += 1
                fields = unparsed(data)
            lines.append(render(fields, data, ip, port, "tcp", stamp, None, index in suspects))
            observe(fields.get("router"), ip, fields["severity"], fields["timestamp"], now)
        values = self.counters.values
        values["received"] += granted + limited
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
        if renderer.redaction.cut:
            values["redaction_cut"] += renderer.redaction.cut
            renderer.redaction.cut = 0
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

    def datagrams(self, count: int) -> tuple[list[bytes], list[tuple[str, int]]]:
        items = self.items[:count]
        return [data for data, _, _ in items], [(ip, port) for _, ip, port in items]
