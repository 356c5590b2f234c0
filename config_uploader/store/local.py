"""Versions in a local directory (``--store DIR``).

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
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    pass

from config_uploader.store.base import (
    STATE_FILE,
    STATE_MAX_BYTES,
    TMP_MAX_AGE,
    RouterState,
    StateNotSaved,
    StoreError,
    T,
    VersionMeta,
    is_version_id,
    start_in_thread,
    version_id,
)


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
