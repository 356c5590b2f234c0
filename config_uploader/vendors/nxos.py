"""Cisco NX-OS (Nexus ``show running-config``)."""

from __future__ import annotations

from typing import Final

from config_uploader.vendors import cisco_ios
from config_uploader.vendors.profile import Profile

PROFILE: Final = Profile(
    name="nxos",
    decisive=(
        r"!Command: show running-config",
        r"!Running configuration last done at: ",
        r"version \d+\.\d+\(\d+\)\S* Bios:version",
    ),
    hints=(
        r"feature (?:nxapi|vpc|lacp|interface-vlan|hsrp|bgp|ospf|tacacs\+|ssh|scp-server)$",
        r"vrf context ",
        r"interface mgmt0$",
        r"username \S+ password \d \S+ +role network-",
        r"copp profile ",
        r"vpc domain \d",
        r"system default switchport",
        r"snmp-server user \S+ network-",
    ),
    volatile=(
        *cisco_ios.VOLATILE,
        r"!Command: show running-config.*",
        r"!Running configuration last done at: .*",
        r"!Time: .*",
    ),
    hostname=cisco_ios.HOSTNAME,
)
