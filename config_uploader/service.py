"""The config uploader's lifecycle: build the pipeline and the HTTP app, serve, drain, stop.

What an upload goes through is :mod:`config_uploader.pipeline` around the sans-IO core
:mod:`config_uploader.ingest`; what it is answered is :mod:`config_uploader.app`.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from bridge.evidence import evidence_lines, router_emf_lines
from bridge.logging import get_logger
from bridge.metrics import Counters
from bridge.settings import HostPort, fail, format_address
from bridge.stdout import write_lines
from config_uploader.app import UploadApp
from config_uploader.compliance.judge import Judge, Judged, Metric
from config_uploader.credentials import Credentials
from config_uploader.desired import DesiredSource, open_desired
from config_uploader.ingest import judged_lines, redact_for
from config_uploader.naming import Namer
from config_uploader.pipeline import IngestPipeline
from config_uploader.reads import Reads
from config_uploader.settings import ConfigSettings, read_credentials_file
from config_uploader.store import Store, open_store

REJECT_REASONS = ("empty", "undecodable", "too_large", "auth", "forbidden", "rate", "kind")
# Uploads in flight get this long to finish at SIGTERM (the runner gives a service 5 s).
STOP_GRACE = 4.0


def read_credentials(settings: ConfigSettings, prog: str) -> Credentials:
    """Basic auth pairs from the file and the variable; bad ones stop the daemon (exit 2)."""
    pairs: list[str] = []
    if settings.basic_auth_file:
        try:
            pairs = read_credentials_file(settings.basic_auth_file)
        except ValueError as exc:
            fail(prog, f"invalid --basic-auth-file {settings.basic_auth_file!r}: {exc}")
    if settings.basic_auth:
        pairs.append(settings.basic_auth)
    return Credentials(pairs)


class ConfigService:
    """The ``config`` service of :mod:`bridge.runner`; serves its own ``/healthz``."""

    name = "config"
    health: HostPort | None = None

    def __init__(
        self,
        settings: ConfigSettings,
        prog: str = "edge-bridge config",
        store: Store | None = None,
        desired: DesiredSource | None = None,
    ) -> None:
        self.settings = settings
        self.counters = Counters(
            "uploads",
            "changed",
            "unchanged",
            "drift",
            "in_sync",
            "saved",
            "unsaved",
            "compliant",
            "non_compliant",
            "store_errors",
            "internal_errors",
            *(f"rejected_{reason}" for reason in REJECT_REASONS),
        )
        self.store = store if store is not None else open_store(settings.store)
        self.desired = (
            desired if desired is not None else open_desired(settings.desired, settings.max_body)
        )
        self.judge = Judge(settings.compliance, redact_for, settings.unsaved_grace)
        self.pipeline = IngestPipeline(
            self.store, self.desired, self.counters, Namer(dict(settings.router)), judge=self.judge
        )
        reads = Reads(self.store, self.judge, self.desired)
        self.app = UploadApp(settings, self, self.pipeline, reads, read_credentials(settings, prog))
        self.log = get_logger()
        self._runner: web.AppRunner | None = None
        self._serving = False
        self._ticker: asyncio.Task[None] | None = None

    def ready(self) -> bool:
        return self._serving

    async def start(self) -> dict[str, str]:
        await self.store.open()
        self.pipeline.evidence.seed(await self.app.reads.router_states())
        # auto_decompress off: body.py gunzips under --max-body, aiohttp would not cap it.
        runner = web.AppRunner(
            self.app.build(),
            access_log=None,
            handle_signals=False,
            auto_decompress=False,
            shutdown_timeout=0.5,
        )
        await runner.setup()
        self._runner = runner
        listen = self.settings.listen
        site = web.TCPSite(runner, listen.host, listen.port, reuse_address=True)
        await site.start()
        host, port = runner.addresses[0][:2]
        self._serving = True
        self._ticker = asyncio.create_task(self._tick())
        return {
            "listen": format_address(host, port),
            "store": self.store.description,
            "desired": self.desired.description if self.desired else "",
            "compliance": self.settings.compliance.source if self.settings.compliance else "",
            "auth": "basic" if self.app.credentials.enabled else "none",
        }

    def evidence_lines(self, now: float) -> list[bytes]:
        """The ``config.evidence`` line(s) and per-router EMF: the runner writes them."""
        summary = self.pipeline.evidence.summary(now)
        routers = summary["routers"]
        lines = evidence_lines(
            "config.evidence", routers, now, {"untracked_uploads": summary["untracked_uploads"]}
        )
        metrics = {
            name: {"since_upload": fields["since_upload"], "uploads": float(fields["uploads"])}
            for name, fields in routers.items()
        }
        units = {"since_upload": "Seconds", "uploads": "Count"}
        return lines + router_emf_lines("config.router_metrics", metrics, now, units)

    async def _tick(self) -> None:
        """Once per metrics interval: the refusal summaries that are due, and how many routers
        are unsaved past the grace period (so the alarm fires without another upload)."""
        while True:
            await asyncio.sleep(self.settings.metrics_interval)
            self.app.refusals.flush(time.monotonic())
            now = time.time()
            judged = Judged(
                metrics=[
                    Metric(
                        "config.unsaved_metric",
                        {},
                        {"unsaved_routers": float(self.pipeline.unsaved_routers(now))},
                    )
                ]
            )
            write_lines(judged_lines(judged, now))

    async def stop(self) -> None:
        """Close the listener, let uploads in flight finish (up to STOP_GRACE), then close."""
        self._serving = False
        if self._ticker is not None:
            self._ticker.cancel()
        if self._runner is not None:
            for site in list(self._runner.sites):
                await site.stop()
            try:
                async with asyncio.timeout(STOP_GRACE):
                    await self.app.drained()
            except TimeoutError:
                self.log.warning("config.stop_timeout", in_flight=self.app.in_flight)
            await self._runner.cleanup()
            self._runner = None
        self.app.refusals.flush(time.monotonic(), final=True)
        await self.store.close()
