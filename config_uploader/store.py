"""Config version stores: every upload kept, none half-written, none lost to a race.

A router's history is a gap-free sequence of versions ``00000001``, ``00000002``, ...; each
keeps the original bytes (the archive is access-controlled, so secrets stay in it) and the
metadata an auditor asks for. Both stores offer one primitive, ``create``: make version N
exactly once or report that N is taken. :func:`commit` builds the append on it (read the latest
version, compare, create N+1, and start over on a conflict), so concurrent uploads of one
router, from one task or from several tasks behind the NLB, never overwrite each other.

"Identical" compares the sha256 of the *normalised* text (the uploader's normaliser drops
timestamps and other noise the router adds on every export): a config whose only difference is
``# Reporting Date:`` is recorded as unchanged (the router's state notes the upload) and not
stored again; the first upload of that content keeps its original bytes.

Local layout (``--store DIR``)::

    DIR/<router>/00000001      one line of JSON (VersionMeta), then the original bytes
    DIR/<router>/state.jsonl   RouterState (last upload, drift) per upload, newest last

(``tail -n +2 DIR/rtr1/00000007`` is the config as the router sent it.) A version is written
to an unnamed file (``O_TMPFILE``; where the filesystem or a missing /proc does not allow it,
a ``.tmp-*`` file) and fsynced, then hard-linked to its number: link(2) fails when the name
exists, which makes it both the commit point and the exclusive create; the directory is
fsynced before the upload is answered. One file and two fsyncs per version: a kill -9 leaves
nothing (or at most a ``.tmp-*`` file, which readers ignore and ``open()`` sweeps when old).

The state is a replaceable summary (the next upload rewrites it, and a reader falls back to
the latest version), so it is not fsynced, and it is appended to rather than replaced: a
rename over an existing file makes ext4 flush the new file at once (``auto_da_alloc``), which
cost as much as the version's own write. An append is whole or absent to a reader (the file
size moves after the bytes are in), and the file is cut back to its last line past
:data:`STATE_MAX_BYTES`. The version file and the state are written by one call in one
thread, so an upload costs one thread hop.

S3 layout (``--store s3://BUCKET/PREFIX``)::

    PREFIX/<router>/versions/00000001   original bytes, metadata as x-amz-meta-*
    PREFIX/<router>/state.json          RouterState, replaced by each upload

created with ``PutObject(IfNoneMatch="*")``: S3 answers 412 when the key exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import random
import re
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import orjson

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

T = TypeVar("T")

VERSION_DIGITS = 8
_VERSION_RE = re.compile(rf"^[0-9]{{{VERSION_DIGITS}}}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._:@-]")
MAX_NAME = 128
TMP_MAX_AGE = 3600.0
COMMIT_ATTEMPTS = 64
STATE_FILE = "state.jsonl"
STATE_MAX_BYTES = 64 * 1024
"""A state log past this size is cut back to its last line (about every 300 uploads)."""


# Blocking store work (fsync, boto3) runs here rather than in asyncio's default executor: enough
# threads that concurrent uploads' fsyncs share journal commits and S3 requests overlap, and
# none taken from whatever else uses the default executor.
STORE_THREADS = 16
_executor: ThreadPoolExecutor | None = None


def start_in_thread(fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    """Hand ``fn`` to a store thread now (not when awaited), so the caller can work meanwhile."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(STORE_THREADS, thread_name_prefix="store")
    return asyncio.get_running_loop().run_in_executor(_executor, fn, *args)


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    return await start_in_thread(fn, *args)


class StoreError(Exception):
    """The store could not do its job (I/O error, S3 unreachable, too many conflicts)."""


class StateNotSaved(StoreError):
    """The version is committed, but the router's state after it could not be written."""


