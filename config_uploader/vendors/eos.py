"""Arista EOS (``show running-config``; Cisco-like, with IOS's banners when asked)."""

from __future__ import annotations

from typing import Final

from config_uploader.vendors import cisco_ios
from config_uploader.vendors.profile import Profile

PROFILE: Final = Profile(
    name="eos",
    decisive=(r"! device: .*\bEOS-\d",),
    hints=(
        r"! Command: show running-config",
        r"interface Ethernet\d",
        r"interface Management\d",
        r"management api ",
        r"daemon TerminAttr",
        r"username \S+ .*\brole network-",
        r"(?:username|enable|aaa root) .*\bsecret sha512 ",
        r"transceiver qsfp ",
        r"service routing protocols model ",
    ),
    volatile=(*cisco_ios.VOLATILE, r"! Startup-config last modified at .*"),
    hostname=cisco_ios.HOSTNAME,
)
