"""Fortinet FortiOS (FortiGate configuration backups: ``config``/``edit``/``set``/``end``)."""

from __future__ import annotations

from typing import Final

from bridge.secret_syntax import VALUE
from bridge.secrets import rule
from config_uploader.vendors.profile import Profile

PROFILE: Final = Profile(
    name="fortios",
    decisive=(r"#config-version=F",),
    hints=(
        r"config system global$",
        r"config system interface$",
        r"config firewall (?:policy|address|addrgrp|service custom)$",
        r"config vpn ipsec phase1-interface$",
        r"config router static$",
        r"config user local$",
        r"\s+set (?:vdom|allowaccess|srcintf|dstintf) ",
        r"\s+next$",
    ),
    volatile=(r"#conf_file_ver=.*",),
    # The first line names the firmware (kept) and the admin who saved the file (not config).
    rewrites=((r"(#config-version=[^:\n]*(?::opmode=\d+)?(?::vdom=\d+)?):user=\S*", r"\1"),),
    hostname=(r"""\s+set hostname "?(?P<name>[^"\s]+)""",),
    secrets=(
        # An SNMP community is named by "set name" inside its entry.
        rule(
            r"^\s*set name (?P<v>" + VALUE + ")",
            "set name",
            section=r"\s*config system snmp community",
        ),
    ),
)
