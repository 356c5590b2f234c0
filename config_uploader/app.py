"""The HTTP face of the config uploader: uploads in every shape routers send, and a read API.

Routers retry on anything but 200, so a good upload is answered as soon as it is stored, and a
bad one gets a status that says why (400 empty or undecodable, 401, 403, 413, 429, 503 when the
store fails) and is counted under ``rejected_<reason>``. Bodies are read as streams under
``--max-body`` (the Content-Length is checked first, then every chunk), and gzip is undone by
:mod:`config_uploader.body` under the same cap, so neither a huge body nor a gzip bomb can
exhaust memory. aiohttp's own request decompression is off: it would not apply the cap.

``/healthz`` is exempt from ``--allow`` and Basic auth: the NLB health checker has neither.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import BodyPartReader, hdrs, web
from aiohttp.http_exceptions import HttpProcessingError

from bridge.guard import Allowlist, RateLimiter
from bridge.health import healthz_handler
from bridge.logging import get_logger
from bridge.metrics import Counters
from bridge.service import Service
from config_uploader.body import BodyError, TooLarge, decode_body
from config_uploader.compliance.kind import Kind, KindError, parse_kind, split_key
from config_uploader.credentials import Credentials
from config_uploader.ingest import MAX_ERROR, IngestResult, Upload
from config_uploader.page import LivePage
from config_uploader.pipeline import IngestPipeline
from config_uploader.reads import Reads
from config_uploader.refusals import Refusals
from config_uploader.settings import ConfigSettings
from config_uploader.store import StoreError

READ_CHUNK = 64 * 1024
MAX_FIELD = 1024


STATUS = {"empty": 400, "undecodable": 400, "too_large": 413, "kind": 400}


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", headers=headers
    )


def peer_ip(request: web.Request) -> str:
    """The TCP peer: the NLB preserves client addresses for instance and IP targets."""
    return request.remote or ""


async def read_capped(stream: Any, limit: int) -> bytes:
    """Read a request or part body, refusing it as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = await (
            stream.read_chunk(READ_CHUNK)
            if isinstance(stream, BodyPartReader)
            else stream.read(READ_CHUNK)
        )
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            raise TooLarge(limit)
        chunks.append(chunk)


