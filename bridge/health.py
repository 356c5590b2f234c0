"""``GET /healthz`` for the NLB target groups, which cannot health-check UDP themselves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from bridge import stdout
from bridge.service import Service
from bridge.settings import HostPort, format_address


def healthz_handler(
    service: Service,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """200 while ``service.ready()`` and stdout flows, else 503; the body is the counters, and
    the service's ``warnings`` (what an operator must know, such as uploads taken without
    auth) if any.

    A daemon whose lines cannot leave (stdout stuck, bridge/stdout.py) is not doing its job:
    its audit trail is not reaching CloudWatch.
    """

    async def handle(_request: web.Request) -> web.StreamResponse:
        stdout.report(service.counters)
        ready = service.ready() and not stdout.stalled()
        body: dict[str, object] = {
            "status": "ok" if ready else "unavailable",
            "service": service.name,
            "counters": service.counters.snapshot(),
        }
        warnings = getattr(service, "warnings", None)
        if warnings:
            body["warnings"] = list(warnings)
        return web.json_response(body, status=200 if ready else 503)

    return handle


async def start_health_server(service: Service, address: HostPort) -> tuple[web.AppRunner, str]:
    """Serve /healthz on its own port; returns the runner and the bound address."""
    app = web.Application()
    app.router.add_get("/healthz", healthz_handler(service))
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, address.host, address.port, reuse_address=True)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, format_address(host, port)
