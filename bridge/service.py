"""The shape every daemon has, so one runner can start, watch and drain any of them."""

from __future__ import annotations

from typing import Protocol

from bridge.metrics import Counters
from bridge.settings import HostPort


class Service(Protocol):
    name: str
    """``syslog``, ``ntp`` or ``config``: the EMF dimension and the event prefix."""
    counters: Counters
    health: HostPort | None
    """Where the runner serves GET /healthz; None when the service serves it itself."""

    def ready(self) -> bool:
        """True while the service can do its job: /healthz answers 200, else 503."""
        ...

    async def start(self) -> dict[str, str]:
        """Bind everything and return the real addresses, e.g. ``{"udp": "127.0.0.1:40001"}``."""
        ...

    async def stop(self) -> None:
        """Stop reading, emit everything already read, release the sockets."""
        ...
