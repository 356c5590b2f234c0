"""``edge-bridge syslog``: settings in, a running receiver (one process or a worker pool)."""

from __future__ import annotations

from collections.abc import Sequence

from bridge.runner import run
from bridge.service import Service
from bridge.settings import load_settings
from syslog_receiver.settings import SyslogSettings

SETTINGS = SyslogSettings


def build(settings: SyslogSettings) -> Service:
    if settings.workers > 1:
        from syslog_receiver.workers import WorkerPool

        return WorkerPool(settings)
    from syslog_receiver.server import SyslogService

    return SyslogService(settings)


def main(argv: Sequence[str]) -> int:
    settings = load_settings(SyslogSettings, argv, prog="edge-bridge syslog")
    return run([build(settings)], settings)
