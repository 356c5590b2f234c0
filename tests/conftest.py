"""Fixtures shared by test modules: real peers and daemons that more than one module starts;
and the hypothesis profile.

Locally every run draws new examples, so fuzzing keeps finding what it has not seen; in CI
(``CI=true``) the examples are derived from each test's name, so a green run on a developer's
machine is the run CI repeats, and a landing never fails on a draw nobody has seen. Neither has
a per-example deadline: the suite runs beside real daemons on two cores, where a slow example
is load, not a bug (the linear-time checks measure cost on their own).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.config_daemons import ConfigDaemons
from tests.ntp_peers import Chronyd, chronyd_server
from tests.peers import in_ci

settings.register_profile("local", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if in_ci() else "local")


@pytest.fixture
def chronyd(tmp_path: Path) -> Iterator[Chronyd]:
    """chronyd serving as a stratum 1 server on a loopback port."""
    yield from chronyd_server(tmp_path)


@pytest.fixture
def start_config(tmp_path: Path) -> Iterator[ConfigDaemons]:
    """Starts ``edge-bridge config`` daemons on loopback; all killed, and their lines held to
    the budget, when the test ends."""
    daemons = ConfigDaemons(tmp_path)
    yield daemons
    daemons.close()
