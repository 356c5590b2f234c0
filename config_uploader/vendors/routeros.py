"""MikroTik RouterOS (``/export`` scripts, fetched or uploaded as ``.rsc``)."""

from __future__ import annotations

from typing import Final

from bridge.secrets import rule
from config_uploader.vendors.profile import Profile

# Attribute values: quoted (escapes honoured), or up to the next blank.
_VALUE: Final = r"""(?:<redacted>|\\"(?:(?!\\").)*(?:\\")?|"(?:[^"\\]|\\.)*"?|[^\s"]+)"""

PROFILE: Final = Profile(
    name="routeros",
    decisive=(r"# .{0,40}\bby RouterOS \d",),
    hints=(
        r"/interface ",
        r"/ip address$",
        r"/ip firewall ",
        r"/system identity$",
        r"/system identity set ",
        r"add \S+=",
        r"set \[ find ",
        r"# software id = ",
    ),
    # The export header's date changes on every export; its RouterOS version is kept.
    rewrites=(
        (
            r"# (?:[A-Za-z]{3}/\d{1,2}/\d{4}|\d{4}[-/]\d{2}[-/]\d{2}) \d{1,2}:\d{2}:\d{2}"
            r" (by RouterOS\b.*)",
            r"# \1",
        ),
    ),
    hostname=(r"""/system identity(?:\n| )set name=(?P<name>"(?:[^"\\\n]|\\.)*"|\S+)""",),
    secrets=(
        # An SNMP community is named by name= under /snmp community.
        rule(r"(?<![\w-])name=(?P<v>" + _VALUE + ")", "name=", section=r"/snmp community"),
    ),
    continued_lines=True,
)
