"""The HTTP face of the config uploader: uploads in every shape routers send, and a read API.

Routers retry on anything but 200, so a good upload is answered as soon as it is stored, and a
bad one gets a status that says why (400 empty or undecodable, 401, 403 including a name the
upload may not claim, 408 a body too slow, 413 too large, too many lines or a line too long,
429, 503 when the store fails or too many bodies are held) and is counted under
``rejected_<reason>`` (see :mod:`config_uploader.gate` for what is checked before a handler).

What one request can cost is bounded: a body is read as a stream under ``--max-body`` (the
Content-Length is checked first, then every chunk) within ``--body-timeout``, and the bytes
of all bodies being held at once under ``--max-pending``; gzip is undone by
:mod:`config_uploader.body` a chunk at a time, under ``--max-body`` for all of a request's
parts together and under ``--max-lines``/``--max-line-length`` per config; multipart parts
are read, decoded and stored one at a time (a part refused after others were stored leaves
those stored: each was a whole config). aiohttp's own request decompression is off: it would
not apply the caps.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import orjson
from aiohttp import BodyPartReader, hdrs, web
from aiohttp.http_exceptions import HttpProcessingError

from bridge.health import healthz_handler
from bridge.service import Service
from config_uploader.body import BodyError, Shape, TooLarge
from config_uploader.compliance.kind import Kind, KindError, parse_kind, split_key
from config_uploader.gate import STATUS, Gate, json_response, peer_ip
from config_uploader.ingest import IngestResult, Upload
from config_uploader.page import LivePage
from config_uploader.pipeline import IngestPipeline
from config_uploader.reads import Reads
from config_uploader.settings import ConfigSettings

READ_CHUNK = 64 * 1024
MAX_FIELD = 1024


class PendingBytes:
    """Request body bytes held at once by all uploads, under ``--max-pending``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    def take(self, n: int) -> None:
        if self.held + n > self.limit:
            raise BodyError("busy", "too many upload bytes in flight, retry later")
        self.held += n

    def give(self, n: int) -> None:
        self.held -= n


async def read_capped(stream: Any, limit: int, pending: PendingBytes) -> bytes:
    """Read a request or part body, refusing it as soon as it passes ``limit`` bytes or the
    pending budget; the caller gives back ``len()`` of the result when done with it."""
    chunks: list[bytes] = []
    total = 0
    try:
        while True:
            chunk = await (
                stream.read_chunk(READ_CHUNK)
                if isinstance(stream, BodyPartReader)
                else stream.read(READ_CHUNK)
            )
            if not chunk:
                return b"".join(chunks)
            if total + len(chunk) > limit:
                raise TooLarge(limit)
            pending.take(len(chunk))
            total += len(chunk)
            chunks.append(chunk)
    except BaseException:
        pending.give(total)
        raise


class Budget:
    """Config bytes one request may still decode to (all its parts together)."""

    def __init__(self, limit: int) -> None:
        self.left = limit


