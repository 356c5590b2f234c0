"""Cisco ASA (``show running-config`` / ``more system:running-config``)."""

from __future__ import annotations

from typing import Final

from config_uploader.vendors import cisco_ios
from config_uploader.vendors.profile import Profile

PROFILE: Final = Profile(
    name="asa",
    decisive=(r"ASA Version \d", r": Saved$"),
    hints=(
        r" nameif \S+",
        r" security-level \d+",
        r"object network ",
        r"access-group \S+ in interface ",
        r"tunnel-group \S+ ",
        r"crypto ikev[12] enable ",
        r"passwd \S+",
        r"same-security-traffic ",
    ),
    volatile=(
        r": Saved",
        r": Written by .*",
        r"Cryptochecksum:[0-9a-f]+",
        r"! ?No configuration change since last restart.*",
    ),
    hostname=cisco_ios.HOSTNAME,
)
