"""Palo Alto Networks PAN-OS firewalls: the XML running config and its ``set`` form.

``show config running`` (or the XML API's configuration export) writes the whole device as
XML, ``<config version="11.1.0" urldb="paloaltonetworks">`` with the firewall itself under
``<devices><entry name="localhost.localdomain">``; with ``set cli config-output-format set``
the same config comes as ``set deviceconfig system hostname fw1`` lines.

Every PAN-OS secret sits in an element or after a word that names it (``phash``,
``<secret>``, ``bind-password``, ``<key>`` under ``pre-shared-key``, ``authpwd``,
``snmp-community-string``, ``passcode``...), and most are stored encrypted with the master
key as ``-AQ==...`` blobs: the vendor-independent rules read all of them, in both forms
and in the CONFIG logs that echo them, so this profile needs no secret rule of its own.
"""

from __future__ import annotations

from typing import Final

from config_uploader.vendors.profile import Profile

PROFILE: Final = Profile(
    name="panos",
    # The root element (attributes in either order), possibly inside an API <response>.
    decisive=(r"""\s*<config\b[^>]*\burldb=["']""",),
    hints=(
        r"\s*<deviceconfig>$",
        r"\s*<mgt-config>$",
        r"""\s*<entry name="localhost\.localdomain">$""",
        r"\s*<vsys>$",
        r"\s*<rulebase>$",
        r"set deviceconfig (?:system|setting) ",
        r"set mgt-config users ",
        r"set network (?:interface ethernet|virtual-router|ike gateway|tunnel ipsec) ",
        r"set (?:vsys \S+ )?rulebase (?:security|nat) rules ",
        r"set (?:vsys \S+ )?zone \S+ network ",
        r"set shared (?:log-settings|server-profile|certificate) ",
    ),
    # The firewall's own name; a Panorama template's copy is nested deeper and loses.
    hostname=(
        r"(?P<indent>\s*)<hostname>(?P<name>[^<\s]+)</hostname>",
        r"set deviceconfig system hostname (?P<name>\S+)",
    ),
)
