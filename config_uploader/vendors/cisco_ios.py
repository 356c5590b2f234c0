"""Cisco IOS and IOS-XE (``show running-config``, ``archive`` uploads)."""

from __future__ import annotations

from typing import Final

from bridge.secrets import rule
from config_uploader.vendors.profile import Profile

# Lines IOS stamps on every copy; EOS and NX-OS write some of them too.
VOLATILE: Final = (
    r"Building configuration\.\.\.",
    r"Current configuration ?: ?\d+ bytes",
    r"! ?Last configuration change at .*",
    r"! ?NVRAM config last updated at .*",
    r"! ?No configuration change since last restart.*",
    r"ntp clock-period \d+",
)
HOSTNAME: Final = (r"hostname (?P<name>\S+)",)

PROFILE: Final = Profile(
    name="cisco-ios",
    hints=(
        r"Building configuration",
        r"Current configuration : \d+ bytes",
        r"version \d+\.\d+$",
        r"service timestamps ",
        r"boot-start-marker",
        r"interface (?:GigabitEthernet|FastEthernet|TenGigabitEthernet|Serial|Dialer)",
        r"line vty ",
        r"ip cef$",
        r"enable (?:secret|password) \d ",
        r"control-plane$",
    ),
    volatile=VOLATILE,
    hostname=HOSTNAME,
    secrets=(
        # IOS passwords may hold blanks: where the password ends the command, all of it goes.
        rule(
            r"^(?:enable (?:secret|password)(?: level \d+)?"
            r"|username \S+(?: privilege \d+)?(?: algorithm-type \S+)? (?:secret|password)"
            r"|\s*password)(?: [0-9]| sha512)? (?!encryption\b)(?P<v>[^\s{].*)",
            "password",
            "secret",
        ),
    ),
)
