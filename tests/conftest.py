"""Fixtures shared by test modules: real peers that more than one module starts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ntp_peers import Chronyd, chronyd_server


@pytest.fixture
def chronyd(tmp_path: Path) -> Iterator[Chronyd]:
    """chronyd serving as a stratum 1 server on a loopback port."""
    yield from chronyd_server(tmp_path)
