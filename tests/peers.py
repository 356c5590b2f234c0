"""The third-party programs the tests drive as real peers: logger, rsyslogd, chronyd, curl.

A test that needs one it cannot find is skipped on a developer's machine, where a missing package
is a local matter, but fails in CI (``CI=true``): there ``.ci/run`` installs every peer, so a
missing one means the install step is wrong, and a green run of skips would hide it.
"""

from __future__ import annotations

import os
import shutil

import pytest


def in_ci() -> bool:
    """True where a missing peer is a defect of the setup: CI=true, as CI services set it."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def peer(program: str, package: str) -> str:
    """The path of `program` (on PATH or in /usr/sbin); skip the test without it, fail in CI."""
    path = shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")
    if path is None:
        reason = f"{program} is not installed (Debian package {package})"
        if in_ci():
            pytest.fail(f"{reason}; CI=true, so a missing peer fails", pytrace=False)
        pytest.skip(reason)
    return path