def path_segment(router: str) -> str:
    """Map a router name to one that is a safe path component and S3 key segment.

    Names come from the network (query parameters, filenames, config text), so anything
    outside ``[A-Za-z0-9._:@-]`` becomes ``_`` and a leading dot is neutralised: no name can
    climb out of the store or hide as a dot file.
    """
    name = _UNSAFE.sub("_", router.strip())[:MAX_NAME]
    if not name or name.startswith("."):
        name = "_" + name
    return name


def version_id(seq: int) -> str:
    return f"{seq:0{VERSION_DIGITS}d}"


def is_version_id(text: str) -> bool:
    return bool(_VERSION_RE.match(text))


@dataclass(frozen=True)
class VersionMeta:
    """What is known about one stored version, besides its bytes."""

    router: str
    version: str
    vendor: str
    received_at: float
    source_ip: str
    sha256: str
    normalised_sha256: str
    size: int
    filename: str | None = None

    @property
    def seq(self) -> int:
        return int(self.version)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VersionMeta:
        return cls(
            router=str(data["router"]),
            version=str(data["version"]),
            vendor=str(data["vendor"]),
            received_at=float(data["received_at"]),
            source_ip=str(data["source_ip"]),
            sha256=str(data["sha256"]),
            normalised_sha256=str(data["normalised_sha256"]),
            size=int(data["size"]),
            filename=None if data.get("filename") is None else str(data["filename"]),
        )


@dataclass(frozen=True)
class RouterState:
    """The latest upload of a router and its verdict; a summary, rebuilt by the next upload."""

    router: str
    last_upload: float
    last_version: str
    last_changed: bool
    drift: bool | None
    versions: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RouterState:
        drift = data.get("drift")
        return cls(
            router=str(data["router"]),
            last_upload=float(data["last_upload"]),
            last_version=str(data["last_version"]),
            last_changed=bool(data["last_changed"]),
            drift=None if drift is None else bool(drift),
            versions=int(data.get("versions", 0)),
        )


class Store(Protocol):
    """Where versions live. ``router`` arguments are already :func:`path_segment`-d."""

    description: str

    async def open(self) -> None:
        """Check the store is usable (directory writable, bucket reachable)."""

    async def close(self) -> None: ...

    async def latest(self, router: str) -> VersionMeta | None:
        """The newest committed version of ``router``, or None for a router never seen."""

    def remembered(self, router: str) -> VersionMeta | None:
        """The newest version this store object has seen, without looking: possibly stale
        (another process may have appended since), so only a hint."""

    def create(
        self, meta: VersionMeta, data: bytes, state: RouterState | None = None
    ) -> Awaitable[bool]:
        """Store version ``meta.version`` atomically, then ``state``; False when that number
        is already taken (and the state not written). The work starts at the call, so the
        caller may do other work before awaiting; :class:`StateNotSaved` when only the
        state failed."""

    async def read(self, router: str, version: str) -> tuple[VersionMeta, bytes] | None: ...

    async def versions(self, router: str) -> list[VersionMeta]:
        """Every committed version of ``router``, oldest first."""

    async def routers(self) -> list[str]: ...

    async def write_state(self, state: RouterState) -> None: ...

    async def read_state(self, router: str) -> RouterState | None: ...


@dataclass(frozen=True)
class CommitResult:
    meta: VersionMeta
    changed: bool
    previous: VersionMeta | None
    prepared: Any = None
    """What ``while_writing`` returned for the version that was created."""
    state_error: str | None = None
    """Why the router's state was not written (the version itself is stored)."""


