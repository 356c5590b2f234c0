"""The README documents every option of every daemon, by flag and by variable."""

from __future__ import annotations

import dataclasses
import importlib
import re
from pathlib import Path

import pytest

from bridge.cli import DAEMONS
from bridge.settings import env_name, flag_name

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


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


@pytest.mark.parametrize(
    "doc", ["README.md", *sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("docs/*.md"))]
)
def test_docs_link_only_inside_the_repository(doc: str) -> None:
    """The project stands alone: every relative link resolves to a file in this repository."""
    path = ROOT / doc
    text = path.read_text(encoding="utf-8")
    assert "../shared" not in text, f"{doc} points outside the repository"
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a web address or an anchor in the same page
        resolved = (path.parent / target.split("#")[0]).resolve()
        assert resolved.is_relative_to(ROOT), f"{doc}: {target} leaves the repository"
        assert resolved.exists(), f"{doc}: {target} does not exist"
