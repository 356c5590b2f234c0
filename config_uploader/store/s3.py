"""Versions as S3 objects (``--store s3://BUCKET/PREFIX``).

S3 layout (``--store s3://BUCKET/PREFIX``)::

    PREFIX/<router>/versions/00000001   original bytes, metadata as x-amz-meta-*
    PREFIX/<router>/state.json          RouterState, replaced by each upload

created with ``PutObject(IfNoneMatch="*")``: S3 answers 412 when the key exists.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

from config_uploader.store.base import (
    RouterState,
    StateNotSaved,
    StoreError,
    T,
    VersionMeta,
    is_version_id,
    start_in_thread,
    version_id,
)


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://BUCKET/PREFIX`` -> (bucket, prefix without slashes at either end)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError("expected s3://BUCKET/PREFIX")
    return parsed.netloc, parsed.path.strip("/")


def s3_client(max_connections: int = 32) -> S3Client:
    """A boto3 S3 client; the endpoint comes from ``AWS_ENDPOINT_URL_S3`` when set (moto)."""
    import boto3
    from botocore.config import Config

    config = Config(
        max_pool_connections=max_connections,
        retries={"mode": "standard", "max_attempts": 4},
        connect_timeout=5,
        read_timeout=30,
    )
    return boto3.session.Session().client("s3", config=config)


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


class S3Store:
    """Versions as S3 objects created with ``IfNoneMatch="*"``; see the module docstring."""

    def __init__(self, url: str, client: S3Client | None = None) -> None:
        self.bucket, prefix = parse_s3_url(url)
        self.prefix = f"{prefix}/" if prefix else ""
        self.description = url
        self._client = client
        self._latest: dict[str, int] = {}

    @property
    def client(self) -> S3Client:
        if self._client is None:
            self._client = s3_client()
        return self._client

    def _key(self, router: str, *parts: str) -> str:
        return self.prefix + "/".join((router, *parts))

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._call_started(start_in_thread(fn, *args))

    async def _call_started(self, work: Awaitable[T]) -> T:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return await work
        except StoreError:
            raise
        except ClientError as exc:
            raise StoreError(f"s3://{self.bucket}: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"s3://{self.bucket}: {exc}") from exc

    async def open(self) -> None:
        await self._call(lambda: self.client.head_bucket(Bucket=self.bucket))

    async def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def _exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def _list(self, prefix: str, delimiter: str | None = None) -> tuple[list[str], list[str]]:
        keys: list[str] = []
        prefixes: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        if delimiter:
            kwargs["Delimiter"] = delimiter
        for page in paginator.paginate(**kwargs):
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
            prefixes.extend(p["Prefix"] for p in page.get("CommonPrefixes", []))
        return keys, prefixes

    def _numbers(self, router: str) -> list[int]:
        base = self._key(router, "versions", "")
        keys, _ = self._list(base)
        names = (k[len(base) :] for k in keys)
        return [int(n) for n in names if is_version_id(n)]

    def remembered(self, router: str) -> VersionMeta | None:
        return None  # remembering a number, not metadata: always ask

    async def latest(self, router: str) -> VersionMeta | None:
        return await self._call(self._latest_sync, router)

    def _latest_sync(self, router: str) -> VersionMeta | None:
        seq = self._latest.get(router)
        if seq is None:
            seq = max(self._numbers(router), default=0)
        while self._exists(self._key(router, "versions", version_id(seq + 1))):
            seq += 1
        if seq == 0:
            return None
        self._latest[router] = seq
        found = self._read_sync(router, version_id(seq), with_body=False)
        if found is None:  # deleted behind our back: rebuild from a listing
            self._latest.pop(router, None)
            seq = max(self._numbers(router), default=0)
            found = self._read_sync(router, version_id(seq), with_body=False) if seq else None
        return None if found is None else found[0]

    @staticmethod
    def _to_metadata(meta: VersionMeta) -> dict[str, str]:
        return {
            "router": meta.router,
            "version": meta.version,
            "vendor": meta.vendor,
            "received-at": repr(meta.received_at),
            "source-ip": meta.source_ip,
            "sha256": meta.sha256,
            "normalised-sha256": meta.normalised_sha256,
            "size": str(meta.size),
            "filename": urllib.parse.quote(meta.filename or "", safe="")[:512],
        }

    @staticmethod
    def _from_metadata(md: dict[str, str]) -> VersionMeta:
        filename = urllib.parse.unquote(md.get("filename", ""))
        return VersionMeta(
            router=md["router"],
            version=md["version"],
            vendor=md["vendor"],
            received_at=float(md["received-at"]),
            source_ip=md["source-ip"],
            sha256=md["sha256"],
            normalised_sha256=md["normalised-sha256"],
            size=int(md["size"]),
            filename=filename or None,
        )

    def create(
        self, meta: VersionMeta, data: bytes, state: RouterState | None = None
    ) -> Awaitable[bool]:
        return self._call_started(start_in_thread(self._create_sync, meta, data, state))

    def _create_sync(self, meta: VersionMeta, data: bytes, state: RouterState | None) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._key(meta.router, "versions", meta.version),
                Body=data,
                IfNoneMatch="*",
                ContentType="text/plain",
                Metadata=self._to_metadata(meta),
            )
        except ClientError as exc:
            # 412: the key exists; 409 ConditionalRequestConflict: a racing write is in flight.
            if _error_code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                return False
            raise
        self._latest[meta.router] = max(self._latest.get(meta.router, 0), meta.seq)
        if state is not None:
            try:
                self._write_state_sync(state)
            except (ClientError, BotoCoreError) as exc:
                raise StateNotSaved(f"s3://{self.bucket}: {exc}") from exc
        return True

    async def read(self, router: str, version: str) -> tuple[VersionMeta, bytes] | None:
        if not is_version_id(version):
            return None
        return await self._call(self._read_sync, router, version)

    def _read_sync(
        self, router: str, version: str, with_body: bool = True
    ) -> tuple[VersionMeta, bytes] | None:
        from botocore.exceptions import ClientError

        key = self._key(router, "versions", version)
        try:
            if with_body:
                obj = self.client.get_object(Bucket=self.bucket, Key=key)
                return self._from_metadata(obj["Metadata"]), obj["Body"].read()
            head = self.client.head_object(Bucket=self.bucket, Key=key)
            return self._from_metadata(head["Metadata"]), b""
        except ClientError as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    async def versions(self, router: str) -> list[VersionMeta]:
        return await self._call(self._versions_sync, router)

    def _versions_sync(self, router: str) -> list[VersionMeta]:
        metas = []
        for n in sorted(self._numbers(router)):
            found = self._read_sync(router, version_id(n), with_body=False)
            if found is not None:
                metas.append(found[0])
        return metas

    async def routers(self) -> list[str]:
        return await self._call(self._routers_sync)

    def _routers_sync(self) -> list[str]:
        _, prefixes = self._list(self.prefix, delimiter="/")
        return sorted(p[len(self.prefix) :].rstrip("/") for p in prefixes)

    async def write_state(self, state: RouterState) -> None:
        await self._call(self._write_state_sync, state)

    def _write_state_sync(self, state: RouterState) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._key(state.router, "state.json"),
            Body=orjson.dumps(state),
            ContentType="application/json",
        )

    async def read_state(self, router: str) -> RouterState | None:
        return await self._call(self._read_state_sync, router)

    def _read_state_sync(self, router: str) -> RouterState | None:
        from botocore.exceptions import ClientError

        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self._key(router, "state.json"))
            return RouterState.from_dict(orjson.loads(obj["Body"].read()))
        except ClientError as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        except (orjson.JSONDecodeError, KeyError, ValueError):
            return None
