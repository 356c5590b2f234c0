"""edge-bridge as a benchmark's child process: its stdout goes to a file, read back as JSON lines.

A file, not a pipe: a reader thread in the benchmark would compete with the daemon for the CPU
it is measured on, and a full pipe would stall the daemon. The benchmarks share this; they do not
import tests/ (the dependency rule: bench/ stands on the product alone).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Launched:
    """A running ``edge-bridge`` command and the file its stdout goes to."""

    proc: subprocess.Popen[bytes]
    output: Path
    started: dict[str, Any]

    def events(self, name: str) -> list[dict[str, Any]]:
        """The lines of event ``name`` written so far (a line still being written waits)."""
        data = self.output.read_bytes()
        whole = data[: data.rfind(b"\n") + 1].splitlines()
        return [event for event in map(json.loads, whole) if event.get("event") == name]

    def wait_count(self, name: str, count: int, timeout: float) -> int:
        """Wait until ``count`` lines of event ``name`` are written (or the time is up)."""
        deadline = time.monotonic() + timeout
        while (found := len(self.events(name))) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return found

    def port(self, key: str) -> int:
        """The port of the address ``key`` (``udp``, ``listen``, ...) in the started event."""
        return int(str(self.started[key]).rsplit(":", 1)[1])

    def stop(self) -> None:
        stop(self.proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, so the daemon flushes and exits as in production; SIGKILL after 10 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def launch(args: list[str], output: Path, timeout: float = 20.0) -> Launched:
    """Start ``edge-bridge ARGS`` and wait for its ``<service>.started`` line."""
    with output.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bridge.cli", *args],
            stdout=out,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
        )
    launched = Launched(proc, output, {})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if started := launched.events(f"{args[0]}.started"):
            launched.started = started[0]
            return launched
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"edge-bridge {args[0]} did not start: {output.read_text()[-2000:]}")
