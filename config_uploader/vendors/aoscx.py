"""HPE Aruba Networking AOS-CX (``show running-config``; Cisco-like, ``ciphertext`` secrets)."""

from __future__ import annotations

from typing import Final

from config_uploader.vendors import cisco_ios
from config_uploader.vendors.profile import Profile

PROFILE: Final = Profile(
    name="aoscx",
    decisive=(r"!Version ArubaOS-CX ",),
    hints=(
        r"!export-password: ",
        r"user \S+ group \S+ password ciphertext ",
        r"interface \d+/\d+/\d+$",
        r"ssh server vrf ",
        r"https-server vrf ",
        r"vsx$",
        r"snmpv3 user ",
        r"led locator ",
    ),
    hostname=cisco_ios.HOSTNAME,
)
