"""Juniper Junos: MX, EX, QFX and SRX, brace form (``juniper.conf``) and ``set`` form.

Every Junos secret follows a keyword (``encrypted-password``, ``secret``,
``authentication-key``, ``pre-shared-key ascii-text``, ``community NAME {``, ...) or is a
``$9$``/crypt string, which the vendor-independent rules already read: no rules of its own.
"""

from __future__ import annotations

from typing import Final

from config_uploader.vendors.profile import Profile

PROFILE: Final = Profile(
    name="junos",
    decisive=(r"## Last (?:commit|changed): ", r"(?:set )?version \d+\.\d+[A-Z]\d"),
    hints=(
        r"system \{$",
        r"interfaces \{$",
        r"protocols \{$",
        r" {4}host-name \S+;$",
        r"set system (?:root-authentication|services|syslog|ntp|login class)",
        r"set interfaces (?:ge|xe|et|ae|lo|fxp|em|irb|reth|st|me|vme)-?\d",
        r"set protocols (?:bgp|ospf|isis|lldp|mpls|rsvp|ldp)",
        r"set (?:routing-options|policy-options|security|snmp|firewall family) ",
        r"routing-options \{$",
        r"policy-options \{$",
        r"security \{$",
    ),
    volatile=(r"## Last (?:commit|changed): .*",),
    hostname=(
        r"""(?P<indent>\s*)host-name (?P<name>"[^"\n]*"|[^\s;]+);""",
        r"set system host-name (?P<name>\S+)",
    ),
)
