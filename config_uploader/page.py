"""The live page: the auditor's view, served by the config daemon at ``/`` and ``/evidence/NAME``.

The same verdicts and the same template as ``edge-bridge report``, drawn from what this daemon
holds: the config evidence from its store (every version, the latest state, the drift from
the desired config, computed when asked), and the log and time evidence of the other two
daemons from CloudWatch Logs when ``--evidence-log-group`` names their group (read at most
once a minute, over the last 24 hours). Without it, 10.3.3 and 10.6 are ``unknown`` and the
page says why. Plain server-rendered HTML, printable; every page is also JSON
(``?format=json`` or ``Accept: application/json``). It sits behind the app's guard, so it asks
for the same credentials as the read API.
"""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from bridge.output import iso_utc
from bridge.report.cloudwatch import CloudWatchError, log_lines
from bridge.report.facts import Facts
from bridge.report.read import decode
from bridge.report.render import to_html
from bridge.report.verdicts import Rules, judge
from config_uploader.reads import store_name

if TYPE_CHECKING:
    from config_uploader.pipeline import IngestPipeline
    from config_uploader.reads import Reads
    from config_uploader.settings import ConfigSettings

__all__ = ["LivePage"]

WINDOW = 86400.0  # the page judges the last 24 hours, as a daily log review does
REFRESH = 60.0  # seconds between reads of the other daemons' evidence from CloudWatch
_OTHER_DAEMONS = ("syslog", "ntp")


class FleetEvidence:
    """The syslog and NTP evidence lines of the last ``WINDOW``, cached for ``REFRESH``."""

    def __init__(self, groups: tuple[str, ...]) -> None:
        self.groups = groups
        self.error: str | None = None
        self._lines: list[dict[str, Any]] = []
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    async def records(self, now: float) -> list[dict[str, Any]]:
        if not self.groups:
            return []
        async with self._lock:
            if now - self._read_at >= REFRESH:
                try:
                    raw = await asyncio.to_thread(
                        lambda: list(log_lines(self.groups, now - WINDOW, now))
                    )
                    self.error = None
                except CloudWatchError as exc:  # shown on the page; the old lines stay
                    self.error = str(exc)
                    raw = None
                if raw is not None:
                    decoded = (decode(line)[0] for line in raw)
                    self._lines = [r for r in decoded if r and _daemon(r) in _OTHER_DAEMONS]
                self._read_at = now
            return self._lines


def _daemon(record: dict[str, Any]) -> str:
    event = str(record.get("event", ""))
    return str(record.get("service")) if event == "metrics" else event.split(".", 1)[0]


def _saved(saved: dict[str, Any] | None, now: float, grace: float) -> dict[str, Any] | None:
    """The store's running-vs-startup state in the report's shape (``since`` as ISO 8601)."""
    if not saved or saved.get("state") not in ("saved", "unsaved"):
        return None
    since = saved.get("since")
    overdue = (
        saved["state"] == "unsaved" and isinstance(since, float | int) and now - since >= grace
    )
    return {
        "time": now,
        "state": saved["state"],
        "running": saved.get("running"),
        "startup": saved.get("startup"),
        "since": iso_utc(since) if isinstance(since, float | int) else None,
        "overdue": overdue,
    }


def _compliance(state: dict[str, Any] | None, at: float) -> dict[str, Any] | None:
    """The store's compliance state in the report's shape (failing feature names)."""
    if not state:
        return None
    features = state.get("features")
    failing = [n for n, ok in features.items() if not ok] if isinstance(features, dict) else []
    return {
        "time": at,
        "version": state.get("version"),
        "percent": state.get("percent"),
        "compliant": not failing,
        "failing": failing,
    }


def wants_json(request: web.Request) -> bool:
    if request.query.get("format") == "json":
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def _json(body: Any) -> web.Response:
    return web.Response(
        body=orjson.dumps(body, option=orjson.OPT_INDENT_2), content_type="application/json"
    )


