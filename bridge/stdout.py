"""stdout through a bounded, counted buffer and one writer thread.

On ECS the awslogs driver runs in blocking mode, the one mode that never drops a line unseen:
when CloudWatch is slow, writes to stdout block. Written from the event loop, such a write
would stall every listener and the health endpoint with it, and nobody could tell. Once a
daemon's runner calls :func:`install`, the event loop only appends lines to a buffer and one
thread writes them out. The buffer is bounded in bytes; a batch that does not fit is refused
and counted, and as soon as stdout takes lines again a ``stdout.dropped`` line says how many
were lost. What
waits, how long the current write has been stuck, and what was dropped are read by
:func:`report` into each service's counters, so they show in ``/healthz`` and the EMF lines,
and a stdout stuck for longer than ``--stdout-stall`` makes ``/healthz`` answer 503.

Before :func:`install` (command-line tools, tests, the syslog workers, whose stdout is shared
under a lock), lines are written synchronously, as before.
"""

from __future__ import annotations

import atexit
import collections
import os
import select
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

from bridge.output import envelope, fit

if TYPE_CHECKING:
    from bridge.metrics import Counters

DRAIN_SECONDS = 10.0


class Sink(Protocol):
    def write(self, data: bytes) -> None: ...


def write_all(fd: int, data: bytes) -> None:
    """Write every byte, waiting out a short write or a non-blocking stdout that is full."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [])
            continue
        view = view[written:]


class DirectStdout:
    """Synchronous writes to whatever ``sys.stdout`` is now (a worker's locked stdout too)."""

    def write(self, data: bytes) -> None:
        out = sys.stdout.buffer
        out.write(data)
        out.flush()


class BufferedStdout:
    """Lines handed to a writer thread; bounded in bytes, every refusal counted."""

    def __init__(
        self,
        fd: int,
        limit_bytes: int,
        stall_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit_bytes = limit_bytes
        self.stall_seconds = stall_seconds
        self.dropped_lines = 0
        self.dropped_bytes = 0
        self.write_errors = 0
        self._fd = fd
        self._clock = clock
        self._chunks: collections.deque[bytes] = collections.deque()
        self._pending = 0  # bytes buffered or being written
        self._unreported: tuple[int, int] = (0, 0)  # dropped lines, bytes not yet told
        self._writing_since: float | None = None
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="stdout-writer", daemon=True)
        self._thread.start()

    # -- the event loop's side: never blocks on the pipe -----------------------------------

    def write(self, data: bytes) -> None:
        """Queue whole lines, or refuse them all and count them when the buffer is full."""
        if not data:
            return
        with self._cond:
            if self._pending + len(data) > self.limit_bytes or self._closed:
                lines = max(1, data.count(b"\n"))
                self.dropped_lines += lines
                self.dropped_bytes += len(data)
                told_lines, told_bytes = self._unreported
                self._unreported = (told_lines + lines, told_bytes + len(data))
                return
            self._chunks.append(data)
            self._pending += len(data)
            self._cond.notify()

    def _dropped_line(self) -> bytes:
        lines, size = self._unreported
        self._unreported = (0, 0)
        fields = {"lines": lines, "bytes": size, "buffer_bytes": self.limit_bytes}
        [line] = fit(envelope("stdout.dropped", "error", time.time(), fields))
        return line

    def pending_bytes(self) -> int:
        with self._cond:
            return self._pending

    def stalled_seconds(self) -> float:
        """How long the write in progress has been waiting for the pipe (0 when none is)."""
        with self._cond:
            since = self._writing_since
        return 0.0 if since is None else max(0.0, self._clock() - since)

    # -- the writer thread ---------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._chunks and not self._unreported[0] and not self._closed:
                    self._cond.wait()
                if not self._chunks and not self._unreported[0]:
                    return
                # a loss is told as soon as stdout takes lines again, before the next ones
                told = self._dropped_line() if self._unreported[0] else b""
                data = told + b"".join(self._chunks)
                self._chunks.clear()
                self._pending += len(told)
                self._writing_since = self._clock()
            try:
                write_all(self._fd, data)
            except OSError:  # stdout closed: nobody reads; keep the event loop free
                self.write_errors += 1
            with self._cond:
                self._pending -= len(data)
                self._writing_since = None
                self._cond.notify_all()

    def drain(self, timeout: float = DRAIN_SECONDS) -> bool:
        """Wait until every queued line is written; False if stdout stayed stuck."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self, timeout: float = DRAIN_SECONDS) -> bool:
        drained = self.drain(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout if drained else 0)
        return drained


_sink: Sink = DirectStdout()
# The counter of refused lines, as the daemons report it (the template alarms on this name).
DROPPED_LINES = "stdout_dropped_lines"


class LineFile:
    """What structlog writes to: a line goes wherever :func:`write` sends lines now."""

    def write(self, data: bytes) -> None:
        _sink.write(data)

    def flush(self) -> None:
        """Nothing to do: a line is already written (direct) or queued (buffered)."""


def write(data: bytes) -> None:
    """Hand whole lines to stdout: buffered once installed, else written now."""
    _sink.write(data)


def write_lines(lines: Iterable[bytes]) -> None:
    """Hand ready lines (each ending in b"\\n", built by ``bridge.output``) over in one call."""
    _sink.write(b"".join(lines))


def install(limit_bytes: int, stall_seconds: float) -> BufferedStdout:
    """From now on this process's lines go through one writer thread (idempotent)."""
    global _sink
    if isinstance(_sink, BufferedStdout):
        return _sink
    sys.stdout.flush()
    buffered = BufferedStdout(sys.stdout.fileno(), limit_bytes, stall_seconds)
    _sink = buffered
    atexit.register(buffered.close)
    return buffered


def buffered() -> BufferedStdout | None:
    return _sink if isinstance(_sink, BufferedStdout) else None


def stalled() -> bool:
    """True while a write to stdout has been stuck for longer than ``--stdout-stall``."""
    sink = buffered()
    return sink is not None and sink.stalled_seconds() > sink.stall_seconds


def report(counters: Counters) -> None:
    """Put stdout's state into a service's counters (for /healthz and the EMF lines)."""
    sink = buffered()
    if sink is None:
        return
    counters.set_total(DROPPED_LINES, sink.dropped_lines)
    counters.set_gauge("stdout_pending_bytes", sink.pending_bytes())
    counters.set_gauge("stdout_stalled_seconds", round(sink.stalled_seconds(), 3))