async def commit(
    store: Store,
    router: str,
    data: bytes,
    make_meta: Callable[[str], VersionMeta],
    make_state: Callable[[VersionMeta, bool], RouterState] | None = None,
    while_writing: Callable[[VersionMeta | None, VersionMeta], object] | None = None,
) -> CommitResult:
    """Append ``data`` to ``router``'s history unless its normalised text equals the latest.

    ``make_meta(version_id)`` builds the metadata for a given number. On a conflict (another
    task or process created that number first) the latest is read again, so an upload that
    raced an identical one ends as unchanged instead of a duplicate. ``make_state(meta,
    changed)`` builds the router's state after the upload, written with the version.
    ``while_writing(previous, candidate)`` runs while the version is being written (its
    fsyncs leave the CPU free) and its result is kept for the version that was created.
    """
    # The remembered latest needs no I/O (a stat on the event loop can wait for a directory
    # block under writeback): when it is stale, creating its successor fails and the latest
    # is read; and it is confirmed before an upload is called unchanged.
    latest = store.remembered(router)
    confirmed = latest is None
    for attempt in range(COMMIT_ATTEMPTS):
        if attempt:  # lost a race: let the winners finish before looking again
            await asyncio.sleep(random.uniform(0, 0.002 * min(attempt, 20)))
        if confirmed:
            latest = await store.latest(router)
        candidate = make_meta(version_id(1 if latest is None else latest.seq + 1))
        if latest is not None and latest.normalised_sha256 == candidate.normalised_sha256:
            if not confirmed:
                confirmed = True
                if await store.latest(router) != latest:
                    continue
            error = None
            if make_state is not None:
                try:
                    await store.write_state(make_state(latest, False))
                except StoreError as exc:
                    error = str(exc)
            return CommitResult(latest, False, latest, state_error=error)
        confirmed = True
        writing = store.create(candidate, data, make_state and make_state(candidate, True))
        prepared = None
        try:
            if while_writing is not None:
                prepared = while_writing(latest, candidate)
        finally:
            try:
                created = await writing
                error = None
            except StateNotSaved as exc:
                created, error = True, str(exc)
        if created:
            return CommitResult(candidate, True, latest, prepared, error)
    raise StoreError(f"gave up on {router} after {COMMIT_ATTEMPTS} conflicting writes")


class RouterLocks:
    """One asyncio lock per router, dropped when nobody holds or waits for it.

    Serialising one router's uploads inside a task avoids pointless create conflicts and
    keeps diff, drift and state for that router in upload order; memory stays bounded by the
    routers uploading at this moment.
    """

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, router: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(router, (asyncio.Lock(), 0))
        self._locks[router] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[router]
            if users <= 1:
                del self._locks[router]
            else:
                self._locks[router] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


# --------------------------------------------------------------------------- local directory


def _fsync_dir(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, *parts: bytes) -> None:
    """Write ``parts`` in order with as few system calls as the kernel allows (no joining)."""
    views = [memoryview(part) for part in parts if part]
    while views:
        done = os.writev(fd, views)
        while views and done >= len(views[0]):
            done -= len(views.pop(0))
        if views and done:
            views[0] = views[0][done:]


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_TMPFILE_FLAGS = os.O_WRONLY | getattr(os, "O_TMPFILE", 0) | os.O_CLOEXEC
_APPEND_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC


def _write_file(
    path: str | Path, *parts: bytes, sync: bool = True, dir_fd: int | None = None
) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o640, dir_fd=dir_fd)
    try:
        _write_all(fd, *parts)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def _last_state(blob: bytes) -> RouterState | None:
    """The newest readable state in the tail of a state log (a cut-off first line is skipped
    by trying lines from the end)."""
    for line in reversed(blob.split(b"\n")):
        if line.strip():
            try:
                return RouterState.from_dict(orjson.loads(line))
            except (orjson.JSONDecodeError, KeyError, ValueError, TypeError):
                continue
    return None


