"""Entry points the CLI dispatches to: ``SETTINGS``, ``build`` and ``main``."""

from __future__ import annotations

import gc
from collections.abc import Sequence

from bridge.runner import run
from bridge.settings import load_settings
from config_uploader.service import ConfigService
from config_uploader.settings import ConfigSettings

SETTINGS = ConfigSettings
PROG = "edge-bridge config"
# An upload allocates a few thousand short-lived containers (aiohttp's request, dicts, the
# diff's tuples): at the default threshold (700) a young collection ran every few uploads
# and, with the long-lived objects in every full one, cost about 0.1 ms per upload (measured
# at 32 concurrent uploads).
GC_THRESHOLD = (5000, 10, 10)


def build(settings: ConfigSettings) -> ConfigService:
    """The service; bad credentials settings exit 2 here, before anything is bound."""
    return ConfigService(settings, prog=PROG)


def main(argv: Sequence[str]) -> int:
    settings = load_settings(ConfigSettings, argv, prog=PROG)
    service = build(settings)
    # What exists now (modules, settings) lives as long as the process: no collection need
    # look at it again. Only for the uploader's own process (not ``edge-bridge all``).
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
    return run([service], settings)
