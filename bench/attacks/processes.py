"""A daemon under attack as a process of its own: its stdout read in a thread, its peak RSS
watched (and the process killed past a limit, to spare the machine)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson


class Daemon:
    """One ``edge-bridge`` command of ``root`` as a process, its stdout read in a thread."""

    def __init__(self, root: Path, args: list[str], env: dict[str, str] | None = None) -> None:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_BRIDGE_")}
        full_env.update(env or {}, PYTHONPATH=str(root))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bridge.cli", *args],
            cwd=root,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        self.lines: list[dict[str, Any]] = []
        self.line_count = 0
        self.started = threading.Event()
        self.peak_kib = 0
        self.killed = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.line_count += 1
            if len(self.lines) < 100_000:
                try:
                    line = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    continue
                self.lines.append(line)
                if str(line.get("event", "")).endswith(".started"):
                    self.started.set()

    def address(self, key: str) -> tuple[str, int]:
        if not self.started.wait(30):
            raise RuntimeError("daemon did not start")
        line = next(x for x in self.lines if str(x.get("event", "")).endswith(".started"))
        host, _, port = str(line[key]).rpartition(":")
        return host.strip("[]"), int(port)

    def events(self, name: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("event") == name]

    def pids(self) -> list[int]:
        """The daemon and its children (syslog workers)."""
        found = [self.proc.pid]
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
            found += [int(pid) for pid in children.split()]
        except OSError:
            pass
        return found

    def watch(self, kill_above_kib: int) -> None:
        """Track the peak RSS (sum of VmHWM) until the process ends; kill it past the limit."""

        def loop() -> None:
            while self.proc.poll() is None:
                peak = rss = 0
                for pid in self.pids():
                    status = _status(pid)
                    peak += status.get("VmHWM", 0)
                    rss += status.get("VmRSS", 0)
                self.peak_kib = max(self.peak_kib, peak)
                if rss > kill_above_kib:
                    self.killed = True
                    self.proc.kill()
                time.sleep(0.05)

        threading.Thread(target=loop, daemon=True).start()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _status(pid: int) -> dict[str, int]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key] = int(value.split()[0])
    return out
