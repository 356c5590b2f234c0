"""Several processes writing one stdout pipe through shared_stdout keep every line whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from syslog_receiver.shared_stdout import StdoutLock

ROOT = Path(__file__).resolve().parent.parent

# A worker's view: stdout through the lock, batches of long lines from bridge.output.
WRITER = """
import sys
from syslog_receiver.shared_stdout import LockedStdout, StdoutLock
LockedStdout.install(StdoutLock(int(sys.argv[1])))
from bridge.output import write_lines
name, batches, size = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for b in range(batches):
    write_lines([f"{name} {b} {i} ".encode() + b"x" * size + b"\\n" for i in range(8)])
"""


def _writer(
    lock: StdoutLock, out: int, name: str, batches: int, size: int
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(lock.fd), name, str(batches), str(size)],
        stdout=out,
        pass_fds=(lock.fd,),
        cwd=ROOT,
    )


def _read_all(fd: int, deadline: float, pause: float = 0.0) -> bytes:
    chunks = []
    while time.monotonic() < deadline:
        data = os.read(fd, 1 << 14)
        if not data:
            break
        chunks.append(data)
        time.sleep(pause)  # a slow reader keeps the pipe full, so writers block mid-write
    return b"".join(chunks)


def test_batches_from_several_processes_never_interleave() -> None:
    lock = StdoutLock()
    read_fd, write_fd = os.pipe()
    try:
        # Lines of 9 KiB, more than PIPE_BUF: without the lock the pipe splits them.
        procs = [_writer(lock, write_fd, f"w{n}", 40, 9000) for n in range(3)]
        os.close(write_fd)
        write_fd = -1
        data = _read_all(read_fd, time.monotonic() + 60, pause=0.0005)
        for proc in procs:
            assert proc.wait(10) == 0
    finally:
        os.close(read_fd)
        if write_fd >= 0:
            os.close(write_fd)
        lock.close()
    lines = data.split(b"\n")
    assert lines.pop() == b""
    assert len(lines) == 3 * 40 * 8
    seen = set()
    for line in lines:
        name, batch, index, body = line.split(b" ")
        assert body == b"x" * 9000
        seen.add((name, int(batch), int(index)))
    assert len(seen) == len(lines)


def test_a_writer_killed_mid_line_is_ended_by_the_next_one() -> None:
    lock = StdoutLock()
    read_fd, write_fd = os.pipe()
    try:
        # One batch far larger than the pipe: the writer blocks inside it, holding the lock.
        stuck = _writer(lock, write_fd, "stuck", 1, 1 << 20)
        time.sleep(0.5)
        stuck.send_signal(signal.SIGKILL)
        stuck.wait(5)
        after = _writer(lock, write_fd, "after", 1, 10)
        os.close(write_fd)
        write_fd = -1
        data = _read_all(read_fd, time.monotonic() + 30)
        assert after.wait(10) == 0
    finally:
        os.close(read_fd)
        if write_fd >= 0:
            os.close(write_fd)
        lock.close()
    lines = data.split(b"\n")
    assert lines.pop() == b""
    stump, *whole = lines
    assert stump.startswith(b"stuck 0 0 ") and len(stump) < (1 << 20)
    assert whole == [f"after 0 {i} ".encode() + b"x" * 10 for i in range(8)]
