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
from bridge.stdout import write_lines
name, batches, size = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for b in range(batches):
    write_lines([f"{name} {b} {i} ".encode() + b"x" * size + b"\\n" for i in range(8)])
"""


class _SharedPipe:
    """A pipe standing in for a container's stdout, and the lock its writers share."""

    def __init__(self) -> None:
        self.lock = StdoutLock()
        self.read_fd, self.write_fd = os.pipe()

    def writer(self, name: str, batches: int, size: int) -> subprocess.Popen[bytes]:
        """A process writing ``batches`` batches of 8 lines of ``size`` bytes, locked."""
        return subprocess.Popen(
            [sys.executable, "-c", WRITER, str(self.lock.fd), name, str(batches), str(size)],
            stdout=self.write_fd,
            pass_fds=(self.lock.fd,),
            cwd=ROOT,
        )

    def read_lines(self, seconds: float, pause: float = 0.0) -> list[bytes]:
        """Everything written once the writers are done, as lines (the last one ended)."""
        os.close(self.write_fd)
        self.write_fd = -1
        chunks = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            data = os.read(self.read_fd, 1 << 14)
            if not data:
                break
            chunks.append(data)
            time.sleep(pause)  # a slow reader keeps the pipe full, so writers block mid-write
        lines = b"".join(chunks).split(b"\n")
        assert lines.pop() == b""
        return lines

    def __enter__(self) -> _SharedPipe:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.read_fd)
        if self.write_fd >= 0:
            os.close(self.write_fd)
        self.lock.close()


def test_batches_from_several_processes_never_interleave() -> None:
    with _SharedPipe() as pipe:
        # Lines of 9 KiB, more than PIPE_BUF: without the lock the pipe splits them.
        procs = [pipe.writer(f"w{n}", 40, 9000) for n in range(3)]
        lines = pipe.read_lines(60, pause=0.0005)
        for proc in procs:
            assert proc.wait(10) == 0
    assert len(lines) == 3 * 40 * 8
    seen = set()
    for line in lines:
        name, batch, index, body = line.split(b" ")
        assert body == b"x" * 9000
        seen.add((name, int(batch), int(index)))
    assert len(seen) == len(lines)


def test_a_writer_killed_mid_line_is_ended_by_the_next_one() -> None:
    with _SharedPipe() as pipe:
        # One batch far larger than the pipe: the writer blocks inside it, holding the lock.
        stuck = pipe.writer("stuck", 1, 1 << 20)
        time.sleep(0.5)
        stuck.send_signal(signal.SIGKILL)
        stuck.wait(5)
        after = pipe.writer("after", 1, 10)
        lines = pipe.read_lines(30)
        assert after.wait(10) == 0
    stump, *whole = lines
    assert stump.startswith(b"stuck 0 0 ") and len(stump) < (1 << 20)
    assert whole == [f"after 0 {i} ".encode() + b"x" * 10 for i in range(8)]
