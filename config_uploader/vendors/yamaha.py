"""Yamaha RTX/NVR/FWX (``show config``, ``http upload``): positional secrets without keywords."""

from __future__ import annotations

from typing import Final

from bridge.secrets import rule
from config_uploader.vendors.profile import Profile

PROFILE: Final = Profile(
    name="yamaha",
    decisive=(r"# (?:RTX|NVR|RT|FWX|SRT|vRX|YSL)\S* Rev\.\d", r"# Reporting Date: "),
    hints=(
        r"ip lan\d+ address ",
        r"pp select ",
        r"tunnel select ",
        r"ip filter \d+ ",
        r"nat descriptor ",
        r"ipsec ike ",
        r"login user ",
        r"administrator password",
        r"dhcp scope \d",
        r"security class ",
        r"ip route default gateway ",
    ),
    volatile=(r"# Reporting Date:.*",),
    # No hostname command: the console prompt, else the SNMP system name.
    hostname=(
        r"""console prompt (?P<name>"[^"\n]*"|\S+)""",
        r"""snmp sysname (?P<name>"[^"\n]*"|\S+)""",
    ),
    secrets=(
        rule(r"^\s*(?:login|administrator) password(?: encrypted)? (?P<v>.+)", "password "),
        rule(r"^\s*login user \S+(?: encrypted)? (?P<v>.+)", "login user "),
        rule(
            r"^\s*pp auth (?:myname|username) \S+ (?P<v>\S+)(?:.*? myname \S+ (?P<v2>\S+))?",
            "pp auth ",
        ),
        rule(r"^\s*ipsec ike xauth myname \S+ \S+ (?P<v>.+)", "xauth myname "),
        rule(r"^\s*ipsec ike pre-shared-key \S+(?: text| hex)? (?P<v>.+)", "pre-shared-key "),
        rule(r"^\s*radius secret (?P<v>.+)", "radius secret "),
        rule(r"^\s*l2tp tunnel auth on (?P<v>.+)", "l2tp tunnel auth on "),
        rule(r"^\s*sshd host key generate (?P<v>.+)", "sshd host key generate "),
        rule(r"^\s*auth user \d+ \S+ (?P<v>\S+)", "auth user "),
        rule(
            r"^\s*snmp(?:v2c)? (?:community (?:read-only|read-write)|trap community) (?P<v>.+)",
            "community ",
        ),
        rule(r"^\s*snmp(?:v2c)? (?:trap )?host \S+(?: (?:1|2c|trap|inform))* (?P<v>\S+)", "host "),
        rule(
            r"^\s*snmpv3 usm user .*?(?:md5|sha\S*) (?P<v>\S+)(?: \S+ (?P<v2>\S+))?",
            "snmpv3 usm user ",
        ),
        rule(r"^\s*mail server .*?(?:smtp-auth|pop3|apop) \S+ (?P<v>\S+)", "mail server "),
    ),
)
