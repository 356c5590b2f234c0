"""Normalising: report noise goes, configuration (firmware included) stays; vendor detection;
decoding."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config_uploader.normalise import decode, normalise
from config_uploader.vendor import VENDORS, Vendor, detect

DATA = Path(__file__).parent / "data" / "configs"
SAMPLES = sorted(str(p.relative_to(DATA)) for p in DATA.glob("*/*"))


def sample(name: str) -> str:
    return decode((DATA / name).read_bytes())[0]


# (sample, volatile lines it holds, lines that must stay)
VOLATILE: dict[str, tuple[list[str], list[str]]] = {
    "yamaha/rtx1210.txt": (
        ["show config", "# Reporting Date: Nov 30 16:35:23 2026"],
        ["# RTX1210 Rev.14.01.42 (Tue Dec  6 14:25:33 2022)", "# Memory 256Mbytes, 3LAN, 1BRI"],
    ),
    "cisco-ios/rtr1-confg": (
        [
            "Building configuration...",
            "Current configuration : 9876 bytes",
            "! Last configuration change at 16:35:23 UTC Mon Nov 30 2026 by netops",
            "! NVRAM config last updated at 16:35:25 UTC Mon Nov 30 2026 by netops",
            "ntp clock-period 17179869",
        ],
        ["version 17.9", "boot system flash bootflash:isr4400-universalk9.17.09.04a.SPA.bin"],
    ),
    "junos/mx1_juniper.conf": (
        ["## Last commit: 2026-11-30 16:35:23 UTC by netops"],
        ["version 21.4R3.15;"],
    ),
    "junos/mx1.set": (
        ["show configuration | display set", "## Last changed: 2026-11-30 16:35:23 UTC"],
        ["set version 21.4R3.15"],
    ),
    "eos/leaf1.cfg": ([], ["! device: dc1-leaf1 (DCS-7050SX3-48YC8, EOS-4.30.5M)"]),
    "routeros/ccr1.rsc": (
        ["# nov/30/2026 16:35:23 by RouterOS 7.16.1"],
        ["# by RouterOS 7.16.1", "# software id = 7KQ9-XM2P", "# model = CCR2004-1G-12S+2XS"],
    ),
}

# The same volatile lines as another upload would write them.
LATER = {
    "# Reporting Date: Nov 30 16:35:23 2026": "# Reporting Date: Dec  1 03:00:01 2026",
    "Current configuration : 9876 bytes": "Current configuration : 10012 bytes",
    "! Last configuration change at 16:35:23 UTC Mon Nov 30 2026 by netops": (
        "! Last configuration change at 03:00:00 UTC Tue Dec 1 2026 by auditor"
    ),
    "! NVRAM config last updated at 16:35:25 UTC Mon Nov 30 2026 by netops": (
        "! No configuration change since last restart"
    ),
    "ntp clock-period 17179869": "ntp clock-period 17180012",
    "## Last commit: 2026-11-30 16:35:23 UTC by netops": (
        "## Last commit: 2026-12-01 03:00:00 UTC by ops"
    ),
    "## Last changed: 2026-11-30 16:35:23 UTC": "## Last changed: 2026-12-01 03:00:00 UTC",
    "# nov/30/2026 16:35:23 by RouterOS 7.16.1": "# 2026-12-01 03:00:00 by RouterOS 7.16.1",
}


@pytest.mark.parametrize("name", sorted(VOLATILE))
def test_volatile_lines_go_and_firmware_lines_stay(name: str) -> None:
    text = sample(name)
    dropped, kept = VOLATILE[name]
    result = normalise(text, detect(text)).split("\n")
    for line in dropped:
        assert line in text.split("\n")
        assert line not in result
    for line in kept:
        assert line in result


@pytest.mark.parametrize("name", SAMPLES)
def test_uploads_differing_in_noise_only_normalise_equal(name: str) -> None:
    text = sample(name)
    later = text
    for old, new in LATER.items():
        later = later.replace(old, new)
    # CRLF line ends, trailing blanks and blank lines around the config are transport noise.
    later = "\r\n\r\n" + "\r\n".join(line + "  \t" for line in later.split("\n")) + "\r\n\r\n"
    vendor = detect(text)
    assert detect(later) == vendor
    assert normalise(later, vendor) == normalise(text, vendor)
    assert normalise(later, "unknown") == normalise(text, "unknown")


@pytest.mark.parametrize("name", SAMPLES)
def test_a_real_change_or_an_upgrade_still_differs(name: str) -> None:
    text = sample(name)
    vendor = detect(text)
    changed = text.replace("10.255.0.10", "10.255.0.11") if "10.255.0.10" in text else text + "x\n"
    assert normalise(changed, vendor) != normalise(text, vendor)
    for old, new in (
        ("Rev.14.01.42", "Rev.14.01.43"),
        ("version 17.9", "version 17.12"),
        ("21.4R3.15", "22.2R1.9"),
        ("EOS-4.30.5M", "EOS-4.31.1F"),
        ("RouterOS 7.16.1", "RouterOS 7.16.2"),
    ):
        if old in text:
            assert normalise(text.replace(old, new), vendor) != normalise(text, vendor)


def test_routeros_continuations_are_joined() -> None:
    text = "/interface l2tp-client\nadd connect-to=vpn.example name=\\\n    l2tp-out1 user=u\n"
    assert normalise(text, "routeros") == (
        "/interface l2tp-client\nadd connect-to=vpn.example name=l2tp-out1 user=u\n"
    )


def test_shape_of_the_result() -> None:
    assert normalise("", "unknown") == ""
    assert normalise("\n \r\n\t\n", "cisco-ios") == ""
    assert normalise("show running-config\r\nhostname a \r\n\r\n!\r\nend\r\n\r\n", "cisco-ios") == (
        "hostname a\n\n!\nend\n"
    )
    assert normalise("rtr1# show running-config\nhostname a", "unknown") == "hostname a\n"


@pytest.mark.parametrize("name", SAMPLES)
def test_vendor_of_each_sample(name: str) -> None:
    assert detect(sample(name)) == name.split("/")[0]


@pytest.mark.parametrize(
    "text",
    ["", "hello\nworld\n", "interface x\n", "!\n!\nend\n", "set foo bar\n", "# comment\n"],
)
def test_vendor_unknown_when_unsure(text: str) -> None:
    assert detect(text) == "unknown"


def test_decode() -> None:
    assert decode("hostname é\n".encode()) == ("hostname é\n", "utf-8")
    assert decode(b"\xef\xbb\xbfhostname a\n") == ("hostname a\n", "utf-8")
    assert decode("description 東京\n".encode("cp932")) == ("description 東京\n", "cp932")
    assert decode(b"description caf\xe9 x\n") == ("description café x\n", "latin-1")


@settings(max_examples=300, deadline=None)
@given(text=st.text(), vendor=st.sampled_from(VENDORS))
def test_normalise_never_raises_and_leaves_no_noise(text: str, vendor: Vendor) -> None:
    result = normalise(text, vendor)
    assert "\r" not in result
    assert all(line == line.rstrip() for line in result.split("\n"))
    assert not result.startswith("\n")
    assert result == "" or (result.endswith("\n") and not result.endswith("\n\n"))
