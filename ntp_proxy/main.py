"""``edge-bridge ntp`` and ``python -m ntp_proxy``: settings in, running service out."""

from __future__ import annotations

from collections.abc import Sequence

from bridge.runner import run
from bridge.settings import load_settings
from ntp_proxy.server import NtpService
from ntp_proxy.settings import NtpSettings

SETTINGS = NtpSettings


def build(settings: NtpSettings, prog: str = "edge-bridge ntp") -> NtpService:
    return NtpService(settings, prog)


def main(argv: Sequence[str]) -> int:
    settings = load_settings(NtpSettings, argv, prog="edge-bridge ntp")
    return run([build(settings)], settings)
