"""Where the intended configs live: a Git checkout on disk or an S3 prefix, one file per router.

A router's desired config is the first of ``<router>``, ``<router>.conf``, ``<router>.cfg``,
``<router>.txt`` found directly in the directory or under the prefix (names compared exactly, so
``edge1`` and ``Edge1`` are different routers). It is read afresh on every upload: a ``git
pull`` or ``aws s3 sync`` of the intended configs takes effect on the next upload without a
restart, and a task never judges drift against a copy older than the one in the repository.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from config_uploader.store import StoreError, in_thread, parse_s3_url, s3_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SUFFIXES = ("", ".conf", ".cfg", ".txt")


@dataclass(frozen=True)
class Desired:
    location: str  # the file path or s3:// URL it was read from, for events
    data: bytes


class DesiredSource(Protocol):
    description: str

    async def get(self, router: str) -> Desired | None:
        """The intended config of ``router`` (already a safe name), or None when it has none."""


def candidates(router: str) -> list[str]:
    return [router + suffix for suffix in SUFFIXES]


class DesiredDir:
    """Intended configs in a local directory, typically a checkout of their Git repository."""

    def __init__(self, root: Path, limit: int) -> None:
        self.root = root
        self.limit = limit
        self.description = str(root)

    async def get(self, router: str) -> Desired | None:
        return await in_thread(self._get_sync, router)

    def _get_sync(self, router: str) -> Desired | None:
        for name in candidates(router):
            path = self.root / name
            try:
                with path.open("rb") as handle:
                    data = handle.read(self.limit + 1)
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                continue
            except OSError as exc:
                raise StoreError(f"cannot read {path}: {exc.strerror}") from exc
            if len(data) > self.limit:
                raise StoreError(f"{path} is larger than {self.limit} bytes")
            return Desired(str(path), data)
        return None


class DesiredS3:
    """Intended configs under ``s3://BUCKET/PREFIX``: one LIST and one GET per lookup."""

    def __init__(self, url: str, limit: int, client: S3Client | None = None) -> None:
        self.bucket, prefix = parse_s3_url(url)
        self.prefix = f"{prefix}/" if prefix else ""
        self.limit = limit
        self.description = url
        self._client = client

    @property
    def client(self) -> S3Client:
        if self._client is None:
            self._client = s3_client()
        return self._client

    async def get(self, router: str) -> Desired | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return await in_thread(self._get_sync, router)
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"{self.description}: {exc}") from exc

    def _get_sync(self, router: str) -> Desired | None:
        keys = [self.prefix + name for name in candidates(router)]
        sizes: dict[str, int] = {}
        paginator = self.client.get_paginator("list_objects_v2")
        # Keys come sorted: stop once past the last candidate (other routers share the prefix).
        for page in paginator.paginate(Bucket=self.bucket, Prefix=keys[0]):
            contents = page.get("Contents", [])
            sizes.update((obj["Key"], obj["Size"]) for obj in contents)
            if contents and contents[-1]["Key"] > max(keys):
                break
        for name in candidates(router):
            key = self.prefix + name
            if key not in sizes:
                continue
            if sizes[key] > self.limit:
                raise StoreError(f"s3://{self.bucket}/{key} is larger than {self.limit} bytes")
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            return Desired(f"s3://{self.bucket}/{key}", body)
        return None


def open_desired(location: str, limit: int) -> DesiredSource | None:
    """None when no desired location is configured (no drift check)."""
    if not location:
        return None
    if location.startswith("s3://"):
        return DesiredS3(location, limit)
    return DesiredDir(Path(location), limit)