class UploadApp:
    """Builds the aiohttp application around a :class:`ConfigService`."""

    def __init__(
        self,
        settings: ConfigSettings,
        health: Service,
        pipeline: IngestPipeline,
        reads: Reads,
        credentials: Credentials,
    ) -> None:
        self.settings = settings
        self.health = health
        self.counters: Counters = health.counters
        self.pipeline = pipeline
        self.reads = reads
        self.credentials = credentials
        self.allowlist = Allowlist(settings.allow)
        self.limiter = RateLimiter(settings.rate_limit, settings.rate_burst)
        self.refusals = Refusals(self.counters, settings.metrics_interval)
        self.log = get_logger()
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def drained(self) -> None:
        """Return once no upload is being received or stored.

        aiohttp's own graceful shutdown stops reading request bodies at once, which would cut
        every upload still arriving; the service waits here first, with the listener closed.
        """
        await self._idle.wait()

    def build(self) -> web.Application:
        app = web.Application(
            client_max_size=self.settings.max_body,
            middlewares=[self.guard],
        )
        app.router.add_get("/healthz", healthz_handler(self.health))
        app.router.add_route("PUT", "/upload/{path:.*}", self.upload)
        app.router.add_route("POST", "/upload/{path:.*}", self.upload)
        app.router.add_post("/oxidized", self.oxidized)
        app.router.add_get("/routers", self.routers)
        app.router.add_get("/routers/{name}", self.router)
        app.router.add_get("/routers/{name}/remediation", self.remediation)
        app.router.add_get("/compliance", self.compliance)
        app.router.add_get("/routers/{name}/versions", self.versions)
        app.router.add_get("/routers/{name}/versions/{version}", self.version)
        app.router.add_get("/routers/{name}/diff", self.diff)
        LivePage(self.settings, self.reads, self.pipeline).add_routes(app)
        return app

    # -- protection --------------------------------------------------------------------------

    @web.middleware
    async def guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path == "/healthz":
            return await handler(request)
        ip = peer_ip(request)
        if not self.allowlist.permits(ip):
            return self.reject("forbidden", ip, request.path, "source address not allowed", 403)
        is_upload = request.method in ("PUT", "POST")
        if is_upload and not self.limiter.allow(ip, time.monotonic()):
            self.counters.incr("rejected_rate")
            return _json({"error": "too many uploads"}, 429, {"Retry-After": "1"})
        authenticated = False
        if self.credentials.enabled:
            if not self.credentials.check(request.headers.get(hdrs.AUTHORIZATION)):
                response = self.reject("auth", ip, request.path, "bad or missing credentials", 401)
                response.headers[hdrs.WWW_AUTHENTICATE] = 'Basic realm="edge-bridge"'
                return response
            authenticated = True
        request["authenticated"] = authenticated
        self.in_flight += 1
        self._idle.clear()
        try:
            return await handler(request)
        except StoreError as exc:
            self.counters.incr("store_errors")
            self.log.error(
                "config.store_error", error=str(exc)[:MAX_ERROR], path=request.path[:MAX_ERROR]
            )
            return _json({"error": "store unavailable, retry later"}, 503, {"Retry-After": "5"})
        except web.HTTPException:
            raise
        except Exception as exc:  # a bug must cost one request and one counted line, no more
            self.counters.incr("internal_errors")
            self.log.error(
                "config.internal_error",
                error=_without_text(exc),
                path=request.path[:MAX_ERROR],
            )
            return _json({"error": "internal error"}, 500)
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self._idle.set()

    def reject(self, reason: str, ip: str, path: str, detail: str, status: int) -> web.Response:
        self.refusals.refuse(reason, ip, path, detail, time.monotonic())
        return _json({"error": detail}, status)

    # -- uploads -----------------------------------------------------------------------------

    async def upload(self, request: web.Request) -> web.StreamResponse:
        now = time.time()
        ip = peer_ip(request)
        path = request.match_info["path"]
        hint = request.query.get("router") or None
        kind = request.query.get("kind")
        limit = self.settings.max_body
        try:
            if request.content_length is not None and request.content_length > limit:
                raise TooLarge(limit)
            if request.content_type.startswith("multipart/"):
                uploads = await self._multipart(request, ip, path, hint, kind, now)
            else:
                raw = await read_capped(request.content, limit)
                data = decode_body(raw, request.headers.get(hdrs.CONTENT_ENCODING), limit)
                uploads = [Upload(data, ip, "raw", path, None, hint, now, kind=kind)]
        except BodyError as exc:
            return self.reject(exc.reason, ip, request.path, exc.detail, STATUS[exc.reason])
        return await self._ingest(uploads)

    async def _multipart(
        self,
        request: web.Request,
        ip: str,
        path: str,
        hint: str | None,
        kind: str | None,
        now: float,
    ) -> list[Upload]:
        """Each part with a filename is one upload; a ``router`` field names the router, a
        ``kind`` field says running or startup."""
        limit = self.settings.max_body
        files: list[tuple[str, bytes, str | None]] = []
        total = 0
        try:
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    raise BodyError("undecodable", "nested multipart is not an upload")
                raw = await read_capped(part, limit - total)
                total += len(raw)
                if part.filename:
                    files.append((part.filename, raw, part.headers.get(hdrs.CONTENT_ENCODING)))
                elif part.name == "router" and len(raw) <= MAX_FIELD:
                    hint = raw.decode("utf-8", "replace").strip() or hint
                elif part.name == "kind" and len(raw) <= MAX_FIELD:
                    kind = raw.decode("utf-8", "replace").strip() or kind
        except (ValueError, AssertionError, HttpProcessingError) as exc:
            # The parser's message quotes the body (a bad boundary or header line): only the
            # kind of error is told, so no body text reaches stdout.
            raise BodyError("undecodable", f"bad multipart body ({type(exc).__name__})") from None
        if not files:
            raise BodyError("empty", "multipart body without a file part")
        return [
            Upload(
                decode_body(raw, encoding, limit), ip, "multipart", path, name, hint, now, kind=kind
            )
            for name, raw, encoding in files
        ]

    async def oxidized(self, request: web.Request) -> web.StreamResponse:
        """Oxidized's HTTP output: JSON with ``node``, ``group``, ``config``, ``msg``, ``user``."""
        now = time.time()
        ip = peer_ip(request)
        limit = self.settings.max_body
        try:
            if request.content_length is not None and request.content_length > limit:
                raise TooLarge(limit)
            raw = decode_body(
                await read_capped(request.content, limit),
                request.headers.get(hdrs.CONTENT_ENCODING),
                limit,
            )
            try:
                doc = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise BodyError("undecodable", "body is not JSON") from None
            if not isinstance(doc, dict) or not isinstance(doc.get("config"), str):
                raise BodyError("undecodable", "expected a JSON object with a 'config' string")
            node = doc.get("node")
            hint = request.query.get("router") or (node if isinstance(node, str) else None)
            config = doc["config"].encode()
            if not config.strip():
                raise BodyError("empty", "empty config")
            context = {k: str(doc[k])[:200] for k in ("group", "msg", "user") if doc.get(k)}
            upload = Upload(config, ip, "oxidized", "", None, hint, now, context)
        except BodyError as exc:
            return self.reject(exc.reason, ip, request.path, exc.detail, STATUS[exc.reason])
        return await self._ingest([upload])

    async def _ingest(self, uploads: list[Upload]) -> web.Response:
        results: list[IngestResult] = []
        for upload in uploads:
            try:
                prepared = await self.pipeline.prepare(upload)
            except BodyError as exc:
                detail = exc.detail
                return self.reject(
                    exc.reason, upload.source_ip, upload.path, detail, STATUS[exc.reason]
                )
            results.append(await self.pipeline.ingest(prepared))
        shown = [result.to_dict() for result in results]
        return _json(shown[0] if len(shown) == 1 else {"uploads": shown})

    # -- read API ----------------------------------------------------------------------------

    async def routers(self, _request: web.Request) -> web.StreamResponse:
        return _json({"routers": await self.reads.router_summaries()})

    async def router(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        found = await self.reads.router(name)
        if found is None:
            return _json({"error": f"no router {name!r}"}, 404)
        return _json(found)

    async def compliance(self, _request: web.Request) -> web.StreamResponse:
        return _json(await self.reads.compliance())

    async def remediation(self, request: web.Request) -> web.StreamResponse:
        """The commands that would bring the router's failing features to the desired config."""
        name = request.match_info["name"]
        redacted = self.wants_redacted(request)
        if not redacted and not self.may_read_unredacted(request):
            detail = "unredacted configs need --allow-unredacted and Basic auth"
            return self.reject("forbidden", peer_ip(request), request.path, detail, 403)
        found = await self.reads.remediation(name, redacted)
        if found is None:
            return _json({"error": f"no router {name!r} with a desired config"}, 404)
        if not redacted:
            self.log.warning(
                "config.unredacted_read",
                router=found["router"],
                version=found["version"],
                source_ip=peer_ip(request),
                what="remediation",
            )
        return _json(found)

    @staticmethod
    def wants_redacted(request: web.Request) -> bool:
        return request.query.get("redacted", "1").lower() not in ("0", "false", "no")

    def may_read_unredacted(self, request: web.Request) -> bool:
        return self.settings.allow_unredacted and bool(request["authenticated"])

    @staticmethod
    def history(request: web.Request) -> Kind:
        """``?kind=`` of a read (running unless it says startup); KindError when bad."""
        return parse_kind(request.query.get("kind") or "running")

    async def versions(self, request: web.Request) -> web.StreamResponse:
        """Every version, oldest first; ``?limit=N`` keeps the newest N."""
        name = request.match_info["name"]
        limit = request.query.get("limit", "0")
        if not limit.isdigit():
            return _json({"error": "limit must be a non-negative integer"}, 400)
        try:
            kind = self.history(request)
        except KindError as exc:
            return _json({"error": str(exc)}, 400)
        metas = await self.reads.versions(name, kind)
        if not metas:
            return _json({"error": f"no router {name!r}"}, 404)
        shown = metas[-int(limit) :] if int(limit) else metas
        return _json(
            {
                "router": split_key(metas[-1].router)[0],
                "kind": kind,
                "count": len(metas),
                "versions": [m.to_dict() for m in shown],
            }
        )

    async def version(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        redacted = self.wants_redacted(request)
        if not redacted and not self.may_read_unredacted(request):
            detail = "unredacted configs need --allow-unredacted and Basic auth"
            return self.reject("forbidden", peer_ip(request), request.path, detail, 403)
        try:
            kind = self.history(request)
        except KindError as exc:
            return _json({"error": str(exc)}, 400)
        found = await self.reads.read_version(name, request.match_info["version"], kind)
        if found is None:
            return _json({"error": "no such version"}, 404)
        meta, data = found
        headers = {
            "X-Router": split_key(meta.router)[0],
            "X-Kind": kind,
            "X-Version": meta.version,
            "X-Vendor": meta.vendor,
            "X-Sha256": meta.sha256,
        }
        if redacted:
            return web.Response(
                text=await self.reads.redacted_text(data, meta.vendor),
                content_type="text/plain",
                headers=headers,
            )
        # Reading secrets is an auditable act: it leaves a line in the log.
        self.log.warning(
            "config.unredacted_read",
            router=meta.router,
            version=meta.version,
            source_ip=peer_ip(request),
        )
        return web.Response(body=data, content_type="application/octet-stream", headers=headers)

    async def diff(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        result = await self.reads.diff_versions(
            name, request.query.get("from") or None, request.query.get("to") or None
        )
        if result is None:
            return _json({"error": "no such router or version"}, 404)
        return web.Response(text=result, content_type="text/x-diff")


def _without_text(exc: BaseException) -> str:
    """The kind of ``exc`` and where it was raised, without its message: a message may quote
    the body (a config and its secrets), which must not reach stdout."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{where}"
