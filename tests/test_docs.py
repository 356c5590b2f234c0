"""The README documents every option of every daemon, by flag and by variable."""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

import pytest

from bridge.cli import DAEMONS
from bridge.settings import env_name, flag_name

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("daemon", sorted(DAEMONS))
def test_readme_lists_every_option(daemon: str) -> None:
    settings = importlib.import_module(DAEMONS[daemon]).SETTINGS
    section = README.split(f"#### `edge-bridge {daemon}`", 1)[1].split("####", 1)[0]
    for field in dataclasses.fields(settings):
        assert f"`{flag_name(field.name)}" in section, (daemon, field.name)
        assert f"`{env_name(field.name)}`" in section, (daemon, field.name)


def test_readme_has_no_placeholders() -> None:
    for marker in ("OPTIONS_TABLES", "SYSLOG_EXAMPLE", "BENCHMARKS", "EVENTS_TABLE", "TODO"):
        assert marker not in README
