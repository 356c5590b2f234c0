"""``--workers N``: N receiver processes on one port, for tasks with more than one vCPU.

The parent binds N (UDP, TCP) socket pairs with ``SO_REUSEPORT``, so the kernel spreads
sources across them (one source always lands on one worker, so its rate limit holds), and
starts one worker process per pair, which inherits its two sockets. The parent keeps its copy
of every socket: a worker that dies is restarted on the same sockets, and datagrams that
arrive meanwhile wait in the kernel buffer instead of being refused. Restarts back off (1 s,
doubling to 60 s; a worker that ran a minute starts over at 1 s), so a worker that dies at
once does not spin; what a dead worker had read but not written (its backlog, as of its last
report) is counted in ``lost_in_dead_workers``.

Workers write their lines straight to the stdout they inherit, one batch per write under a
lock shared by all processes (see shared_stdout.py), so lines from several processes never
interleave inside a line, whether stdout is a pipe, a file or a terminal. Each worker reports
its cumulative counters on a pipe twice a second; the parent sums them for /healthz and EMF and
reads the kernel drops of every socket itself. A slow stdout slows the workers, whose kernel
buffers then fill and drop, and are counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import Sequence
from typing import Any

from bridge.logging import configure_logging, get_logger
from bridge.settings import HostPort, load_settings, settings_argv
from syslog_receiver.server import COUNTERS, Receiver, new_counters
from syslog_receiver.settings import SyslogSettings
from syslog_receiver.shared_stdout import LockedStdout, ParentLines, StdoutLock
from syslog_receiver.sockets import describe, kernel_drops, open_listeners

__all__ = ["WorkerPool", "worker_main"]

REPORT_EVERY = 0.5  # seconds between a worker's counter reports
RESTART_FIRST = 1.0  # seconds before a worker that died is started again, doubling per
RESTART_MAX = 60.0  # exit up to this; reset once a worker has run STABLE_AFTER seconds
STABLE_AFTER = 60.0
STOP_TIMEOUT = 4.5  # the runner gives a service 5 s to stop


def next_delay(previous: float, ran_for: float) -> float:
    """The wait before the next restart of a worker that ran ``ran_for`` seconds and was
    last restarted after ``previous``: doubled, unless it had run long enough to be trusted."""
    if ran_for >= STABLE_AFTER:
        return RESTART_FIRST
    return min(RESTART_MAX, previous * 2)


class _Worker:
    """The parent's view of one worker process."""

    def __init__(self, index: int, udp: socket.socket, tcp: socket.socket) -> None:
        self.index = index
        self.udp = udp
        self.tcp = tcp
        self.transport: asyncio.SubprocessTransport | None = None
        self.report_transport: asyncio.ReadTransport | None = None
        self.exited: asyncio.Future[int] | None = None
        self.reports: _Reports | None = None
        self.started_at = 0.0
        self.delay = RESTART_FIRST / 2  # the first restart waits RESTART_FIRST

    @property
    def alive(self) -> bool:
        return self.exited is not None and not self.exited.done()


class _Exit(asyncio.SubprocessProtocol):
    """Tells when a worker process has exited."""

    def __init__(self) -> None:
        self.exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(0)


class _Reports(asyncio.Protocol):
    """One worker process's counter reports: JSON lines, cumulative since it started.

    Its last report is final only once the pipe is at end of file (the process is gone and
    everything it wrote was read); only then are its counts folded into the pool's total, so
    a report read after the process exited is neither lost nor counted twice.
    """

    def __init__(self, pool: WorkerPool) -> None:
        self.pool = pool
        self.partial = b""
        self.latest: dict[str, int | float] = {}

    def data_received(self, data: bytes) -> None:
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()[-4096:]
        for line in lines:
            with contextlib.suppress(ValueError, TypeError):
                report = json.loads(line)
                if isinstance(report, dict):
                    self.latest = report
        self.pool.sum_counters()

    def connection_lost(self, exc: Exception | None) -> None:
        self.pool.fold(self)


