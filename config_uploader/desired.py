"""Where the intended configs live: a Git checkout on disk or an S3 prefix, one file per router.

A router's desired config is the first of ``<router>``, ``<router>.conf``, ``<router>.cfg``,
``<router>.txt`` found directly in the directory or under the prefix (names compared exactly, so
``edge1`` and ``Edge1`` are different routers). It is looked up afresh on every upload: a ``git
pull`` or ``aws s3 sync`` of the intended configs takes effect on the next upload without a
restart, and a task never judges drift against a copy older than the one in the repository.

Looking up is not reading, though: each answer carries a *tag* that changes whenever the content
may have (a file's inode, size, mtime and ctime; an object's ETag), and a caller that passes the
tag of the copy it holds gets ``data=None`` back when that copy is current. A file modified
within :data:`RACY_SECONDS` of being looked at gets no tag (it is read every time until it is
older): its timestamps may not have moved yet for a change made in the same clock tick, the
"racily clean" case that Git guards against the same way.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from config_uploader.store import StoreError, in_thread, parse_s3_url, s3_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SUFFIXES = ("", ".conf", ".cfg", ".txt")
RACY_SECONDS = 2.0


@dataclass(frozen=True)
class Desired:
    location: str  # the file path or s3:// URL it was read from, for events
    data: bytes | None  # None: the caller's copy (the tag it passed) is current
    tag: Hashable | None = None  # names this content; None when that cannot be told


class DesiredSource(Protocol):
    description: str

    async def get(self, router: str, known: Hashable | None = None) -> Desired | None:
        """The intended config of ``router`` (already a safe name), or None when it has none;
        ``data`` is None when ``known`` is the tag of the current content."""

    async def routers(self) -> list[str]:
        """The routers that have an intended config (file names without their suffix)."""


def router_of(name: str) -> str | None:
    """The router a desired file is for; None for hidden files."""
    if not name or name.startswith("."):
        return None
    for suffix in SUFFIXES[1:]:
        if name.endswith(suffix):
            return name[: -len(suffix)] or None
    return name


def candidates(router: str) -> list[str]:
    return [router + suffix for suffix in SUFFIXES]


class DesiredDir:
    """Intended configs in a local directory, typically a checkout of their Git repository."""

    def __init__(self, root: Path, limit: int) -> None:
        self.root = root
        self.limit = limit
        self.description = str(root)

    async def get(self, router: str, known: Hashable | None = None) -> Desired | None:
        # A few stats of a local checkout, done inline: a thread hop costs more. Only a file
        # that must be read is read in a thread.
        for name in candidates(router):
            path = os.path.join(self.root, name)
            try:
                found = os.stat(path)
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as exc:
                raise StoreError(f"cannot read {path}: {exc.strerror}") from exc
            if stat.S_ISDIR(found.st_mode):
                continue
            if found.st_size > self.limit:
                raise StoreError(f"{path} is larger than {self.limit} bytes")
            if known is not None and _tag(path, found, time.time()) == known:
                return Desired(path, None, known)
            read = await in_thread(self._read, path)
            if read is not None:
                return read
        return None

    async def routers(self) -> list[str]:
        def scan() -> list[str]:
            try:
                entries = list(os.scandir(self.root))
            except OSError as exc:
                raise StoreError(f"cannot list {self.root}: {exc.strerror}") from exc
            names = (router_of(e.name) for e in entries if e.is_file())
            return sorted({name for name in names if name})

        return await in_thread(scan)

    def _read(self, path: str) -> Desired | None:
        looked = time.time()
        try:
            with open(path, "rb") as handle:
                found = os.fstat(handle.fileno())
                data = handle.read(self.limit + 1)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None  # gone since the stat: try the next name
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror}") from exc
        if len(data) > self.limit:
            raise StoreError(f"{path} is larger than {self.limit} bytes")
        return Desired(path, data, _tag(path, found, looked))


def _tag(path: str, found: os.stat_result, looked: float) -> Hashable | None:
    """What names a file's content, or None while it is too recent to be named safely."""
    if looked - max(found.st_mtime, found.st_ctime) < RACY_SECONDS:
        return None
    return (path, found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns)


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

    async def get(self, router: str, known: Hashable | None = None) -> Desired | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return await in_thread(self._get_sync, router, known)
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"{self.description}: {exc}") from exc

    async def routers(self) -> list[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        def scan() -> list[str]:
            names: set[str] = set()
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix, Delimiter="/"):
                for obj in page.get("Contents", []):
                    name = router_of(obj["Key"][len(self.prefix) :])
                    if name:
                        names.add(name)
            return sorted(names)

        try:
            return await in_thread(scan)
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"{self.description}: {exc}") from exc

    def _get_sync(self, router: str, known: Hashable | None) -> Desired | None:
        keys = [self.prefix + name for name in candidates(router)]
        sizes: dict[str, int] = {}
        etags: dict[str, str] = {}
        paginator = self.client.get_paginator("list_objects_v2")
        # Keys come sorted: stop once past the last candidate (other routers share the prefix).
        for page in paginator.paginate(Bucket=self.bucket, Prefix=keys[0]):
            contents = page.get("Contents", [])
            sizes.update((obj["Key"], obj["Size"]) for obj in contents)
            etags.update((obj["Key"], obj["ETag"]) for obj in contents)
            if contents and contents[-1]["Key"] > max(keys):
                break
        for name in candidates(router):
            key = self.prefix + name
            if key not in sizes:
                continue
            location = f"s3://{self.bucket}/{key}"
            if sizes[key] > self.limit:
                raise StoreError(f"{location} is larger than {self.limit} bytes")
            if known is not None and (location, etags[key]) == known:
                return Desired(location, None, known)
            obj = self.client.get_object(Bucket=self.bucket, Key=key)
            return Desired(location, obj["Body"].read(), (location, obj["ETag"]))
        return None


def open_desired(location: str, limit: int) -> DesiredSource | None:
    """None when no desired location is configured (no drift check)."""
    if not location:
        return None
    if location.startswith("s3://"):
        return DesiredS3(location, limit)
    return DesiredDir(Path(location), limit)