class UploadApp:
    """Builds the aiohttp application around an :class:`IngestPipeline` and :class:`Reads`."""

    def __init__(
        self,
        settings: ConfigSettings,
        health: Service,
        gate: Gate,
        pipeline: IngestPipeline,
        reads: Reads,
    ) -> None:
        self.settings = settings
        self.health = health
        self.gate = gate
        self.pipeline = pipeline
        self.reads = reads
        self.pending = PendingBytes(settings.max_pending)

    def build(self) -> web.Application:
        app = web.Application(
            client_max_size=self.settings.max_body, middlewares=[self.gate.middleware]
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

    # -- uploads -----------------------------------------------------------------------------

    async def upload(self, request: web.Request) -> web.StreamResponse:
        ip = peer_ip(request)
        base = Upload(
            data=b"",
            source_ip=ip,
            via="raw",
            path=request.match_info["path"],
            filename=None,
            router_hint=request.query.get("router") or None,
            received_at=time.time(),
            principal=request["principal"],
            kind=request.query.get("kind"),
        )
        try:
            if request.content_type.startswith("multipart/"):
                results = await self._multipart(request, dataclasses.replace(base, via="multipart"))
                return _results(results)
            raw = await self._read(request)
            try:
                encoding = request.headers.get(hdrs.CONTENT_ENCODING)
                budget = Budget(self.settings.max_body)
                return _results([await self._ingest(base, raw, encoding, budget)])
            finally:
                self.pending.give(len(raw))
        except BodyError as exc:
            return self._refused(exc, ip, request.path)

    async def _read(self, request: web.Request) -> bytes:
        limit = self.settings.max_body
        if request.content_length is not None and request.content_length > limit:
            raise TooLarge(limit)
        try:
            async with asyncio.timeout(self.settings.body_timeout):
                return await read_capped(request.content, limit, self.pending)
        except TimeoutError:
            raise BodyError("timeout", "body not received in time") from None

    async def _multipart(self, request: web.Request, base: Upload) -> list[IngestResult]:
        """Each part with a filename is one upload, handled before the next part is read; a
        ``router`` field (before the files) names the router."""
        limit = self.settings.max_body
        if request.content_length is not None and request.content_length > limit:
            raise TooLarge(limit)
        budget = Budget(limit)
        results: list[IngestResult] = []
        read = 0
        try:
            async with asyncio.timeout(self.settings.body_timeout):
                reader = await request.multipart()
                part = await reader.next()
                while part is not None:
                    if not isinstance(part, BodyPartReader):
                        raise BodyError("undecodable", "nested multipart is not an upload")
                    raw = await read_capped(part, limit - read, self.pending)
                    read += len(raw)
                    try:
                        # The next boundary is read before this part is stored: a body cut
                        # short is refused, not stored truncated.
                        following = await reader.next()
                        if not part.filename:
                            base = _with_field(base, part.name, raw)
                        else:
                            # Small fields right after a file (curl -F file -F kind=...) are
                            # the file's too: read them before it is stored.
                            while isinstance(following, BodyPartReader) and (
                                not following.filename and following.name in ("router", "kind")
                            ):
                                field = await read_capped(following, MAX_FIELD + 1, self.pending)
                                self.pending.give(len(field))
                                base = _with_field(base, following.name, field)
                                following = await reader.next()
                            upload = dataclasses.replace(base, filename=part.filename)
                            encoding = part.headers.get(hdrs.CONTENT_ENCODING)
                            results.append(await self._ingest(upload, raw, encoding, budget))
                    finally:
                        self.pending.give(len(raw))
                    part = following
        except TimeoutError:
            raise BodyError("timeout", "body not received in time") from None
        except (ValueError, AssertionError, HttpProcessingError) as exc:
            # The parser's message quotes the body (a bad boundary or header line): only the
            # kind of error is told, so no body text reaches stdout.
            raise BodyError("undecodable", f"bad multipart body ({type(exc).__name__})") from None
        if not results:
            raise BodyError("empty", "multipart body without a file part")
        return results

    async def _ingest(
        self, upload: Upload, raw: bytes, encoding: str | None, budget: Budget
    ) -> IngestResult:
        shape = Shape(self.settings.max_lines, self.settings.max_line_length)
        prepared = await self.pipeline.prepare(upload, raw, encoding, budget.left, shape)
        budget.left -= prepared.meta.size
        return await self.pipeline.ingest(prepared)

    async def oxidized(self, request: web.Request) -> web.StreamResponse:
        """Oxidized's HTTP output: JSON with ``node``, ``group``, ``config``, ``msg``, ``user``."""
        ip = peer_ip(request)
        try:
            raw = await self._read(request)
            try:
                return await self._oxidized(request, ip, raw)
            finally:
                self.pending.give(len(raw))
        except BodyError as exc:
            return self._refused(exc, ip, request.path)

    async def _oxidized(self, request: web.Request, ip: str, raw: bytes) -> web.StreamResponse:
        limit = self.settings.max_body
        body = await self.pipeline.decode(raw, request.headers.get(hdrs.CONTENT_ENCODING), limit)
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise BodyError("undecodable", "body is not JSON") from None
        del body
        if not isinstance(doc, dict) or not isinstance(doc.get("config"), str):
            raise BodyError("undecodable", "expected a JSON object with a 'config' string")
        node = doc.get("node")
        config = doc["config"].encode()
        if not config.strip():
            raise BodyError("empty", "empty config")
        upload = Upload(
            data=b"",
            source_ip=ip,
            via="oxidized",
            path="",
            filename=None,
            router_hint=request.query.get("router") or (node if isinstance(node, str) else None),
            received_at=time.time(),
            context={k: str(doc[k])[:200] for k in ("group", "msg", "user") if doc.get(k)},
            principal=request["principal"],
        )
        return _results([await self._ingest(upload, config, None, Budget(limit))])

    def _refused(self, exc: BodyError, ip: str, path: str) -> web.Response:
        return self.gate.reject(exc.reason, ip, path, exc.detail, STATUS[exc.reason])

    # -- read API ----------------------------------------------------------------------------

    async def routers(self, _request: web.Request) -> web.StreamResponse:
        return json_response({"routers": await self.reads.router_summaries()})

    async def router(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        found = await self.reads.router(name)
        if found is None:
            return json_response({"error": f"no router {name!r}"}, 404)
        return json_response(found)

    async def compliance(self, _request: web.Request) -> web.StreamResponse:
        return json_response(await self.reads.compliance())

    async def remediation(self, request: web.Request) -> web.StreamResponse:
        """The commands that would bring the router's failing features to the desired config."""
        name = request.match_info["name"]
        redacted = self.wants_redacted(request)
        if not redacted and not self.may_read_unredacted(request):
            detail = "unredacted configs need --allow-unredacted and a reader credential"
            return self.gate.reject("forbidden", peer_ip(request), request.path, detail, 403)
        found = await self.reads.remediation(name, redacted)
        if found is None:
            return json_response({"error": f"no router {name!r} with a desired config"}, 404)
        if not redacted:
            self.gate.log.warning(
                "config.unredacted_read",
                router=found["router"],
                version=found["version"],
                source_ip=peer_ip(request),
                what="remediation",
            )
        return json_response(found)

    @staticmethod
    def wants_redacted(request: web.Request) -> bool:
        return request.query.get("redacted", "1").lower() not in ("0", "false", "no")

    def may_read_unredacted(self, request: web.Request) -> bool:
        principal = request["principal"]
        reader = principal is not None and principal.role == "reader"
        return self.settings.allow_unredacted and reader

    @staticmethod
    def history(request: web.Request) -> Kind:
        """``?kind=`` of a read (running unless it says startup); KindError when bad."""
        return parse_kind(request.query.get("kind") or "running")

    async def versions(self, request: web.Request) -> web.StreamResponse:
        """Every version, oldest first; ``?limit=N`` keeps the newest N."""
        name = request.match_info["name"]
        limit = request.query.get("limit", "0")
        if not limit.isdigit():
            return json_response({"error": "limit must be a non-negative integer"}, 400)
        try:
            kind = self.history(request)
        except KindError as exc:
            return json_response({"error": str(exc)}, 400)
        metas = await self.reads.versions(name, kind)
        if not metas:
            return json_response({"error": f"no router {name!r}"}, 404)
        shown = metas[-int(limit) :] if int(limit) else metas
        return json_response(
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
            detail = "unredacted configs need --allow-unredacted and a reader credential"
            return self.gate.reject("forbidden", peer_ip(request), request.path, detail, 403)
        try:
            kind = self.history(request)
        except KindError as exc:
            return json_response({"error": str(exc)}, 400)
        found = await self.reads.read_version(name, request.match_info["version"], kind)
        if found is None:
            return json_response({"error": "no such version"}, 404)
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
        self.gate.log.warning(
            "config.unredacted_read",
            router=meta.router,
            version=meta.version,
            source_ip=peer_ip(request),
            user=request["principal"].user if request["principal"] else None,
        )
        return web.Response(body=data, content_type="application/octet-stream", headers=headers)

    async def diff(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        result = await self.reads.diff_versions(
            name, request.query.get("from") or None, request.query.get("to") or None
        )
        if result is None:
            return json_response({"error": "no such router or version"}, 404)
        return web.Response(text=result, content_type="text/x-diff")


def _with_field(base: Upload, name: str | None, raw: bytes) -> Upload:
    """``base`` with a ``router`` or ``kind`` form field applied (others are ignored)."""
    if len(raw) > MAX_FIELD or name not in ("router", "kind"):
        return base
    value = raw.decode("utf-8", "replace").strip()
    if not value:
        return base
    if name == "router":
        return dataclasses.replace(base, router_hint=value)
    return dataclasses.replace(base, kind=value)


def _results(results: list[IngestResult]) -> web.Response:
    shown = [result.to_dict() for result in results]
    return json_response(shown[0] if len(shown) == 1 else {"uploads": shown})
