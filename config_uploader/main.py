"""Entry points the CLI dispatches to: ``SETTINGS``, ``build`` and ``main``."""

from __future__ import annotations

from collections.abc import Sequence

from bridge.runner import run
from bridge.settings import load_settings
from config_uploader.service import ConfigService
from config_uploader.settings import ConfigSettings

SETTINGS = ConfigSettings
PROG = "edge-bridge config"


def build(settings: ConfigSettings) -> ConfigService:
    """The service; bad credentials settings exit 2 here, before anything is bound."""
    return ConfigService(settings, prog=PROG)


def main(argv: Sequence[str]) -> int:
    settings = load_settings(ConfigSettings, argv, prog=PROG)
    return run([build(settings)], settings.metrics_interval)
