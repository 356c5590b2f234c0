"""VyOS (``config.boot`` brace form and ``show configuration commands`` set form).

Its secrets all follow keywords (``plaintext-password``, ``encrypted-password``,
``private-key``, ``preshared-key``, ``community``, ``secret``, ``key``), which the
vendor-independent rules read: no rules of its own.
"""

from __future__ import annotations

from typing import Final

from config_uploader.vendors.profile import Profile

PROFILE: Final = Profile(
    name="vyos",
    hints=(
        r"// vyos-config-version: ",  # config.boot ends with these two
        r"// Release version: ",
        r"\s+loopback lo \{$",
        r"\s+commit-revisions \S+$",
        r"set interfaces (?:ethernet|loopback|wireguard|bonding|bridge|tunnel|pppoe) ",
        r"set service (?:ssh|snmp|ntp|dhcp-server|dns forwarding|https)\b",
        r"set protocols static route6? ",
        r"set nat (?:source|destination) rule ",
        r"set firewall (?:name|ipv4|ipv6|group) ",
        r"set vpn ipsec ",
        r"set system (?:config-management|console|syslog global|name-server) ",
        r"\s+ethernet eth\d+ \{$",
        r"\s+hw-id \S+$",
        r"\s+plaintext-password \S+$",
    ),
    hostname=(r"set system host-name '?(?P<name>[^'\s]+)", r"\s+host-name (?P<name>[^\s;{]+)$"),
)
