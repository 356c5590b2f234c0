"""``edge-bridge syslog``: settings in, a running receiver (one process or a worker pool)."""

from __future__ import annotations

import socket
from collections.abc import Sequence

from bridge.runner import run
from bridge.service import Service
from bridge.settings import HostPort, load_settings
from syslog_receiver.server import Receiver, new_counters
from syslog_receiver.settings import SyslogSettings
from syslog_receiver.sockets import open_listeners

SETTINGS = SyslogSettings


class SyslogService:
    """The receiver in this process (``--workers 1``): what ``bridge.runner`` runs."""

    name = "syslog"

    def __init__(self, settings: SyslogSettings) -> None:
        self.settings = settings
        self.health: HostPort | None = settings.health
        self.counters = new_counters()
        self.receiver: Receiver | None = None

    def ready(self) -> bool:
        return self.receiver is not None and self.receiver.serving()

    async def start(self) -> dict[str, str]:
        [(udp, tcp)] = open_listeners(self.settings, 1)
        self.counters.set_gauge(
            "recv_buffer_bytes", udp.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2
        )
        self.receiver = Receiver(self.settings, udp, tcp, self.counters)
        return await self.receiver.start()

    async def stop(self) -> None:
        if self.receiver is not None:
            await self.receiver.stop()


def build(settings: SyslogSettings) -> Service:
    if settings.workers > 1:
        from syslog_receiver.workers import WorkerPool

        return WorkerPool(settings)
    return SyslogService(settings)


def main(argv: Sequence[str]) -> int:
    settings = load_settings(SyslogSettings, argv, prog="edge-bridge syslog")
    return run([build(settings)], settings)
