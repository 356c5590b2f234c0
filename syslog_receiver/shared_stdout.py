"""One stdout written by several processes (``--workers``), every line kept whole.

A write of more than PIPE_BUF bytes to a pipe (what Docker and ECS give a container as stdout)
is not atomic: when the pipe fills, the writer sleeps mid-write and another process's bytes can
land inside its line. So every process writes its lines under one lock, once per batch:

* the lock is a POSIX record lock (``lockf``) on an anonymous shared file (``memfd``) that the
  parent makes and every worker inherits. The kernel releases it when its holder dies, so a
  killed worker never blocks the others;
* the same file holds one "writing" byte, set while the holder writes. A holder that finds it
  set knows the previous one died inside a write, possibly mid-line, and ends that line first,
  so the next line is not glued to a stump;
* the parent's own lines (events, EMF) are written by its structlog and ``write_lines`` on fd 1,
  which cannot take the lock; while workers run, the parent's fd 1 is a pipe to a thread that
  writes those lines on under the lock (a few lines a minute, unlike the old copy of every
  worker's line through the parent).
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import mmap
import os
import sys
import threading

from bridge.stdout import write_all

__all__ = ["LockedStdout", "ParentLines", "StdoutLock"]

_SIZE = mmap.PAGESIZE
_CHUNK = 1 << 16
_JOIN_SECONDS = 2.0


class StdoutLock:
    """The cross-process lock and the "writing" byte; ``fd`` is what a worker inherits."""

    def __init__(self, fd: int | None = None) -> None:
        if fd is None:
            fd = os.memfd_create("edge-bridge-stdout", os.MFD_CLOEXEC)
            os.ftruncate(fd, _SIZE)
        self.fd = fd
        self._state = mmap.mmap(fd, _SIZE)

    def write(self, out: int, data: bytes) -> None:
        """Write ``data`` (whole lines) to ``out`` while holding the lock."""
        fcntl.lockf(self.fd, fcntl.LOCK_EX)
        try:
            state = self._state
            if state[0]:
                write_all(out, b"\n")  # the last holder died inside a write
            state[0] = 1
            write_all(out, data)
            state[0] = 0  # left set if the write failed: its bytes may have ended mid-line
        finally:
            fcntl.lockf(self.fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self._state.close()
        os.close(self.fd)


class LockedStdout(io.RawIOBase):
    """A worker's ``sys.stdout.buffer``: each write (one batch, one log line) under the lock.

    Being unbuffered, a batch from ``write_lines`` or a line from structlog reaches the kernel
    in one locked call, never split across two.
    """

    def __init__(self, lock: StdoutLock, fd: int = 1) -> None:
        super().__init__()
        self.lock = lock
        self.out = fd

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.out

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self.lock.write(self.out, bytes(data))
        return len(data)

    @classmethod
    def install(cls, lock: StdoutLock) -> None:
        """Make this process's ``sys.stdout`` write through the lock (before logging starts)."""
        sys.stdout.flush()
        sys.stdout = io.TextIOWrapper(cls(lock), encoding="utf-8", write_through=True)


class ParentLines:
    """While workers run, the parent's fd 1 is a pipe whose lines a thread writes on, locked."""

    def __init__(self, lock: StdoutLock) -> None:
        self.lock = lock
        self.stdout_fd = -1  # the real stdout, which the workers get as theirs
        self._read_fd = -1
        self._thread: threading.Thread | None = None

    def start(self) -> int:
        sys.stdout.flush()
        self.stdout_fd = os.dup(1)
        self._read_fd, write_fd = os.pipe()
        os.dup2(write_fd, 1)
        os.close(write_fd)
        self._thread = threading.Thread(target=self._copy, name="stdout-lines", daemon=True)
        self._thread.start()
        return self.stdout_fd

    def _copy(self) -> None:
        partial = b""
        while True:
            data = os.read(self._read_fd, _CHUNK)
            if not data:
                break
            data = partial + data
            cut = data.rfind(b"\n") + 1
            if cut:
                self._write(data[:cut])
            partial = data[cut:]
        if partial:
            self._write(partial + b"\n")

    def _write(self, lines: bytes) -> None:
        # If stdout is gone, keep reading anyway, so the parent never blocks on its own lines.
        with contextlib.suppress(OSError):
            self.lock.write(self.stdout_fd, lines)

    def stop(self) -> None:
        """Once no worker writes: give fd 1 back to the real stdout and drain the pipe."""
        if self._thread is None:
            return
        sys.stdout.flush()
        os.dup2(self.stdout_fd, 1)  # the pipe's last writer is gone: the thread reads EOF
        thread, self._thread = self._thread, None
        thread.join(_JOIN_SECONDS)
        if not thread.is_alive():  # else stdout is stuck; the thread still owns these
            os.close(self._read_fd)
            os.close(self.stdout_fd)
