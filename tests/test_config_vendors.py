"""The vendor-profile registry and the engines over it, judged on the sample corpus.

``tests/data/configs/<family>/`` holds configs of every family in ``config_uploader/vendors``,
written from public documentation, with every kind of secret the family supports planted and
listed in ``secrets.json``. Each must be detected as its family, named, and lose every planted
secret whatever vendor it is redacted as (a misdetection switches nothing off), while the
lines holding no secret stay as they were.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from config_uploader.identity import from_config
from config_uploader.normalise import normalise
from config_uploader.redact import REDACTED, redact
from config_uploader.vendor import VENDORS, detect
from config_uploader.vendors import PROFILES

DATA = Path(__file__).parent / "data" / "configs"
SECRETS: dict[str, list[str]] = {
    name: values
    for name, values in json.loads((DATA / "secrets.json").read_text()).items()
    if not name.startswith("_")
}
# The router names the samples give themselves.
NAMES = {
    "yamaha/rtx1210.txt": "tokyo-edge1",
    "yamaha/rtx830.txt": "osaka-edge1",
    "cisco-ios/rtr1-confg": "dc1-rtr1",
    "cisco-ios/dc2-edge1-confg": "dc2-edge1",
    "junos/mx1_juniper.conf": "dc1-mx1",
    "junos/mx1.set": "dc1-mx1",
    "junos/dc2-srx1.set": "dc2-srx1",
    "eos/leaf1.cfg": "dc1-leaf1",
    "routeros/ccr1.rsc": "dc1-ccr1",
    "routeros/dc2-hex1.rsc": "dc2-hex1",
    "nxos/dc2-leaf1.cfg": "dc2-leaf1",
    "asa/dc2-fw1.txt": "dc2-fw1",
    "fortios/dc2-fgt1.conf": "dc2-fgt1",
    "vyos/config.boot": "dc2-vyos1",
    "vyos/dc2-vyos2.set": "dc2-vyos2",
    "aoscx/dc2-acc1.cfg": "dc2-acc1",
    "panos/dc2-pa1.xml": "dc2-pa1",
    "panos/dc2-pa2.set": "dc2-pa2",
    "panos/dc2-pa3.conf": "dc2-pa3",
}
# Of the corpus lines that hold no planted secret, at least this share must stay unchanged.
INTACT_AT_LEAST = 0.99
# Of the lines that hold one, at least this share must lose nothing but the secret.
EXACT_AT_LEAST = 0.9


def sample(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def test_every_family_has_a_sample_with_planted_secrets_and_every_sample_is_listed() -> None:
    families = {name.split("/")[0] for name in SECRETS}
    assert families == set(PROFILES)
    on_disk = {f"{p.parent.name}/{p.name}" for p in DATA.glob("*/*")}
    assert on_disk == set(SECRETS) == set(NAMES)
    for name, secrets in SECRETS.items():
        assert secrets and all(secret in sample(name) for secret in secrets), name


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_each_sample_is_detected_as_its_family_and_named(name: str) -> None:
    family = name.split("/")[0]
    text = sample(name)
    assert detect(text) == family
    assert from_config(normalise(text, family), family) == NAMES[name]
    assert from_config(normalise(text, "unknown"), "unknown") == NAMES[name]


@pytest.mark.parametrize("name", sorted(SECRETS))
@pytest.mark.parametrize("vendor", VENDORS)
def test_no_planted_secret_survives_whatever_the_vendor(name: str, vendor: str) -> None:
    text = sample(name)
    for redacted in (redact(text, vendor), redact(normalise(text, vendor), vendor)):
        assert [s for s in SECRETS[name] if s in redacted] == []


def test_a_cisco_banner_quoting_other_vendors_lines_stays_cisco() -> None:
    # The case: a banner with "# ...: ..." lines was taken for a Yamaha config.
    text = sample("cisco-ios/dc2-edge1-confg")
    assert "\n# Reporting Date: " in text and "\n# RTX1210 Rev." in text
    assert detect(text) == "cisco-ios"
    # And were it misdetected, redaction would not care (see the test above).
    assert [s for s in SECRETS["cisco-ios/dc2-edge1-confg"] if s in redact(text, "yamaha")] == []


def intact_share() -> tuple[int, int]:
    """(unchanged, total) over the corpus lines that hold no planted secret."""
    kept = total = 0
    for name, secrets in SECRETS.items():
        text = sample(name)
        lines = text.split("\n")
        redacted = redact(text, detect(text)).split("\n")
        assert len(redacted) == len(lines)
        for before, after in zip(lines, redacted, strict=True):
            if before.strip() and not any(secret in before for secret in secrets):
                total += 1
                kept += before == after
    return kept, total


def test_lines_without_secrets_stay_readable() -> None:
    kept, total = intact_share()
    print(f"non-secret lines left intact: {kept}/{total} = {kept / total:.1%}")
    assert kept / total >= INTACT_AT_LEAST


def exact_share() -> tuple[int, int]:
    """(exact, total) over the corpus lines that hold a planted secret: exact where the line
    lost its secrets (with their quotes) and nothing else, such as an XML closing tag."""
    exact = total = 0
    for name, secrets in SECRETS.items():
        text = sample(name)
        redacted = redact(text, detect(text)).split("\n")
        for before, after in zip(text.split("\n"), redacted, strict=True):
            held = sorted((s for s in secrets if s in before), key=len, reverse=True)
            if not held:
                continue
            wanted = before
            for secret in held:
                wanted = wanted.replace(secret, REDACTED)
            total += 1
            exact += after == re.sub(r"([\"'])<redacted>\1", REDACTED, wanted)
    return exact, total


def test_lines_with_secrets_lose_only_their_secrets_mostly() -> None:
    exact, total = exact_share()
    print(f"secret lines losing only their secrets: {exact}/{total} = {exact / total:.1%}")
    assert exact / total >= EXACT_AT_LEAST
