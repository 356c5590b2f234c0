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
import base64
import binascii
import hmac
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import BodyPartReader, hdrs, web

from bridge.health import healthz_handler
from config_uploader.body import BodyError, TooLarge, decode_body
from config_uploader.store import StoreError

if TYPE_CHECKING:
    from config_uploader.service import ConfigService, Upload

READ_CHUNK = 64 * 1024
MAX_FIELD = 1024


STATUS = {"empty": 400, "undecodable": 400, "too_large": 413}


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", headers=headers
    )


def peer_ip(request: web.Request) -> str:
    """The TCP peer: the NLB preserves client addresses for instance and IP targets."""
    return request.remote or ""


class Credentials:
    """``user:password`` pairs for HTTP Basic auth, checked in constant time."""

    def __init__(self, pairs: list[str]) -> None:
        self._pairs = [pair.encode() for pair in pairs]

    @property
    def enabled(self) -> bool:
        return bool(self._pairs)

    def check(self, header: str | None) -> bool:
        if not header:
            return False
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        # Compare with every pair, no early exit: timing says nothing about which one matched.
        matched = False
        for pair in self._pairs:
            matched |= hmac.compare_digest(given, pair)
        return matched


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

    def __init__(self, service: ConfigService, credentials: Credentials) -> None:
        self.service = service
        self.settings = service.settings
        self.credentials = credentials
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
        app.router.add_get("/healthz", healthz_handler(self.service))
        app.router.add_route("PUT", "/upload/{path:.*}", self.upload)
        app.router.add_route("POST", "/upload/{path:.*}", self.upload)
        app.router.add_post("/oxidized", self.oxidized)
        app.router.add_get("/routers", self.routers)
        app.router.add_get("/routers/{name}/versions", self.versions)
        app.router.add_get("/routers/{name}/versions/{version}", self.version)
        app.router.add_get("/routers/{name}/diff", self.diff)
        return app

    # -- protection --------------------------------------------------------------------------

    @web.middleware
    async def guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path == "/healthz":
            return await handler(request)
        ip = peer_ip(request)
        if not self.service.allowlist.permits(ip):
            return self.reject("forbidden", ip, request, "source address not allowed", 403)
        is_upload = request.method in ("PUT", "POST")
        if is_upload and not self.service.limiter.allow(ip, time.monotonic()):
            self.service.counters.incr("rejected_rate")
            return _json({"error": "too many uploads"}, 429, {"Retry-After": "1"})
        authenticated = False
        if self.credentials.enabled:
            if not self.credentials.check(request.headers.get(hdrs.AUTHORIZATION)):
                response = self.reject("auth", ip, request, "bad or missing credentials", 401)
                response.headers[hdrs.WWW_AUTHENTICATE] = 'Basic realm="edge-bridge"'
                return response
            authenticated = True
        request["authenticated"] = authenticated
        self.in_flight += 1
        self._idle.clear()
        try:
            return await handler(request)
        except StoreError as exc:
            self.service.store_failed(str(exc), request.path)
            return _json({"error": "store unavailable, retry later"}, 503, {"Retry-After": "5"})
        except web.HTTPException:
            raise
        except Exception as exc:  # a bug must cost one request and one counted line, no more
            self.service.internal_error(exc, request.path)
            return _json({"error": "internal error"}, 500)
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self._idle.set()

    def reject(
        self, reason: str, ip: str, request: web.Request, detail: str, status: int
    ) -> web.Response:
        self.service.rejected(reason, ip, request.path, detail)
        return _json({"error": detail}, status)

    # -- uploads -----------------------------------------------------------------------------

    async def upload(self, request: web.Request) -> web.StreamResponse:
        now = time.time()
        ip = peer_ip(request)
        path = request.match_info["path"]
        hint = request.query.get("router") or None
        limit = self.settings.max_body
        try:
            if request.content_length is not None and request.content_length > limit:
                raise TooLarge(limit)
            if request.content_type.startswith("multipart/"):
                uploads = await self._multipart(request, ip, path, hint, now)
            else:
                raw = await read_capped(request.content, limit)
                data = decode_body(raw, request.headers.get(hdrs.CONTENT_ENCODING), limit)
                uploads = [self.service.upload(data, ip, "raw", path, None, hint, now)]
        except BodyError as exc:
            return self.reject(exc.reason, ip, request, exc.detail, STATUS[exc.reason])
        return await self._ingest(uploads)

    async def _multipart(
        self, request: web.Request, ip: str, path: str, hint: str | None, now: float
    ) -> list[Upload]:
        """Each part with a filename is one upload; a ``router`` field names the router."""
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
        except (ValueError, AssertionError) as exc:
            raise BodyError("undecodable", f"bad multipart body: {exc}") from None
        if not files:
            raise BodyError("empty", "multipart body without a file part")
        return [
            self.service.upload(
                decode_body(raw, encoding, limit), ip, "multipart", path, name, hint, now
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
            upload = self.service.upload(config, ip, "oxidized", "", None, hint, now, context)
        except BodyError as exc:
            return self.reject(exc.reason, ip, request, exc.detail, STATUS[exc.reason])
        return await self._ingest([upload])

    async def _ingest(self, uploads: list[Upload]) -> web.Response:
        results = [(await self.service.ingest(upload)).to_dict() for upload in uploads]
        return _json(results[0] if len(results) == 1 else {"uploads": results})

    # -- read API ----------------------------------------------------------------------------

    async def routers(self, _request: web.Request) -> web.StreamResponse:
        return _json({"routers": await self.service.router_summaries()})

    async def versions(self, request: web.Request) -> web.StreamResponse:
        """Every version, oldest first; ``?limit=N`` keeps the newest N."""
        name = request.match_info["name"]
        limit = request.query.get("limit", "0")
        if not limit.isdigit():
            return _json({"error": "limit must be a non-negative integer"}, 400)
        metas = await self.service.versions(name)
        if not metas:
            return _json({"error": f"no router {name!r}"}, 404)
        shown = metas[-int(limit) :] if int(limit) else metas
        return _json(
            {
                "router": metas[-1].router,
                "count": len(metas),
                "versions": [m.to_dict() for m in shown],
            }
        )

    async def version(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        redacted = request.query.get("redacted", "1").lower() not in ("0", "false", "no")
        if not redacted and not (self.settings.allow_unredacted and request["authenticated"]):
            detail = "unredacted configs need --allow-unredacted and Basic auth"
            return self.reject("forbidden", peer_ip(request), request, detail, 403)
        found = await self.service.read_version(name, request.match_info["version"])
        if found is None:
            return _json({"error": "no such version"}, 404)
        meta, data = found
        headers = {
            "X-Router": meta.router,
            "X-Version": meta.version,
            "X-Vendor": meta.vendor,
            "X-Sha256": meta.sha256,
        }
        if redacted:
            return web.Response(
                text=self.service.redacted_text(data, meta.vendor),
                content_type="text/plain",
                headers=headers,
            )
        self.service.unredacted_read(meta, peer_ip(request))
        return web.Response(body=data, content_type="application/octet-stream", headers=headers)

    async def diff(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        result = await self.service.diff_versions(
            name, request.query.get("from") or None, request.query.get("to") or None
        )
        if result is None:
            return _json({"error": "no such router or version"}, 404)
        return web.Response(text=result, content_type="text/x-diff")