class LocalStore:
    """Versions as directories under a local root; see the module docstring for the layout."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._root = str(root)
        self.description = str(root)
        # router -> newest version seen; re-checked against the disk (one stat) on every use.
        self._latest: dict[str, VersionMeta] = {}
        self._anonymous = False  # O_TMPFILE and linking it through /proc work here

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking file work in a thread; an OS error becomes a :class:`StoreError`."""
        return await self._checked(start_in_thread(fn, *args))

    async def _checked(self, work: Awaitable[T]) -> T:
        try:
            return await work
        except OSError as exc:
            raise StoreError(f"{self.root}: {exc}") from exc

    async def open(self) -> None:
        await self._run(self._open)

    def _open(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".tmp-probe-{os.getpid()}"
            _write_file(probe)
            probe.unlink()
        except OSError as exc:
            raise StoreError(f"store {self.root} is not writable: {exc.strerror}") from exc
        self._anonymous = self._anonymous_files_work()
        cutoff = time.time() - TMP_MAX_AGE
        for router_dir in self.root.iterdir():
            if not router_dir.is_dir():
                continue
            for entry in router_dir.iterdir():
                if entry.name.startswith(".tmp-"):
                    with contextlib.suppress(OSError):
                        if entry.stat().st_mtime < cutoff:
                            entry.unlink()

    def _anonymous_files_work(self) -> bool:
        """Whether this filesystem takes ``O_TMPFILE`` files and /proc lets them be linked."""
        name = f".tmp-probe-{os.getpid()}-anonymous"
        dir_fd = os.open(self.root, _DIR_FLAGS)
        try:
            self._anonymous = True
            return self._new_file(dir_fd, name, b"")
        except OSError:
            return False
        finally:
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=dir_fd)
            os.close(dir_fd)

    async def close(self) -> None:
        return None

    def remembered(self, router: str) -> VersionMeta | None:
        return self._latest.get(router)

    async def latest(self, router: str) -> VersionMeta | None:
        return await self._run(self._latest_sync, router)

    def _exists(self, router: str, seq: int) -> bool:
        return os.path.exists(f"{self._root}/{router}/{version_id(seq)}")

    def _latest_sync(self, router: str) -> VersionMeta | None:
        router_dir = self.root / router
        cached = self._latest.get(router)
        seq = cached.seq if cached else max(self._numbers(router_dir), default=0)
        # Another process may have appended since: walk forward to the real end.
        while self._exists(router, seq + 1):
            seq += 1
        if seq == 0:
            return None
        if cached is not None and cached.seq == seq:
            return cached
        meta = self._read_meta(router_dir / version_id(seq))
        self._remember(meta)
        return meta

    def _remember(self, meta: VersionMeta) -> None:
        cached = self._latest.get(meta.router)
        if cached is None or cached.seq < meta.seq:
            self._latest[meta.router] = meta

    @staticmethod
    def _numbers(router_dir: Path) -> list[int]:
        try:
            names = os.listdir(router_dir)
        except FileNotFoundError:
            return []
        return [int(n) for n in names if is_version_id(n)]

    @staticmethod
    def _read_meta(path: Path) -> VersionMeta:
        """The metadata line of a version file, without reading the config after it."""
        with path.open("rb") as handle:
            return VersionMeta.from_dict(orjson.loads(handle.readline()))

    def create(
        self, meta: VersionMeta, data: bytes, state: RouterState | None = None
    ) -> Awaitable[bool]:
        return self._checked(start_in_thread(self._create_sync, meta, data, state))

    def _create_sync(self, meta: VersionMeta, data: bytes, state: RouterState | None) -> bool:
        router_dir = f"{self._root}/{meta.router}"
        try:
            dir_fd = os.open(router_dir, _DIR_FLAGS)
        except FileNotFoundError:  # a new router
            os.makedirs(router_dir, exist_ok=True)
            _fsync_dir(self._root)
            dir_fd = os.open(router_dir, _DIR_FLAGS)
        try:
            if not self._new_file(dir_fd, meta.version, orjson.dumps(meta) + b"\n", data):
                return False
            os.fsync(dir_fd)
            self._remember(meta)
            if state is not None:
                try:
                    self._append_state(dir_fd, state)
                except OSError as exc:
                    raise StateNotSaved(f"{self.root}: {exc}") from exc
            return True
        finally:
            os.close(dir_fd)

    def _new_file(self, dir_fd: int, name: str, *parts: bytes) -> bool:
        """Write ``parts`` to a fresh, fsynced file and link it as ``name`` in ``dir_fd``;
        False when ``name`` exists. Unnamed (``O_TMPFILE``) until it is whole where the
        kernel and /proc allow it (one directory change instead of three), else via a
        ``.tmp-*`` name."""
        if self._anonymous:
            fd = os.open(".", _TMPFILE_FLAGS, 0o640, dir_fd=dir_fd)
            try:
                _write_all(fd, *parts)
                os.fsync(fd)
                try:
                    os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=dir_fd, follow_symlinks=True)
                except FileExistsError:
                    return False
                return True
            finally:
                os.close(fd)
        tmp = f".tmp-{name}-{os.getpid()}-{threading.get_ident():x}-{time.monotonic_ns()}"
        _write_file(tmp, *parts, dir_fd=dir_fd)
        try:
            os.link(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)  # fails if name is taken
        except FileExistsError:
            return False
        finally:
            os.unlink(tmp, dir_fd=dir_fd)
        return True

    async def read(self, router: str, version: str) -> tuple[VersionMeta, bytes] | None:
        return await self._run(self._read_sync, router, version)

    def _read_sync(self, router: str, version: str) -> tuple[VersionMeta, bytes] | None:
        if not is_version_id(version):
            return None
        try:
            blob = (self.root / router / version).read_bytes()
        except FileNotFoundError:
            return None
        head, _, data = blob.partition(b"\n")
        return VersionMeta.from_dict(orjson.loads(head)), data

    async def versions(self, router: str) -> list[VersionMeta]:
        return await self._run(self._versions_sync, router)

    def _versions_sync(self, router: str) -> list[VersionMeta]:
        router_dir = self.root / router
        return [
            self._read_meta(router_dir / version_id(n)) for n in sorted(self._numbers(router_dir))
        ]

    async def routers(self) -> list[str]:
        return await self._run(self._routers_sync)

    def _routers_sync(self) -> list[str]:
        try:
            entries = list(os.scandir(self.root))
        except FileNotFoundError:
            return []
        return sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))

    async def write_state(self, state: RouterState) -> None:
        await self._run(self._write_state_sync, state)

    def _write_state_sync(self, state: RouterState) -> None:
        dir_fd = os.open(f"{self._root}/{state.router}", _DIR_FLAGS)
        try:
            self._append_state(dir_fd, state)
        finally:
            os.close(dir_fd)

    @staticmethod
    def _append_state(dir_fd: int, state: RouterState) -> None:
        line = orjson.dumps(state) + b"\n"
        fd = os.open(STATE_FILE, _APPEND_FLAGS, 0o640, dir_fd=dir_fd)
        try:
            _write_all(fd, line)
            size = os.lseek(fd, 0, os.SEEK_CUR)
        finally:
            os.close(fd)
        if size > STATE_MAX_BYTES:
            # Rare, so the rename's cost does not matter; a line appended by another process
            # in between is lost, and the next upload writes a newer one anyway.
            tmp = f".tmp-state-{os.getpid()}-{threading.get_ident():x}-{time.monotonic_ns()}"
            _write_file(tmp, line, sync=False, dir_fd=dir_fd)
            os.replace(tmp, STATE_FILE, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)

    async def read_state(self, router: str) -> RouterState | None:
        return await self._run(self._read_state_sync, router)

    def _read_state_sync(self, router: str) -> RouterState | None:
        try:
            fd = os.open(f"{self._root}/{router}/{STATE_FILE}", os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        try:
            size = os.fstat(fd).st_size
            start = max(0, size - 4096)
            return _last_state(os.pread(fd, size - start, start))
        finally:
            os.close(fd)


# --------------------------------------------------------------------------- S3


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


def open_store(location: str) -> Store:
    """``s3://...`` -> :class:`S3Store`, anything else a local directory."""
    if location.startswith("s3://"):
        return S3Store(location)
    return LocalStore(Path(location))
