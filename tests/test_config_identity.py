"""Router identity: explicit name, then file name conventions, then the config's own name,
always a safe path segment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config_uploader.identity import Identity, canonical_name, from_config, from_filename, identify
from config_uploader.normalise import decode, normalise
from config_uploader.vendor import VENDORS, Vendor, detect

DATA = Path(__file__).parent / "data" / "configs"
SAFE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}|_[a-z0-9._-]{0,63}")


@pytest.mark.parametrize(
    ("path", "name"),
    [
        # Junos system archival
        ("dc1-mx1_juniper.conf.gz_20261130_163523", "dc1-mx1"),
        ("archive/dc1-mx1_juniper.conf.gz_20261130_163523", "dc1-mx1"),
        ("dc1-mx1_20261130_163523_juniper.conf.gz", "dc1-mx1"),
        ("DC1-MX1_juniper.conf.1.gz_20261130_163523", "dc1-mx1"),
        # Cisco archive path .../$h-config
        ("dc1-rtr1-config", "dc1-rtr1"),
        ("rtr1-confg", "rtr1"),
        ("rtr1-config-1", "rtr1"),
        ("rtr1-config-12", "rtr1"),
        ("dc1-rtr1-Nov-30-2026-16-35-23.123-UTC-0", "dc1-rtr1"),
        # MikroTik /tool fetch
        ("dc1-ccr1.rsc", "dc1-ccr1"),
        ("dc1-ccr1-20261130.rsc", "dc1-ccr1"),
        ("backups/dc1-ccr1_2026-11-30.rsc", "dc1-ccr1"),
        # Yamaha http upload templates: the file is a date, the router a directory
        ("RTX1210/tokyo-edge1/261130.txt", "tokyo-edge1"),
        ("RTX830/osaka-edge1/20261130.txt", "osaka-edge1"),
        ("NVR700W/S4H123456/261130.txt", "s4h123456"),
        ("tokyo-edge1/2611301635.txt", "tokyo-edge1"),
        # plain names
        ("RTR1.cfg", "rtr1"),
        ("dc2/configs/rtr9_2026-11-30.cfg", "rtr9"),
        ("edge-7.txt.gz", "edge-7"),
        # nothing usable
        ("RTX1210/261130.txt", None),
        ("config.txt", None),
        ("running-config", None),
        ("startup-config.gz", None),
        ("show-config", None),
        ("", None),
        (None, None),
        ("/", None),
        ("..", None),
        ("../..", None),
        ("20261130.txt", None),
    ],
)
def test_name_from_file_name(path: str | None, name: str | None) -> None:
    assert from_filename(path) == name


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (" RTR1 ", "rtr1"),
        ('"dc1-rtr1"', "dc1-rtr1"),
        ("a b/c", "a_b_c"),
        ("../../etc/passwd", "etc_passwd"),
        ("..", None),
        (".", None),
        ("-rf", "rf"),
        (".hidden", "hidden"),
        ("___", None),
        ("", None),
        (None, None),
        ("東京", None),
        ("rtr\x00one", "rtr_one"),
        ("x" * 100, "x" * 64),
        ("name.", "name"),
    ],
)
def test_canonical_name(value: str | None, name: str | None) -> None:
    assert canonical_name(value) == name


@pytest.mark.parametrize(
    ("sample", "name"),
    [
        ("cisco-ios/rtr1-confg", "dc1-rtr1"),
        ("eos/leaf1.cfg", "dc1-leaf1"),
        ("junos/mx1_juniper.conf", "dc1-mx1"),
        ("junos/mx1.set", "dc1-mx1"),
        ("routeros/ccr1.rsc", "dc1-ccr1"),
        ("yamaha/rtx1210.txt", "tokyo-edge1"),
        ("yamaha/rtx830.txt", "osaka-edge1"),
    ],
)
def test_name_from_the_config(sample: str, name: str) -> None:
    text = decode((DATA / sample).read_bytes())[0]
    vendor = detect(text)
    assert from_config(normalise(text, vendor), vendor) == name
    assert from_config(normalise(text, "unknown"), "unknown") == name


@pytest.mark.parametrize(
    ("text", "vendor", "name"),
    [
        ('system {\n    host-name "dc1 mx2";\n}\n', "junos", "dc1_mx2"),
        ("/system identity set name=r-inline\n", "routeros", "r-inline"),
        ('/system identity\nset name="My Router"\n', "routeros", "my_router"),
        ("snmp sysname yamaha-sys\n", "yamaha", "yamaha-sys"),
        ("interface x\n hostname not-top-level\n", "cisco-ios", None),
        ("", "unknown", None),
    ],
)
def test_name_from_config_shapes(text: str, vendor: Vendor, name: str | None) -> None:
    assert from_config(text, vendor) == name


def test_identify_prefers_explicit_then_file_then_config() -> None:
    text = "hostname from-config\n"
    assert identify("Explicit", "rtr1-confg", text, "cisco-ios") == Identity("explicit", "explicit")
    assert identify(None, "rtr1-confg", text, "cisco-ios") == Identity("rtr1", "filename")
    assert identify("..", "config.txt", text, "cisco-ios") == Identity("from-config", "config")
    assert identify(None, None, "no name here\n", "cisco-ios") is None


@settings(max_examples=500, deadline=None)
@given(value=st.text())
def test_canonical_name_is_always_a_safe_segment(value: str) -> None:
    name = canonical_name(value)
    assert name is None or SAFE.fullmatch(name)
    assert name is None or canonical_name(name) == name


@settings(max_examples=500, deadline=None)
@given(
    path=st.lists(
        st.one_of(
            st.text(max_size=20),
            st.sampled_from(["..", ".", "RTX1210", "261130.txt", "a-config", "x_juniper.conf"]),
        ),
        max_size=5,
    ).map("/".join),
    text=st.text(),
    vendor=st.sampled_from(VENDORS),
)
def test_identity_never_raises_and_is_safe(path: str, text: str, vendor: Vendor) -> None:
    for name in (from_filename(path), from_config(text, vendor)):
        assert name is None or SAFE.fullmatch(name)
    found = identify(None, path, text, vendor)
    assert found is None or SAFE.fullmatch(found.name)