class WorkerPool:
    """The ``syslog`` service with ``--workers`` > 1, as ``bridge.runner`` sees it."""

    name = "syslog"

    def __init__(self, settings: SyslogSettings) -> None:
        self.settings = settings
        self.health: HostPort | None = settings.health
        self.counters = new_counters("workers")
        self.counters.incr("lost_in_dead_workers", 0)
        self.counters.incr("worker_restarts", 0)
        self.workers: list[_Worker] = []
        self.log = get_logger()
        self._finished: dict[str, int | float] = dict.fromkeys(COUNTERS, 0)
        self._stopping = False
        self._restarts: set[asyncio.Task[None]] = set()
        self._reporting: set[_Reports] = set()
        self._lock: StdoutLock | None = None
        self._lines: ParentLines | None = None
        self._stdout_fd = 1

    def ready(self) -> bool:
        return not self._stopping and all(w.alive for w in self.workers)

    async def start(self) -> dict[str, str]:
        pairs = open_listeners(self.settings, self.settings.workers)
        self.workers = [_Worker(i, udp, tcp) for i, (udp, tcp) in enumerate(pairs)]
        udp0 = pairs[0][0]
        self.counters.set_gauge(
            "recv_buffer_bytes", udp0.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2
        )
        try:
            self._lock = StdoutLock()
            self._lines = ParentLines(self._lock)
            self._stdout_fd = self._lines.start()
            for worker in self.workers:
                await self._spawn(worker)
        except BaseException:
            await self.stop()
            raise
        self.sum_counters()
        return {
            "udp": describe(udp0),
            "tcp": describe(pairs[0][1]),
            "workers": str(len(self.workers)),
        }

    async def _spawn(self, worker: _Worker) -> None:
        loop = asyncio.get_running_loop()
        assert self._lock is not None
        report_r, report_w = os.pipe()
        fds = (worker.udp.fileno(), worker.tcp.fileno(), report_w, self._lock.fd)
        try:
            protocol = _Exit()
            transport, _ = await loop.subprocess_exec(
                lambda: protocol,
                sys.executable,
                "-m",
                "syslog_receiver.workers",
                str(worker.index),
                *map(str, fds),
                *settings_argv(self.settings),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=self._stdout_fd,
                stderr=None,
                pass_fds=fds,
            )
        finally:
            os.close(report_w)
        worker.transport = transport
        worker.exited = protocol.exited
        reports = _Reports(self)
        worker.reports = reports
        worker.started_at = loop.time()
        self._reporting.add(reports)
        worker.report_transport, _ = await loop.connect_read_pipe(
            lambda: reports, os.fdopen(report_r, "rb", buffering=0)
        )
        protocol.exited.add_done_callback(lambda _f: self._on_exit(worker))

    def fold(self, reports: _Reports) -> None:
        """A worker process is gone: its last counts join those of the finished ones."""
        if reports in self._reporting:
            self._reporting.discard(reports)
            for name in COUNTERS:
                self._finished[name] = self._finished.get(name, 0) + reports.latest.get(name, 0)
        self.sum_counters()

    def _on_exit(self, worker: _Worker) -> None:
        """A worker exited: restart it unless stopping."""
        assert worker.transport is not None
        code = worker.transport.get_returncode()
        self.sum_counters()
        if self._stopping:
            return
        loop = asyncio.get_running_loop()
        lost = int(worker.reports.latest.get("backlog", 0)) if worker.reports else 0
        self.counters.incr("lost_in_dead_workers", lost)
        delay = next_delay(worker.delay, loop.time() - worker.started_at)
        worker.delay = delay
        self.log.error(
            "syslog.worker_exited",
            worker=worker.index,
            returncode=code,
            lost=lost,
            restart_in=delay,
        )
        task = loop.create_task(self._restart(worker))
        self._restarts.add(task)
        task.add_done_callback(self._restarts.discard)

    async def _restart(self, worker: _Worker) -> None:
        await asyncio.sleep(worker.delay)
        if self._stopping:
            return
        self.counters.incr("worker_restarts")
        await self._spawn(worker)
        self.log.info("syslog.worker_restarted", worker=worker.index)

    def sum_counters(self) -> None:
        values = self.counters.values
        for name in COUNTERS:
            values[name] = int(
                self._finished.get(name, 0) + sum(r.latest.get(name, 0) for r in self._reporting)
            )
        # The parent holds every socket, so it reads the kernel drops itself: they stay
        # right across a worker's restart, when no worker reads that socket.
        values["kernel_drops"] = sum(kernel_drops(w.udp) for w in self.workers)
        for gauge in ("tcp_open", "backlog"):
            self.counters.set_gauge(
                gauge, sum(float(r.latest.get(gauge, 0)) for r in self._reporting)
            )
        self.counters.set_gauge("workers", sum(1 for w in self.workers if w.alive))

    async def stop(self) -> None:
        """SIGTERM every worker (each drains and writes its last lines), then close sockets."""
        self._stopping = True
        for task in list(self._restarts):
            task.cancel()
        running = [w for w in self.workers if w.alive and w.transport is not None]
        for worker in running:
            assert worker.transport is not None
            with contextlib.suppress(ProcessLookupError):
                worker.transport.send_signal(signal.SIGTERM)
        waits: list[asyncio.Future[Any]] = []
        for worker in running:
            assert worker.exited is not None
            waits.append(worker.exited)
        if waits:
            _done, late = await asyncio.wait(waits, timeout=STOP_TIMEOUT)
            if late:
                for worker in running:
                    if worker.alive and worker.transport is not None:
                        self.log.error("syslog.worker_stop_timeout", worker=worker.index)
                        worker.transport.kill()
        for _ in range(50):  # the report pipes reach end of file just after the exits
            if not self._reporting:
                break
            await asyncio.sleep(0.01)
        for worker in self.workers:
            if worker.report_transport is not None:
                worker.report_transport.close()
            if worker.transport is not None:
                worker.transport.close()
        self.sum_counters()
        for worker in self.workers:
            worker.udp.close()
            worker.tcp.close()
        if self._lines is not None:  # no worker writes any more: fd 1 is the parent's again
            self._lines.stop()
            self._lines = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None