class LivePage:
    """The page's handlers: the store's reads, the pipeline's desired configs."""

    def __init__(self, settings: ConfigSettings, reads: Reads, pipeline: IngestPipeline) -> None:
        self.settings = settings
        self.reads = reads
        self.pipeline = pipeline
        self.evidence = FleetEvidence(settings.evidence_log_group)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self.index)
        app.router.add_get("/evidence/{name}", self.router)

    async def document(self, now: float, only: str | None = None) -> dict[str, Any]:
        """The report document over the last ``WINDOW``, config facts from the store."""
        facts = Facts(dict(self.settings.router), now - WINDOW, now)
        for record in await self.evidence.records(now):
            facts.add(record)
        facts.channels.add("config")
        desired = self.pipeline.desired
        for state in await self.reads.router_states():
            if only is not None and state.router != only:
                continue
            config = facts.router(state.router).config
            config.uploads = None  # the store keeps versions, not every unchanged upload
            config.last_upload = state.last_upload
            config.latest_version = state.last_version
            config.saved = _saved(state.saved, now, self.settings.unsaved_grace)
            config.compliance = _compliance(state.compliance, state.last_upload)
            if state.drift is not None:
                config.check_time = state.last_upload
                config.check = {
                    "time": state.last_upload,
                    "result": "drift" if state.drift else "in_sync",
                    "version": state.last_version,
                    "desired": desired.description if desired else None,
                    "reason": "differs" if state.drift else None,
                    "error": None,
                }
        doc = judge(facts, now - WINDOW, now, Rules(max_silence=self.settings.max_silence))
        if only is not None:
            doc["routers"] = {k: v for k, v in doc["routers"].items() if k == only}
        findings = doc["fleet"]["findings"]
        if not self.evidence.groups:
            findings.append(
                "this page reads the syslog and NTP evidence from CloudWatch Logs:"
                " set --evidence-log-group to the daemons' log group"
            )
        elif self.evidence.error is not None:
            findings.append(f"the syslog and NTP evidence could not be read: {self.evidence.error}")
        return doc

    async def index(self, request: web.Request) -> web.StreamResponse:
        now = time.time()
        doc = await self.document(now)
        if wants_json(request):
            return _json(doc)
        html = to_html(
            doc,
            title="edge-bridge: PCI DSS evidence, live",
            generated=iso_utc(now),
            router_href=lambda name: "/evidence/" + urllib.parse.quote(name, safe=""),
            nav=[("Fleet", "/"), ("JSON", "/?format=json")],
            show_details=False,
        )
        return web.Response(text=html, content_type="text/html")

    async def router(self, request: web.Request) -> web.StreamResponse:
        now = time.time()
        name = store_name(request.match_info["name"])
        metas = await self.reads.versions(name) if name else []
        found = await self.reads.read_version(name, metas[-1].version) if name and metas else None
        if name is None or found is None:
            return web.json_response({"error": "no such router"}, status=404)
        doc = await self.document(now, only=name)
        verdicts = doc["routers"][name]
        latest, data = found
        desired, drift_diff = await self.pipeline.drift_from_desired(latest, data)
        change = await self.reads.diff_versions(name, None, latest.version)
        remediation = await self.reads.remediation(name, redacted=True)
        body = {
            "router": name,
            "period": doc["period"],
            "verdicts": verdicts,
            "drift": {"desired": desired, "diff": drift_diff},
            "change": {
                "from": None if latest.seq <= 1 else metas[-2].version,
                "to": latest.version,
                "diff": change or "",
            },
            "versions": [{**m.to_dict(), "received_at": iso_utc(m.received_at)} for m in metas],
            "remediation": remediation,
        }
        if wants_json(request):
            return _json(body)
        html = to_html(
            doc,
            template="router.html",
            title=f"{name}: PCI DSS evidence, live",
            generated=iso_utc(now),
            nav=[("Fleet", "/"), ("JSON", f"/evidence/{urllib.parse.quote(name)}?format=json")],
            router=name,
            verdicts=verdicts,
            versions=body["versions"],
            drift=body["drift"],
            remediation=remediation,
            change={
                "title": f"{body['change']['from'] or 'empty'} to {latest.version}",
                "diff": body["change"]["diff"],
            }
            if change
            else None,
        )
        return web.Response(text=html, content_type="text/html")
