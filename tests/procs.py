"""Start edge-bridge commands as real processes and read their JSON lines back.

Daemons bind port 0 in tests and report the real ports in their ``*.started`` events, so tests
never guess a free port and never collide when run in parallel.

Every line any command writes is held to the output contract: a line of ``MAX_LINE_BYTES`` or
more (Docker would split it into separate CloudWatch events) fails the test that ran it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bridge.output import MAX_LINE_BYTES

ROOT = Path(__file__).resolve().parent.parent
Line = dict[str, Any]


def over_budget(lines: Sequence[bytes]) -> list[str]:
    """The lines longer than the output contract allows (with their LF), shown by their start."""
    return [
        f"{len(line)} bytes: {line[:120]!r}..."
        for line in lines
        if len(line if line.endswith(b"\n") else line + b"\n") > MAX_LINE_BYTES
    ]


class Daemon:
    """A running ``edge-bridge`` process; use as a context manager so it never outlives a test."""

    def __init__(self, args: Sequence[str], env: dict[str, str] | None = None) -> None:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_BRIDGE_")}
        full_env.update(env or {})
        self.args = list(args)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bridge.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=full_env,
            cwd=ROOT,
        )
        self._lines: list[Line] = []
        self.too_long: list[str] = []  # lines over the budget, checked when the test ends
        self._stderr: list[str] = []
        self._changed = threading.Condition()
        self._reading = threading.Event()
        self._reading.set()
        self._threads = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        self.addresses: dict[str, dict[str, str]] = {}

    @classmethod
    def start(
        cls,
        args: Sequence[str],
        env: dict[str, str] | None = None,
        services: int | None = None,
        timeout: float = 20.0,
    ) -> Daemon:
        """Start and wait until every service has logged ``<name>.started``."""
        daemon = cls(args, env)
        expected = services if services is not None else (3 if args[0] == "all" else 1)
        try:
            for index in range(expected):
                line = daemon.wait_for(
                    lambda d: str(d.get("event", "")).endswith(".started"),
                    timeout=timeout,
                    nth=index,
                )
                name = line["event"].rsplit(".", 1)[0]
                daemon.addresses[name] = {
                    k: v for k, v in line.items() if k not in ("event", "level", "time")
                }
        except BaseException:
            daemon.kill()
            raise
        return daemon

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self._reading.wait()
            self.too_long += over_budget([raw])
            try:
                line = json.loads(raw)
                if not isinstance(line, dict):
                    raise ValueError
            except ValueError:
                line = {"event": "_not_json", "text": raw.decode("utf-8", "replace")}
            with self._changed:
                self._lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self._stderr.append(raw.decode("utf-8", "replace"))

    # -- reading ---------------------------------------------------------------------------

    def lines(self) -> list[Line]:
        with self._changed:
            return list(self._lines)

    def events(self, name: str) -> list[Line]:
        return [line for line in self.lines() if line.get("event") == name]

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    def wait_for(
        self, predicate: Callable[[Line], bool], timeout: float = 10.0, nth: int = 0
    ) -> Line:
        """The ``nth`` (0-based) line matching ``predicate``, waiting up to ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matches = [line for line in self._lines if predicate(line)]
                if len(matches) > nth:
                    return matches[nth]
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (
                    self.proc.poll() is not None and not self._threads[0].is_alive()
                ):
                    raise TimeoutError(
                        f"no matching line after {timeout}s; exit={self.proc.poll()} "
                        f"stderr={self.stderr[-2000:]!r} last={self._lines[-5:]!r}"
                    )
                self._changed.wait(min(remaining, 0.2))

    def wait_count(self, predicate: Callable[[Line], bool], count: int, timeout: float) -> int:
        """Wait until ``count`` lines match (or the time is up); returns how many did."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = sum(1 for line in self._lines if predicate(line))
                if found >= count or time.monotonic() >= deadline:
                    return found
                self._changed.wait(0.1)

    def address(self, service: str, key: str) -> tuple[str, int]:
        """``("127.0.0.1", 40001)`` from the started event; IPv6 brackets removed."""
        host, _, port = self.addresses[service][key].rpartition(":")
        return host.strip("[]"), int(port)

    def pause_stdout(self) -> None:
        """Stop reading the daemon's stdout, as a stuck log driver would: the pipe fills."""
        self._reading.clear()

    def resume_stdout(self) -> None:
        self._reading.set()

    # -- stopping --------------------------------------------------------------------------

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM and wait; returns the exit status (kills and fails if it hangs)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        for thread in self._threads:
            thread.join(5)
        return code

    def kill(self) -> None:
        self._reading.set()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        for thread in self._threads:
            thread.join(5)

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_exc: object) -> None:
        self.kill()
        if exc_type is None:
            assert self.too_long == [], "lines of 16 KiB or more on stdout"


def run_command(
    args: Sequence[str], env: dict[str, str] | None = None, timeout: float = 30.0
) -> subprocess.CompletedProcess[str]:
    """Run an ``edge-bridge`` command to completion (tools, bad-setting checks)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_BRIDGE_")}
    full_env.update(env or {})
    result = subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    lines = result.stdout.encode().splitlines(keepends=True)
    assert over_budget(lines) == [], "lines of 16 KiB or more on stdout"
    return result


def healthz(port: int, host: str = "127.0.0.1") -> tuple[int, dict[str, Any]]:
    """A daemon's GET /healthz: status and body (0 and {} while nothing answers)."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return 0, {}
