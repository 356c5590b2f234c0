"""The config uploader's lifecycle: build the pipeline and the HTTP app, serve, drain, stop.

What an upload goes through is :mod:`config_uploader.pipeline` around the sans-IO core
:mod:`config_uploader.ingest`; what is checked before it, :mod:`config_uploader.gate`; what it
is answered, :mod:`config_uploader.app`. Here: the settings become objects (a bad inventory
or credential file stops the daemon with exit status 2), the listener is bound behind the
connection caps, and once per metrics interval the refusal summaries and the stale routers
are written.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time

from aiohttp import web

from bridge.evidence import evidence_lines, router_emf_lines
from bridge.inventory import Inventory, read_inventory
from bridge.logging import get_logger
from bridge.metrics import Counters
from bridge.settings import HostPort, fail, format_address
from bridge.stdout import write_lines
from config_uploader.app import UploadApp
from config_uploader.compliance.judge import Judge, Judged, Metric
from config_uploader.connections import ConnectionGuard, GuardedSite
from config_uploader.credentials import CredentialBook, hash_password, read_hash_file
from config_uploader.desired import DesiredSource, open_desired
from config_uploader.gate import REASONS, Gate
from config_uploader.ingest import Role, judged_lines, redact_for
from config_uploader.naming import Namer
from config_uploader.pipeline import IngestPipeline
from config_uploader.reads import Reads, store_name
from config_uploader.settings import ConfigSettings
from config_uploader.stale import StaleWatch
from config_uploader.store import Store, StoreError, open_store

# Uploads in flight get this long to finish at SIGTERM (the runner gives a service 5 s).
STOP_GRACE = 4.0
# The desired source is listed again (for the stale check) this often.
DESIRED_LIST_EVERY = 3600.0
INSECURE = "uploads and reads are accepted without authentication on a non-loopback address"


def credential_book(settings: ConfigSettings, inventory: Inventory, prog: str) -> CredentialBook:
    """Every credential of the settings; a bad file or a user given twice exits 2."""
    entries: list[tuple[str, str, Role, str | None]] = []
    for key in inventory.names():
        router = inventory.routers[key]
        if router.credential is not None:
            entries.append((router.name, router.credential, "router", router.name))
    for option, path, plain, role in (
        ("--basic-auth-file", settings.basic_auth_file, settings.basic_auth, "uploader"),
        ("--reader-auth-file", settings.reader_auth_file, settings.reader_auth, "reader"),
    ):
        try:
            pairs = read_hash_file(path) if path else []
        except ValueError as exc:
            fail(prog, f"invalid {option} {path!r}: {exc}")
        if plain:
            user, _, password = plain.partition(":")
            pairs.append((user, hash_password(password)))
        entries += [(user, hashed, role, None) for user, hashed in pairs]  # type: ignore[misc]
    try:
        return CredentialBook(entries)
    except ValueError as exc:
        fail(prog, f"invalid credentials: {exc}")


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


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
            *(f"rejected_{reason}" for reason in REASONS),
            "rejected_connections",
            "rejected_connections_per_address",
            "rejected_header_timeout",
            gauges=("connections", "stale_routers"),
        )
        try:
            self.inventory = Inventory(read_inventory(settings.inventory), settings.router)
        except ValueError as exc:
            fail(prog, f"invalid --inventory/--router: {exc}")
        book = credential_book(settings, self.inventory, prog)
        self.store = store if store is not None else open_store(settings.store)
        self.desired = (
            desired if desired is not None else open_desired(settings.desired, settings.max_body)
        )
        self.stale = StaleWatch(settings.stale_after, time.time())
        self.judge = Judge(settings.compliance, redact_for, settings.unsaved_grace)
        self.pipeline = IngestPipeline(
            self.store,
            self.desired,
            self.counters,
            Namer(self.inventory),
            judge=self.judge,
            on_stored=self.stale.uploaded,
        )
        self.connections = ConnectionGuard(
            self.counters,
            settings.max_connections,
            settings.max_connections_per_address,
            settings.header_timeout,
        )
        self.gate = Gate(settings, self.counters, book, self.connections)
        reads = Reads(self.store, self.judge, self.desired, settings.stale_after)
        self.app = UploadApp(settings, self, self.gate, self.pipeline, reads)
        self.warnings: list[str] = []
        if not book.enabled and not is_loopback(settings.listen.host):
            self.warnings.append(INSECURE)
        self.log = get_logger()
        self._runner: web.AppRunner | None = None
        self._serving = False
        self._ticker: asyncio.Task[None] | None = None
        self._listed_desired = float("-inf")

    def ready(self) -> bool:
        return self._serving

    async def start(self) -> dict[str, str]:
        await self.store.open()
        self.pipeline.evidence.seed(await self.app.reads.router_states())
        await self._expect_routers(time.time())
        # auto_decompress off: body.py gunzips under the caps, aiohttp would not apply them.
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
        await GuardedSite(runner, listen.host, listen.port, self.connections).start()
        host, port = runner.addresses[0][:2]
        self._serving = True
        for warning in self.warnings:
            self.log.warning("config.insecure", detail=warning)
        self._ticker = asyncio.create_task(self._tick())
        return {
            "listen": format_address(host, port),
            "store": self.store.description,
            "desired": self.desired.description if self.desired else "",
            "compliance": self.settings.compliance.source if self.settings.compliance else "",
            "auth": "basic" if self.gate.book.enabled else "none",
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

    async def _expect_routers(self, now: float) -> None:
        """The routers of the inventory and of ``--desired``, with their last known upload."""
        names = {n for key in self.inventory.names() if (n := store_name(key))}
        if self.desired is not None:
            try:
                names |= {n for raw in await self.desired.routers() if (n := store_name(raw))}
            except StoreError as exc:
                self.log.error("config.desired_error", error=str(exc)[:2000])
        self._listed_desired = now
        for router in names - set(self.stale.last):
            try:
                state = await self.app.reads.router_state(router)
            except StoreError:
                continue
            if state is not None:
                self.stale.uploaded(router, state.last_upload)
        self.stale.expect(names)

    async def _tick(self) -> None:
        """Once per metrics interval: refusal summaries that are due, how many routers are
        unsaved past the grace period (so the alarm fires without another upload), then stale
        routers."""
        while True:
            await asyncio.sleep(self.settings.metrics_interval)
            self.gate.refusals.flush(time.monotonic())
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
            if now - self._listed_desired >= DESIRED_LIST_EVERY:
                await self._expect_routers(now)
            self.check(now)

    def check(self, now: float) -> None:
        """Write the ``config.stale`` lines and set the gauges."""
        lines = self.stale.lines(now)
        self.counters.set_gauge("stale_routers", len(lines))
        self.counters.set_gauge("connections", self.connections.table.total)
        if lines:
            write_lines(lines)

    async def stop(self) -> None:
        """Close the listener, let requests in flight finish (up to STOP_GRACE), then close."""
        self._serving = False
        if self._ticker is not None:
            self._ticker.cancel()
        if self._runner is not None:
            for site in list(self._runner.sites):
                await site.stop()
            try:
                async with asyncio.timeout(STOP_GRACE):
                    await self.gate.drained()
            except TimeoutError:
                self.log.warning("config.stop_timeout", in_flight=self.gate.in_flight)
            await self._runner.cleanup()
            self._runner = None
        self.gate.refusals.flush(time.monotonic(), final=True)
        await self.store.close()
