"""Helpers of the tests that run ``edge-bridge config`` as a process (uploads, trust,
compliance): start daemons with a store under ``tmp_path``, address them, talk HTTP to them."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import aiohttp

from tests.procs import Daemon

DATA = Path(__file__).parent / "data" / "configs"


class ConfigDaemons:
    """Starts ``edge-bridge config`` on loopback (``base`` flags first), and at the end kills
    every daemon it started and fails the test on any stdout line of 16 KiB or more."""

    def __init__(self, tmp_path: Path, *base: str) -> None:
        self.tmp_path = tmp_path
        self.base = base
        self.started: list[Daemon] = []

    def __call__(
        self,
        *extra: str,
        env: dict[str, str] | None = None,
        listen: str = "127.0.0.1:0",
        store: str | None = None,
    ) -> Daemon:
        """A daemon storing under ``tmp_path/store`` unless ``store`` says otherwise."""
        where = store or str(self.tmp_path / "store")
        args = ["config", "--listen", listen, "--store", where, *self.base, *extra]
        daemon = Daemon.start(args, env=env)
        self.started.append(daemon)
        return daemon

    def close(self) -> None:
        for daemon in self.started:
            daemon.kill()
        too_long = [line for daemon in self.started for line in daemon.too_long]
        assert too_long == [], "lines of 16 KiB or more"


def url(daemon: Daemon, path: str) -> str:
    """``path`` on the daemon's listener (one bound to 0.0.0.0 is reached on 127.0.0.1)."""
    host, port = daemon.address("config", "listen")
    return f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}{path}"


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def put(
    session: aiohttp.ClientSession, target: str, body: bytes, **kw: Any
) -> tuple[int, Any]:
    """PUT ``body``: the status and the answer (JSON where it is JSON, else its text)."""
    async with session.put(target, data=body, **kw) as response:
        text = await response.text()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text
