"""Palo Alto Networks PAN-OS firewalls: the running config as XML, braces or ``set`` lines.

The XML API's configuration export (and ``show config running`` after ``set cli
config-output-format xml``) writes the whole device as ``<config version="11.1.0"
urldb="paloaltonetworks">`` with the firewall itself under ``<devices><entry
name="localhost.localdomain">``; the CLI's default format writes the same tree in braces
(``config { devices { localhost.localdomain { deviceconfig { system { hostname fw1; ...``, as
Oxidized collects it, after ``! model: PA-3220`` comments), and ``set`` format as ``set
deviceconfig system hostname fw1`` lines.

Every PAN-OS secret sits in an element or after a word that names it (``phash``,
``<secret>``, ``bind-password``, ``<key>`` under ``pre-shared-key``, ``authpwd``,
``snmp-community-string``, ``passcode``...), and most are stored encrypted with the master
key as ``-AQ==...`` blobs: the vendor-independent rules read all of them, in every form
and in the CONFIG logs that echo them. One secret is named on the line above its value: a
custom header of an HTTP server profile (``<entry name="Authorization">`` then ``<value>Splunk
TOKEN</value>``; ``Authorization {`` then ``value "Splunk TOKEN";``), the one rule here.
"""

from __future__ import annotations

from typing import Final

from bridge.secret_syntax import HEADER_NAME, VALUE
from bridge.secrets import rule
from config_uploader.vendors.profile import Profile

PROFILE: Final = Profile(
    name="panos",
    # The XML root (attributes in either order, possibly inside an API <response>), the brace
    # root, Oxidized's comment of "show system info".
    decisive=(r"""\s*<config\b[^>]*\burldb=["']""", r"config \{$", r"! model: PA-"),
    hints=(
        r"\s*<deviceconfig>$",
        r"\s*<mgt-config>$",
        r"""\s*<entry name="localhost\.localdomain">$""",
        r"\s*<vsys>$",
        r"\s*<rulebase>$",
        r"\s+(?:deviceconfig|mgt-config|localhost\.localdomain|rulebase) \{$",
        r"set deviceconfig (?:system|setting) ",
        r"set mgt-config users ",
        r"set network (?:interface ethernet|virtual-router|ike gateway|tunnel ipsec) ",
        r"set (?:vsys \S+ )?rulebase (?:security|nat) rules ",
        r"set (?:vsys \S+ )?zone \S+ network ",
        r"set shared (?:log-settings|server-profile|certificate) ",
    ),
    # The firewall's own name; a Panorama template's copy is nested deeper and loses.
    hostname=(
        r"(?P<indent>[ \t]*)<hostname>(?P<name>[^<\s]+)</hostname>",
        r"(?P<indent>[ \t]+)hostname (?P<name>[^\s;]+);$",
        r"set deviceconfig system hostname (?P<name>\S+)",
    ),
    secrets=(
        rule(
            r"\s*(?:<value>|value\s+)(?P<v>" + VALUE + ")",
            "value",
            after=r"\s*(?:<entry\s+name=[\"']" + HEADER_NAME + r"[\"']>"
            r"|[\"']?" + HEADER_NAME + r"[\"']?\s+\{)\s*$",
        ),
    ),
)
