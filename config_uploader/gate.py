"""What every request passes before a handler sees it: the allowlist, the rate limits, the
credential and its role; and what every failure of a handler becomes.

In order, each refusal counted under ``rejected_<reason>`` and told by
:class:`~config_uploader.refusals.Refusals` (one line, then summaries):

1. ``--allow``: 403 ``forbidden``;
2. uploads ``--rate-limit``/``--rate-burst``: 429 ``rate``; reads ``--read-rate-limit``/
   ``--read-rate-burst``: 429 ``read_rate``;
3. with any credential configured: a credential that passed before is known at once; any other
   takes a token of its address's failed-login bucket before its argon2 check (given back when
   it passes), so an address past ``--auth-failure-burst`` failures (refilled at
   ``--auth-failure-rate``) gets 429 ``auth_rate`` without a check, and an online brute force
   gets a few guesses a minute, however many it sends at once; a bad or missing credential is
   401 ``auth``;
4. roles: uploads take a router or uploader credential, reads only a reader's (403
   ``forbidden``). Without any credential configured, everything is open (the service warns).

``/healthz`` is exempt from all of it: the NLB health checker has neither address nor
credential to show. A failing store is 503 and ``config.store_error``; a bug is 500 and
``config.internal_error``: one request and one counted line, never the process.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import hdrs, web

from bridge.guard import Allowlist, RateLimiter
from bridge.logging import get_logger
from bridge.metrics import Counters
from config_uploader.connections import ConnectionGuard
from config_uploader.credentials import CredentialBook
from config_uploader.ingest import MAX_ERROR
from config_uploader.refusals import Refusals
from config_uploader.settings import ConfigSettings
from config_uploader.store import StoreError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REASONS = (
    "empty",
    "undecodable",
    "too_large",
    "too_many_lines",
    "line_too_long",
    "busy",
    "timeout",
    "auth",
    "auth_rate",
    "forbidden",
    "identity",
    "rate",
    "read_rate",
    "kind",
)
STATUS = {
    "empty": 400,
    "undecodable": 400,
    "too_large": 413,
    "too_many_lines": 413,
    "line_too_long": 413,
    "busy": 503,
    "timeout": 408,
    "identity": 403,
    "kind": 400,
}


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", headers=headers
    )


def peer_ip(request: web.Request) -> str:
    """The TCP peer: the NLB preserves client addresses for instance and IP targets."""
    return request.remote or ""


def is_upload(request: web.Request) -> bool:
    return request.method in ("PUT", "POST")


class Gate:
    """The middleware of the config uploader's aiohttp app."""

    def __init__(
        self,
        settings: ConfigSettings,
        counters: Counters,
        book: CredentialBook,
        connections: ConnectionGuard,
    ) -> None:
        self.settings = settings
        self.counters = counters
        self.book = book
        self.connections = connections
        self.allowlist = Allowlist(settings.allow)
        self.uploads = RateLimiter(settings.rate_limit, settings.rate_burst)
        self.reads = RateLimiter(settings.read_rate_limit, settings.read_rate_burst)
        self.auth_failures = RateLimiter(settings.auth_failure_rate, settings.auth_failure_burst)
        self.refusals = Refusals(counters, settings.metrics_interval)
        self.log = get_logger()
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def drained(self) -> None:
        """Return once no request is being handled.

        aiohttp's own graceful shutdown stops reading request bodies at once, which would cut
        every upload still arriving; the service waits here first, with the listener closed.
        """
        await self._idle.wait()

    def reject(
        self,
        reason: str,
        ip: str,
        path: str,
        detail: str,
        status: int,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        self.refusals.refuse(reason, ip, path, detail, time.monotonic())
        return json_response({"error": detail}, status, headers)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.connections.head_received(request.transport)
        self.in_flight += 1
        self._idle.clear()
        try:
            if request.path == "/healthz":
                return await handler(request)
            refused = await self.admit(request)
            if refused is not None:
                return refused
            return await self.run(request, handler)
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self._idle.set()
            self.connections.request_done(request.transport)

    async def admit(self, request: web.Request) -> web.Response | None:
        """None when the request may go on (``request["principal"]`` set), else the refusal."""
        ip, path, now = peer_ip(request), request.path, time.monotonic()
        if not self.allowlist.permits(ip):
            return self.reject("forbidden", ip, path, "source address not allowed", 403)
        upload = is_upload(request)
        if upload and not self.uploads.allow(ip, now):
            return self.reject("rate", ip, path, "too many uploads", 429, {"Retry-After": "1"})
        if not upload and not self.reads.allow(ip, now):
            return self.reject("read_rate", ip, path, "too many reads", 429, {"Retry-After": "1"})
        request["principal"] = None
        if not self.book.enabled:
            return None
        header = request.headers.get(hdrs.AUTHORIZATION)
        principal = self.book.remembered(header)
        if principal is None:
            # A check costs an argon2 run: each takes a token first (given back when it
            # passes), so concurrent guesses cannot all slip past the limit.
            if not self.auth_failures.allow(ip, now):
                detail = "too many failed logins"
                return self.reject("auth_rate", ip, path, detail, 429, {"Retry-After": "60"})
            principal = await self.book.check(header)
            if principal is not None:
                self.auth_failures.refund(ip)
        if principal is None:
            challenge = {"WWW-Authenticate": 'Basic realm="edge-bridge"'}
            return self.reject("auth", ip, path, "bad or missing credentials", 401, challenge)
        if upload and principal.role == "reader":
            return self.reject("forbidden", ip, path, "a reader credential cannot upload", 403)
        if not upload and principal.role != "reader":
            detail = "reading needs a reader credential"
            return self.reject("forbidden", ip, path, detail, 403)
        request["principal"] = principal
        return None

    async def run(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except StoreError as exc:
            self.counters.incr("store_errors")
            self.log.error(
                "config.store_error", error=str(exc)[:MAX_ERROR], path=request.path[:MAX_ERROR]
            )
            return json_response(
                {"error": "store unavailable, retry later"}, 503, {"Retry-After": "5"}
            )
        except web.HTTPException:
            raise
        except Exception as exc:  # a bug must cost one request and one counted line, no more
            self.counters.incr("internal_errors")
            self.log.error(
                "config.internal_error", error=without_text(exc), path=request.path[:MAX_ERROR]
            )
            return json_response({"error": "internal error"}, 500)


def without_text(exc: BaseException) -> str:
    """The kind of ``exc`` and where it was raised, without its message: a message may quote
    the body (a config and its secrets), which must not reach stdout."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{where}"
