"""The store's contract: versions, router states, the one ``create`` primitive, and ``commit``.

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
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    pass

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
    saved: dict[str, Any] | None = None
    """Running versus startup (``compliance.saved.SavedState.to_dict``), None before both."""
    compliance: dict[str, Any] | None = None
    """The latest compliance verdict: ``version``, ``percent``, per feature true/false."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RouterState:
        drift = data.get("drift")
        saved, compliance = data.get("saved"), data.get("compliance")
        return cls(
            router=str(data["router"]),
            last_upload=float(data["last_upload"]),
            last_version=str(data["last_version"]),
            last_changed=bool(data["last_changed"]),
            drift=None if drift is None else bool(drift),
            versions=int(data.get("versions", 0)),
            saved=saved if isinstance(saved, dict) else None,
            compliance=compliance if isinstance(compliance, dict) else None,
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