# -- the worker process ----------------------------------------------------------------------


async def _serve_worker(receiver: Receiver, report_fd: int) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us
    await receiver.start()
    os.set_blocking(report_fd, False)

    def report() -> bool:
        snapshot = receiver.counters.snapshot()
        try:
            os.write(report_fd, json.dumps(snapshot, separators=(",", ":")).encode() + b"\n")
        except BlockingIOError:
            pass  # the parent is busy; the next report carries the same cumulative counts
        except BrokenPipeError:
            return False  # the parent is gone: nobody reads our lines either
        return True

    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), REPORT_EVERY)
        if not report():
            break
    await receiver.stop()
    os.set_blocking(report_fd, True)
    report()


def worker_main(argv: Sequence[str]) -> int:
    """``python -m syslog_receiver.workers INDEX UDP_FD TCP_FD REPORT_FD LOCK_FD FLAGS...``."""
    index, udp_fd, tcp_fd, report_fd, lock_fd = (int(a) for a in argv[:5])
    LockedStdout.install(StdoutLock(lock_fd))  # before anything can log
    settings = load_settings(
        SyslogSettings, argv[5:], prog=f"edge-bridge syslog worker {index}", environ={}
    )
    configure_logging()
    import structlog

    structlog.contextvars.bind_contextvars(worker=index)
    udp = socket.socket(fileno=udp_fd)
    tcp = socket.socket(fileno=tcp_fd)
    receiver = Receiver(settings, udp, tcp, new_counters())
    import uvloop

    uvloop.run(_serve_worker(receiver, report_fd))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1:]))
