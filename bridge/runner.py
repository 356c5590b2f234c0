"""Run services to completion: uvloop, health servers, EMF lines, and a graceful drain.

On SIGTERM (ECS stopping a task) or SIGINT each service stops reading, emits what it already
read and releases its sockets; the last EMF line is written, stdout flushed, and the process
exits 0 well within ECS's stop timeout.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Sequence

from aiohttp import web

from bridge import stdout
from bridge.health import start_health_server
from bridge.logging import configure_logging, get_logger
from bridge.output import fit
from bridge.service import Service
from bridge.settings import CommonSettings
from bridge.stdout import write_lines
from bridge.tasks import cancel

STOP_TIMEOUT = 5.0


def _write_metrics(services: Sequence[Service]) -> None:
    """Each service's EMF line, and the per-router evidence of those that keep it here."""
    now = time.time()
    for service in services:
        stdout.report(service.counters)
    lines = [line for s in services for line in fit(s.counters.emf(s.name, now))]
    for service in services:
        evidence = getattr(service, "evidence_lines", None)
        if evidence is not None:
            lines += evidence(now)
    write_lines(lines)


async def _emit_metrics_every(interval: float, services: Sequence[Service]) -> None:
    while True:
        await asyncio.sleep(interval)
        _write_metrics(services)


async def _stop_all(services: Sequence[Service]) -> None:
    for service in services:
        get_logger().info(f"{service.name}.stopping")
        try:
            await asyncio.wait_for(service.stop(), STOP_TIMEOUT)
        except Exception as exc:  # a failed drain must not keep the others from draining
            get_logger().error(f"{service.name}.stop_failed", error=repr(exc))


async def serve(services: Sequence[Service], metrics_interval: float) -> int:
    """Start everything, wait for a stop signal, drain; returns the exit status."""
    log = get_logger()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    started: list[Service] = []
    health_runners: list[web.AppRunner] = []
    try:
        for service in services:
            try:
                addresses = await service.start()
                started.append(service)
                if service.health is not None:
                    runner, bound = await start_health_server(service, service.health)
                    health_runners.append(runner)
                    addresses = {**addresses, "health": bound}
            except Exception as exc:
                log.error(f"{service.name}.failed", error=str(exc) or repr(exc))
                await _stop_all(started)
                return 1
            log.info(f"{service.name}.started", **addresses)

        metrics = asyncio.create_task(_emit_metrics_every(metrics_interval, services))
        await stop.wait()
        await cancel(metrics)
        await _stop_all(started)
        _write_metrics(started)
        log.info("stopped", services=[s.name for s in started])
        return 0
    finally:
        for runner in health_runners:
            await runner.cleanup()
        _drain_stdout()


def _drain_stdout() -> None:
    """Everything queued reaches stdout before the process exits (within ECS's stop timeout)."""
    buffered = stdout.buffered()
    if buffered is not None and not buffered.close():
        print("edge-bridge: stdout stuck at exit; queued lines lost", file=sys.stderr)
    sys.stdout.flush()


def run(services: Sequence[Service], settings: CommonSettings) -> int:
    """The synchronous entry point every daemon's ``main`` ends in."""
    stdout.install(settings.stdout_buffer, settings.stdout_stall)
    configure_logging()
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.run(serve(services, settings.metrics_interval))
    return uvloop.run(serve(services, settings.metrics_interval))
