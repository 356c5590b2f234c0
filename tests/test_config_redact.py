"""Redaction: no secret value survives, the line around it does, and redacting twice is once.

The corpus holds real shapes of secret lines per vendor: (vendor, line, secret, what the
redacted line must still start with). The sample configs under ``tests/data/configs`` carry the
secrets listed in ``secrets.json``; each must vanish whether the vendor is detected or not.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config_uploader.diff import Text
from config_uploader.normalise import decode, normalise
from config_uploader.redact import REDACTED, redact, redact_lines, redact_some
from config_uploader.vendor import VENDORS, Vendor, detect
from tests.syntax_secrets import kept, syntax_secrets

DATA = Path(__file__).parent / "data" / "configs"
SECRETS: dict[str, list[str]] = {
    name: values
    for name, values in json.loads((DATA / "secrets.json").read_text()).items()
    if not name.startswith("_")
}

# (vendor, line, secret, prefix the redacted line keeps)
CORPUS: list[tuple[Vendor, str, str, str]] = [
    # Cisco IOS
    (
        "cisco-ios",
        "enable secret 9 $9$nhEmQVczB7dqsO$X.HsgL6x1il0Rx",
        "nhEmQVczB7dqsO",
        "enable secret 9 ",
    ),
    (
        "cisco-ios",
        "enable secret 5 $1$mERr$hx5rVt7rPNoS4wqbXKX7m0",
        "hx5rVt7rPNoS4wqbXKX7m0",
        "enable secret 5 ",
    ),
    ("cisco-ios", "enable password 7 0822455D0A16", "0822455D0A16", "enable password 7 "),
    ("cisco-ios", "enable password cisco123", "cisco123", "enable password "),
    (
        "cisco-ios",
        "enable secret level 15 5 $1$abcd$Lvl15HashValue",
        "Lvl15HashValue",
        "enable secret level 15 5 ",
    ),
    (
        "cisco-ios",
        "username admin privilege 15 secret 8 $8$dsYGNam3K1SIJO$7nv/35M/qr6t.dVc7UY9zrJDWRVqn",
        "7nv/35M/qr6t",
        "username admin privilege 15 secret 8 ",
    ),
    (
        "cisco-ios",
        "username bob password 7 094F471A1A0A",
        "094F471A1A0A",
        "username bob password 7 ",
    ),
    (
        "cisco-ios",
        "username carol privilege 1 password 0 two words",
        "two words",
        "username carol privilege 1 password 0 ",
    ),
    (
        "cisco-ios",
        "username dave algorithm-type scrypt secret $9$scryptSalt$scryptHash",
        "scryptHash",
        "username dave algorithm-type scrypt secret ",
    ),
    ("cisco-ios", "snmp-server community N0tPublic RO 10", "N0tPublic", "snmp-server community "),
    (
        "cisco-ios",
        'snmp-server community "quoted comm" RW',
        "quoted comm",
        "snmp-server community ",
    ),
    (
        "cisco-ios",
        "snmp-server host 10.1.1.1 version 2c TrapC0mm",
        "TrapC0mm",
        "snmp-server host 10.1.1.1 version 2c ",
    ),
    (
        "cisco-ios",
        "snmp-server host 10.1.1.1 vrf MGMT informs version 2c InfC0mm udp-port 162",
        "InfC0mm",
        "snmp-server host 10.1.1.1 vrf MGMT informs version 2c ",
    ),
    (
        "cisco-ios",
        "snmp-server host 10.1.1.1 OldStyleComm",
        "OldStyleComm",
        "snmp-server host 10.1.1.1 ",
    ),
    (
        "cisco-ios",
        "snmp-server user u1 G v3 auth sha AuthPw1 priv aes 128 PrivPw1",
        "AuthPw1",
        "snmp-server user u1 G v3 auth sha ",
    ),
    (
        "cisco-ios",
        "snmp-server user u1 G v3 auth md5 AuthPw2 priv des PrivPw2",
        "PrivPw2",
        "snmp-server user u1 G v3 auth md5 ",
    ),
    (
        "cisco-ios",
        "tacacs-server host 10.0.0.5 key 7 045802150C2E",
        "045802150C2E",
        "tacacs-server host 10.0.0.5 key 7 ",
    ),
    ("cisco-ios", "tacacs-server key TacGlobalKey", "TacGlobalKey", "tacacs-server key "),
    ("cisco-ios", " key 7 1511021F0725", "1511021F0725", " key 7 "),
    ("cisco-ios", " key PlainServerKey", "PlainServerKey", " key "),
    ("cisco-ios", "radius-server key 7 RadKey7", "RadKey7", "radius-server key 7 "),
    (
        "cisco-ios",
        "radius-server host 10.0.0.9 auth-port 1812 acct-port 1813 key RadHostKey",
        "RadHostKey",
        "radius-server host 10.0.0.9 auth-port 1812 acct-port 1813 key ",
    ),
    ("cisco-ios", "  key-string 7 110A1016141D", "110A1016141D", "  key-string 7 "),
    ("cisco-ios", "  key-string PlainKeyString", "PlainKeyString", "  key-string "),
    (
        "cisco-ios",
        "crypto isakmp key 6 Isakmp6Key address 0.0.0.0 0.0.0.0",
        "Isakmp6Key",
        "crypto isakmp key 6 ",
    ),
    (
        "cisco-ios",
        "crypto isakmp key IsakmpPlain hostname peer.example",
        "IsakmpPlain",
        "crypto isakmp key ",
    ),
    ("cisco-ios", "  pre-shared-key local Ikev2Local", "Ikev2Local", "  pre-shared-key local "),
    ("cisco-ios", "  pre-shared-key remote Ikev2Remote", "Ikev2Remote", "  pre-shared-key remote "),
    ("cisco-ios", "  pre-shared-key 6 Ikev2Type6", "Ikev2Type6", "  pre-shared-key 6 "),
    (
        "cisco-ios",
        " pre-shared-key address 1.2.3.4 key KeyringKey",
        "KeyringKey",
        " pre-shared-key address 1.2.3.4 key ",
    ),
    (
        "cisco-ios",
        " ip ospf authentication-key 7 0822455D0A16OS",
        "0822455D0A16OS",
        " ip ospf authentication-key 7 ",
    ),
    (
        "cisco-ios",
        " ip ospf authentication-key OspfPlain",
        "OspfPlain",
        " ip ospf authentication-key ",
    ),
    (
        "cisco-ios",
        " ip ospf message-digest-key 1 md5 7 00071A150754",
        "00071A150754",
        " ip ospf message-digest-key 1 md5 7 ",
    ),
    (
        "cisco-ios",
        " ip ospf message-digest-key 2 md5 OspfMd5Plain",
        "OspfMd5Plain",
        " ip ospf message-digest-key 2 md5 ",
    ),
    (
        "cisco-ios",
        " neighbor 10.0.0.1 password 7 BgpNbrPw",
        "BgpNbrPw",
        " neighbor 10.0.0.1 password 7 ",
    ),
    ("cisco-ios", " neighbor PEERS password BgpGroupPw", "BgpGroupPw", " neighbor PEERS password "),
    ("cisco-ios", " ppp chap password 7 ChapPw7", "ChapPw7", " ppp chap password 7 "),
    (
        "cisco-ios",
        " ppp pap sent-username isp password 0 PapPw0",
        "PapPw0",
        " ppp pap sent-username isp password 0 ",
    ),
    ("cisco-ios", " wpa-psk ascii 7 WpaPsk7", "WpaPsk7", " wpa-psk ascii 7 "),
    ("cisco-ios", " wpa-psk ascii 0 WpaPsk0", "WpaPsk0", " wpa-psk ascii 0 "),
    ("cisco-ios", " password 7 LinePw7", "LinePw7", " password 7 "),
    ("cisco-ios", " password LinePlain", "LinePlain", " password "),
    (
        "cisco-ios",
        " standby 1 authentication md5 key-string 7 HsrpKs",
        "HsrpKs",
        " standby 1 authentication md5 key-string 7 ",
    ),
    (
        "cisco-ios",
        " standby 1 authentication text HsrpTxt",
        "HsrpTxt",
        " standby 1 authentication text ",
    ),
    ("cisco-ios", " standby 2 authentication HsrpBare", "HsrpBare", " standby 2 authentication "),
    ("cisco-ios", " vrrp 3 authentication text VrrpTxt", "VrrpTxt", " vrrp 3 authentication text "),
    ("cisco-ios", " ip nhrp authentication NhrpPw", "NhrpPw", " ip nhrp authentication "),
    (
        "cisco-ios",
        "ntp authentication-key 1 md5 121A0C0411045D 7",
        "121A0C0411045D",
        "ntp authentication-key 1 md5 ",
    ),
    (
        "cisco-ios",
        " ipv6 ospf authentication ipsec spi 256 md5 1234567890ABCDEF1234567890ABCDEF",
        "1234567890ABCDEF1234567890ABCDEF",
        " ipv6 ospf authentication ipsec spi 256 md5 ",
    ),
    ("cisco-ios", " isis password IsisPw", "IsisPw", " isis password "),
    ("cisco-ios", " area-password AreaPw", "AreaPw", " area-password "),
    ("cisco-ios", " domain-password DomainPw", "DomainPw", " domain-password "),
    ("cisco-ios", "ip ftp password 7 FtpPw7", "FtpPw7", "ip ftp password 7 "),
    # Arista EOS
    (
        "eos",
        "username admin privilege 15 role network-admin secret sha512 $6$s$EosHash",
        "EosHash",
        "username admin privilege 15 role network-admin secret sha512 ",
    ),
    ("eos", "enable password sha512 $6$s$EnableHash", "EnableHash", "enable password sha512 "),
    ("eos", "aaa root secret sha512 $6$s$RootHash", "RootHash", "aaa root secret sha512 "),
    ("eos", "username ops secret 0 EosPlainPw", "EosPlainPw", "username ops secret 0 "),
    (
        "eos",
        "tacacs-server host 10.0.0.31 vrf MGMT key 7 EosTacKey",
        "EosTacKey",
        "tacacs-server host 10.0.0.31 vrf MGMT key 7 ",
    ),
    (
        "eos",
        "radius-server host 10.0.0.41 key 7 EosRadKey",
        "EosRadKey",
        "radius-server host 10.0.0.41 key 7 ",
    ),
    ("eos", "   neighbor SPINES password 7 EosBgpPw", "EosBgpPw", "   neighbor SPINES password 7 "),
    (
        "eos",
        "   ip ospf message-digest-key 1 md5 7 EosOspfMd5",
        "EosOspfMd5",
        "   ip ospf message-digest-key 1 md5 7 ",
    ),
    (
        "eos",
        "ntp authentication-key 1 md5 7 EosNtpKey",
        "EosNtpKey",
        "ntp authentication-key 1 md5 7 ",
    ),
    ("eos", "snmp-server community EosComm ro", "EosComm", "snmp-server community "),
    (
        "eos",
        "snmp-server user mon grp v3 auth sha512 EosAuth priv aes EosPriv",
        "EosPriv",
        "snmp-server user mon grp v3 auth sha512 ",
    ),
    # Junos, brace form
    (
        "junos",
        '        encrypted-password "$6$Zq1r$JunosRootHash"; ## SECRET-DATA',
        "JunosRootHash",
        "        encrypted-password ",
    ),
    (
        "junos",
        '            secret "$9$TacSecret9"; ## SECRET-DATA',
        "TacSecret9",
        "            secret ",
    ),
    (
        "junos",
        '            authentication-key "$9$BgpKey9"; ## SECRET-DATA',
        "BgpKey9",
        "            authentication-key ",
    ),
    (
        "junos",
        '            pre-shared-key ascii-text "$9$IkePsk9"; ## SECRET-DATA',
        "IkePsk9",
        "            pre-shared-key ascii-text ",
    ),
    (
        "junos",
        '            pre-shared-key hexadecimal "$9$IkeHex9";',
        "IkeHex9",
        "            pre-shared-key hexadecimal ",
    ),
    (
        "junos",
        '                    md5 1 key "$9$OspfMd59"; ## SECRET-DATA',
        "OspfMd59",
        "                    md5 1 key ",
    ),
    (
        "junos",
        '                    simple-password "$9$OspfSimple9";',
        "OspfSimple9",
        "                    simple-password ",
    ),
    (
        "junos",
        '                        privacy-key "$9$SnmpPriv9";',
        "SnmpPriv9",
        "                        privacy-key ",
    ),
    (
        "junos",
        '        authentication-key 1 type sha256 value "$9$NtpVal9";',
        "NtpVal9",
        "        authentication-key 1 type sha256 value ",
    ),
    (
        "junos",
        '                secret "$9$KeychainSecret9";',
        "KeychainSecret9",
        "                secret ",
    ),
    ("junos", '    shared-secret "$9$Radius9";', "Radius9", "    shared-secret "),
    # Junos, set form
    (
        "junos",
        'set system root-authentication encrypted-password "$6$abc$SetRootHash"',
        "SetRootHash",
        "set system root-authentication encrypted-password ",
    ),
    (
        "junos",
        'set system login user ops authentication encrypted-password "$6$x$SetOpsHash"',
        "SetOpsHash",
        "set system login user ops authentication encrypted-password ",
    ),
    (
        "junos",
        'set system tacplus-server 10.0.0.6 secret "$9$SetTac9"',
        "SetTac9",
        "set system tacplus-server 10.0.0.6 secret ",
    ),
    (
        "junos",
        'set system radius-server 10.0.0.7 secret "$9$SetRad9"',
        "SetRad9",
        "set system radius-server 10.0.0.7 secret ",
    ),
    (
        "junos",
        'set protocols bgp group IBGP authentication-key "$9$SetBgp9"',
        "SetBgp9",
        "set protocols bgp group IBGP authentication-key ",
    ),
    (
        "junos",
        'set security ike policy P pre-shared-key ascii-text "$9$SetIke9"',
        "SetIke9",
        "set security ike policy P pre-shared-key ascii-text ",
    ),
    (
        "junos",
        "set snmp community SetComm authorization read-only",
        "SetComm",
        "set snmp community ",
    ),
    (
        "junos",
        'set snmp v3 snmp-community idx community-name "$9$SetCommName9"',
        "SetCommName9",
        "set snmp v3 snmp-community idx community-name ",
    ),
    (
        "junos",
        'set protocols ospf area 0 interface ge-0/0/0.0 authentication md5 1 key "$9$SetMd59"',
        "SetMd59",
        "set protocols ospf area 0 interface ge-0/0/0.0 authentication md5 1 key ",
    ),
    (
        "junos",
        "set protocols isis level 2 authentication-key PlainIsisKey",
        "PlainIsisKey",
        "set protocols isis level 2 authentication-key ",
    ),
    # Yamaha RTX
    (
        "yamaha",
        "login password encrypted 4F2A8C1D0E7B63A95C1B7E20D4F8A316",
        "4F2A8C1D0E7B63A95C1B7E20D4F8A316",
        "login password encrypted ",
    ),
    ("yamaha", "login password PlainLogin", "PlainLogin", "login password "),
    (
        "yamaha",
        "administrator password encrypted 9B7E5D3C1A0F2E4D",
        "9B7E5D3C1A0F2E4D",
        "administrator password encrypted ",
    ),
    ("yamaha", "administrator password PlainAdmin", "PlainAdmin", "administrator password "),
    (
        "yamaha",
        "login user netops encrypted 7C3A9E1F5B2D8C4A",
        "7C3A9E1F5B2D8C4A",
        "login user netops encrypted ",
    ),
    ("yamaha", "login user admin AdminUserPw", "AdminUserPw", "login user admin "),
    (
        "yamaha",
        " pp auth myname user@isp.example.jp PppoePw",
        "PppoePw",
        " pp auth myname user@isp.example.jp ",
    ),
    ("yamaha", " pp auth username remote1 L2tpPw1", "L2tpPw1", " pp auth username remote1 "),
    (
        "yamaha",
        " pp auth username remote2 L2tpPw2 myname side SidePw",
        "SidePw",
        " pp auth username remote2 ",
    ),
    (
        "yamaha",
        "  ipsec ike pre-shared-key 1 text IkePskText#1",
        "IkePskText#1",
        "  ipsec ike pre-shared-key 1 text ",
    ),
    (
        "yamaha",
        "  ipsec ike pre-shared-key 2 hex 0xDEADBEEF",
        "0xDEADBEEF",
        "  ipsec ike pre-shared-key 2 hex ",
    ),
    (
        "yamaha",
        "  ipsec ike xauth myname 2 xuser XauthPw",
        "XauthPw",
        "  ipsec ike xauth myname 2 xuser ",
    ),
    ("yamaha", "radius secret RadiusShared#9", "RadiusShared#9", "radius secret "),
    ("yamaha", " l2tp tunnel auth on L2tpv3Pw", "L2tpv3Pw", " l2tp tunnel auth on "),
    (
        "yamaha",
        "sshd host key generate 2048 AAAAB3NzaHostKeyMaterial",
        "AAAAB3NzaHostKeyMaterial",
        "sshd host key generate ",
    ),
    ("yamaha", "auth user 1 vpnuser VpnPw", "VpnPw", "auth user 1 vpnuser "),
    ("yamaha", "snmp community read-only RoComm", "RoComm", "snmp community read-only "),
    ("yamaha", "snmp community read-write RwComm", "RwComm", "snmp community read-write "),
    ("yamaha", "snmp trap community TrapComm", "TrapComm", "snmp trap community "),
    ("yamaha", "snmpv2c community read-only V2Comm", "V2Comm", "snmpv2c community read-only "),
    (
        "yamaha",
        "snmpv3 usm user 1 mgr group 1 sha V3Auth aes128-cfb V3Priv",
        "V3Priv",
        "snmpv3 usm user 1 mgr group 1 sha ",
    ),
    (
        "yamaha",
        "mail server smtp 1 smtp.example.jp smtp-auth mailer MailPw",
        "MailPw",
        "mail server smtp 1 smtp.example.jp smtp-auth mailer ",
    ),
    ("yamaha", "airlink psk-key AirlinkPsk", "AirlinkPsk", "airlink psk-key "),
    # MikroTik RouterOS
    (
        "routeros",
        "add name=netops group=full password=RosUserPw",
        "RosUserPw",
        "add name=netops group=full password=",
    ),
    (
        "routeros",
        'add name=r1 password="two words" service=l2tp',
        "two words",
        "add name=r1 password=",
    ),
    (
        "routeros",
        "add connect-to=vpn.example ipsec-secret=RosIpsec name=l2tp-out1",
        "RosIpsec",
        "add connect-to=vpn.example ipsec-secret=",
    ),
    (
        "routeros",
        'add authentication-types=wpa2-psk wpa2-pre-shared-key="Wifi Psk"',
        "Wifi Psk",
        "add authentication-types=wpa2-psk wpa2-pre-shared-key=",
    ),
    (
        "routeros",
        'add private-key="kOd3FVWmWqGmR2C7Tq3t0PZmZxvEz4YCc1NVnN2dMk0=" name=wg',
        "kOd3FVWmWqGmR2C7",
        "add private-key=",
    ),
    (
        "routeros",
        "add preshared-key=WgPsk= public-key=pub= endpoint-port=13231",
        "WgPsk=",
        "add preshared-key=",
    ),
    (
        "routeros",
        "add address=10.0.0.41 secret=RosRadius service=login",
        "RosRadius",
        "add address=10.0.0.41 secret=",
    ),
    (
        "routeros",
        "add as=65030 name=aws tcp-md5-key=RosBgpMd5",
        "RosBgpMd5",
        "add as=65030 name=aws tcp-md5-key=",
    ),
    (
        "routeros",
        "add area=backbone auth=md5 auth-id=1 auth-key=RosOspf",
        "RosOspf",
        "add area=backbone auth=md5 auth-id=1 auth-key=",
    ),
    (
        "routeros",
        "set enabled=yes trap-community=RosTrap",
        "RosTrap",
        "set enabled=yes trap-community=",
    ),
    (
        "routeros",
        "add security=private authentication-password=RosSnmpAuth encryption-password=RosSnmpPriv",
        "RosSnmpPriv",
        "add security=private authentication-password=",
    ),
    ("routeros", "set passphrase=RosWifi7 name=sec1", "RosWifi7", "set passphrase="),
    (
        "routeros",
        'add on-event="/tool fetch user=u password=FetchPw url=\\"http://x\\"" name=s',
        "FetchPw",
        'add on-event="/tool fetch user=u password=',
    ),
    # Anything: private keys and crypt hashes, and words no vendor rule knows
    (
        "unknown",
        "local-user admin password cipher $c$3$UnknownCipher",
        "UnknownCipher",
        "local-user admin password cipher ",
    ),
    (
        "unknown",
        "snmp-agent community read cipher UnkComm",
        "UnkComm",
        "snmp-agent community read cipher ",
    ),
    ("unknown", "api-token: UnkToken123", "UnkToken123", "api-token: "),
    ("unknown", "set auth token=UnkTok2", "UnkTok2", "set auth token="),
    ("unknown", "radius-server key UnkRadius", "UnkRadius", "radius-server key "),
    (
        "cisco-ios",
        "some-new-command passphrase NewPhrase",
        "NewPhrase",
        "some-new-command passphrase ",
    ),
    (
        "junos",
        "set services new-thing private-key NewPrivKey",
        "NewPrivKey",
        "set services new-thing private-key ",
    ),
    ("yamaha", "unknown-feature password=YamahaNewPw", "YamahaNewPw", "unknown-feature password="),
    ("routeros", "foo api-key: RosApiKey", "RosApiKey", "foo api-key: "),
    ("eos", "management x passwd EosPasswd", "EosPasswd", "management x passwd "),
]

# Lines that must come through untouched (configuration, not secrets).
KEPT: list[tuple[Vendor, str]] = [
    ("cisco-ios", "service password-encryption"),
    ("cisco-ios", "password encryption aes"),
    ("cisco-ios", " tunnel key 4200"),
    ("cisco-ios", "crypto key generate rsa modulus 2048"),
    ("cisco-ios", "ntp server 10.255.0.123 key 1 prefer"),
    ("cisco-ios", " ip ospf authentication message-digest"),
    ("cisco-ios", " standby 1 authentication md5 key-chain HSRP-KEYS"),
    ("cisco-ios", "security passwords min-length 10"),
    ("cisco-ios", "  30820330 30820218 A0030201 02020101 300D0609 2A864886 F70D0101 05050030"),
    ("eos", "username ops ssh-key ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 ops@jump"),
    ("junos", "    authentication-order [ tacplus radius password ];"),
    ("junos", "set system login password format sha512"),
    ("junos", "        password {"),
    ("junos", "            authentication-method pre-shared-keys;"),
    ("junos", "    community CUSTOMERS members 65010:100;"),
    ("junos", "set policy-options community CUSTOMERS members 65010:100"),
    ("junos", '                ssh-ed25519 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk1 ops@jump1";'),
    ("yamaha", "administrator password"),
    ("yamaha", " pp auth accept pap chap"),
    ("yamaha", " l2tp tunnel auth off"),
    ("yamaha", "sshd service on"),
    ("routeros", "add authentication-types=wpa2-psk mode=dynamic-keys name=office"),
    ("routeros", "set name=dc1-ccr1"),
]


@pytest.mark.parametrize(("vendor", "line", "secret", "prefix"), CORPUS)
def test_secret_value_is_redacted_and_the_line_stays(
    vendor: Vendor, line: str, secret: str, prefix: str
) -> None:
    for as_vendor in (vendor, "unknown"):
        redacted = redact(line, as_vendor)
        assert secret not in redacted, as_vendor
        assert REDACTED in redacted
        if as_vendor == vendor:
            assert redacted.startswith(prefix + REDACTED), redacted
        assert redact(redacted, as_vendor) == redacted


@pytest.mark.parametrize(("vendor", "line"), KEPT)
def test_configuration_that_is_no_secret_stays(vendor: Vendor, line: str) -> None:
    assert redact(line, vendor) == line


def test_key_index_of_a_key_chain_stays_but_its_key_string_goes() -> None:
    text = "key chain OSPF\n key 1\n  key-string 7 0822455D0A16\n!\ntacacs server T\n key 1234\n"
    assert redact(text, "cisco-ios") == (
        "key chain OSPF\n key 1\n  key-string 7 <redacted>\n!\ntacacs server T\n key <redacted>\n"
    )


def test_junos_community_is_a_secret_only_inside_snmp() -> None:
    text = (
        "snmp {\n    community S3cretComm {\n        authorization read-only;\n    }\n}\n"
        "policy-options {\n    community CUSTOMERS members 65010:100;\n}\n"
    )
    redacted = redact(text, "junos")
    assert "S3cretComm" not in redacted
    assert "    community <redacted> {" in redacted
    assert "    community CUSTOMERS members 65010:100;" in redacted


def test_routeros_snmp_community_name_and_continued_secret() -> None:
    text = (
        "/snmp community\nadd addresses=10.0.0.0/24 name=RosComm\n/system identity\nset name=r1\n"
        "/interface l2tp-client\nadd connect-to=vpn.example password=\\\n    CutPw user=u\n"
    )
    redacted = redact(text, "routeros")
    assert "RosComm" not in redacted and "CutPw" not in redacted
    assert "set name=r1" in redacted
    assert redacted.split("\n")[6] == "    <redacted> user=u"
    # normalising joins the continuation first; the value is redacted all the same
    joined = redact(normalise(text, "routeros"), "routeros")
    assert "CutPw" not in joined and "password=<redacted> user=u" in joined


# A PAN-OS HTTP server profile header is an entry with one value (pan-os-python's ValueEntry:
# <entry name="NAME"><value>V</value>, braces NAME { value V; }); a config puts the value on
# the line below the name, where only the line above tells it is a header's.
PANOS_HEADERS_XML = """\
              <headers>
                <entry name="Authorization">
                  <value>Splunk 6f1c2d3e PanXmlHecTok</value>
                </entry>
                <entry name="Content-Type">
                  <value>application/json</value>
                </entry>
                <entry name='X-Auth-Token'>
                  <value>PanXmlXAuth</value>
                </entry>
              </headers>"""
PANOS_HEADERS_BRACES = """\
              headers {
                Authorization {
                  value "Splunk 3a4b5c6d PanBraceHecTok";
                }
                Content-Type {
                  value application/json;
                }
                X-Auth {
                  value PanBraceXAuth;
                }
              }"""


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize(
    ("text", "secrets"),
    [
        (PANOS_HEADERS_XML, ["PanXmlHecTok", "PanXmlXAuth"]),
        (PANOS_HEADERS_BRACES, ["PanBraceHecTok", "PanBraceXAuth"]),
    ],
)
def test_panos_header_value_below_its_name_goes(
    vendor: Vendor, text: str, secrets: list[str]
) -> None:
    redacted = redact(text, vendor)
    assert [secret for secret in secrets if secret in redacted] == []
    lines, out = text.split("\n"), redacted.split("\n")
    assert [k for k, (a, b) in enumerate(zip(lines, out, strict=True)) if a != b] == [2, 8]
    assert out[2].strip() in ("<value><redacted></value>", "value <redacted>;")
    # a diff shows the value line alone: the name above is still read
    assert redact_some(lines, vendor, [2, 5, 8]) == {k: out[k] for k in (2, 5, 8)}


def test_a_value_below_no_header_name_stays() -> None:
    text = (
        '    <entry name="Content-Type">\n      <value>application/json</value>\n<value>x</value>'
    )
    assert redact(text, "panos") == text


@pytest.mark.parametrize("vendor", VENDORS)
def test_private_key_blocks_are_redacted_certificates_kept(vendor: Vendor) -> None:
    text = (
        "crypto thing\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretA\n"
        "  indentedSecretB\n-----END RSA PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\n"
        "MIIPublicCert\n-----END CERTIFICATE-----\n"
        'key "-----BEGIN PRIVATE KEY-----\\nInlineSecretC\\n-----END PRIVATE KEY-----"\n'
        "-----BEGIN OPENSSH PRIVATE KEY-----\nunterminatedSecretD\n"
    )
    redacted = redact(text, vendor)
    for secret in ("secretA", "indentedSecretB", "InlineSecretC", "unterminatedSecretD"):
        assert secret not in redacted
    assert "MIIPublicCert" in redacted
    assert "  <redacted>" in redacted.split("\n")
    assert redacted.count("\n") == text.count("\n")


@pytest.mark.parametrize("sample", sorted(SECRETS))
def test_sample_configs_lose_every_secret(sample: str) -> None:
    text, _ = decode((DATA / sample).read_bytes())
    vendor = detect(text)
    assert vendor == sample.split("/")[0]
    for secret in SECRETS[sample]:
        assert secret in text, f"the sample lacks {secret!r}"
    for form in (text, normalise(text, vendor)):
        for as_vendor in (vendor, "unknown"):
            redacted = redact(form, as_vendor)
            leaked = [s for s in SECRETS[sample] if s in redacted]
            assert not leaked, (as_vendor, leaked)
            assert redacted.count("\n") == form.count("\n")
            assert redact(redacted, as_vendor) == redacted
            lines = form.split("\n")
            assert redact_lines(lines, as_vendor, _prefilter=False) == redacted.split("\n")


@pytest.mark.parametrize("sample", sorted(SECRETS))
def test_redacting_some_lines_agrees_with_redacting_all(sample: str) -> None:
    text, _ = decode((DATA / sample).read_bytes())
    vendor = detect(text)
    lines = text.split("\n")
    full = redact_lines(lines, vendor)
    for step in (1, 3, 7):
        for offset in range(step):
            chosen = range(offset, len(lines), step)
            assert redact_some(lines, vendor, chosen) == {k: full[k] for k in chosen}


@pytest.mark.parametrize("sample", sorted(SECRETS))
def test_a_text_redacts_each_line_once_and_agrees_with_redacting_all(sample: str) -> None:
    text, _ = decode((DATA / sample).read_bytes())
    lines = text.split("\n")
    full = redact_lines(lines, detect(text))
    kept = Text(text, lines)
    for step in (7, 3, 1):  # later steps ask again for lines an earlier one redacted
        chosen = range(step // 2, len(lines), step)
        shown = kept.redacted(chosen)
        assert [shown[k] for k in chosen] == [full[k] for k in chosen]


# Text made of the words secret rules react to, so that the rules actually meet.
VOCABULARY = [
    "password",
    "secret",
    "key",
    "key-string",
    "authentication-key",
    "md5",
    "sha",
    "auth",
    "priv",
    "aes",
    "128",
    "7",
    "0",
    "5",
    "9",
    "sha512",
    "encrypted",
    "level",
    "15",
    "community",
    "snmp-server",
    "host",
    "version",
    "2c",
    "pre-shared-key",
    "local",
    "remote",
    "address",
    "login",
    "user",
    "administrator",
    "pp",
    "myname",
    "username",
    "ipsec",
    "ike",
    "text",
    "hex",
    "radius",
    "l2tp",
    "tunnel",
    "on",
    "sshd",
    "generate",
    "set",
    "snmp",
    "name=x",
    "password=p",
    "secret=s",
    "key=k",
    "\\",
    '"a b"',
    '"',
    "{",
    "}",
    ";",
    "[",
    "]",
    "$9$abc",
    "$1$s$h",
    "<redacted>",
    "-----BEGIN RSA PRIVATE KEY-----",
    "-----END RSA PRIVATE KEY-----",
    "/snmp community",
    "/ip address",
    "key chain",
    "standby",
    "1",
    "authentication",
    "text",
    "wpa-psk",
    "ascii",
    "nhrp",
    "token",
    "psk",
    "passphrase",
    "value",
    "<value>",
    "</value>",
    '<entry name="Authorization">',
    "Authorization {",
    "headers",
    "<password>",
    "</password>",
    "<![CDATA[",
    "cfgattr=password",
    'cfgattr="secret"',
    "cfgold=o",
    "cfgnew=n",
    "type",
    "ntp",
    "server",
    "tunnel",
    "crypto",
    "=",
    ":",
    " ",
    "  ",
    "\t",
    "ü",
    "密码",
]
config_lines = st.lists(st.sampled_from(VOCABULARY), max_size=8).map(" ".join)
config_texts = st.lists(
    st.one_of(config_lines, config_lines.map(lambda s: " " + s)), max_size=12
).map("\n".join)


@settings(max_examples=300, deadline=None)
@given(text=config_texts, vendor=st.sampled_from(VENDORS))
def test_redaction_is_idempotent_keeps_lines_and_prefilter_changes_nothing(
    text: str, vendor: Vendor
) -> None:
    redacted = redact(text, vendor)
    assert redact(redacted, vendor) == redacted
    assert redacted.count("\n") == text.count("\n")
    assert redact_lines(text.split("\n"), vendor, _prefilter=False) == redacted.split("\n")


@settings(max_examples=300, deadline=None)
@given(text=st.text(), vendor=st.sampled_from(VENDORS))
def test_redaction_never_raises_on_any_text(text: str, vendor: Vendor) -> None:
    redacted = redact(text, vendor)
    assert redact(redacted, vendor) == redacted
    assert len(redact_lines(text.split("\n"), vendor)) == len(text.split("\n"))


# Every corpus line with its secret as a slot, and the secrets that only a section reveals.
SLOTTED: list[tuple[Vendor, str]] = [
    *(
        (vendor, line.replace("{", "{{").replace("}", "}}").replace(secret, "{s}"))
        for vendor, line, secret, _ in CORPUS
        if line.count(secret) == 1
    ),
    ("routeros", "/snmp community\nadd addresses=10.0.0.0/24 name={s}"),
    ("fortios", "config system snmp community\n    edit 1\n        set name {s}\n    next\nend"),
    ("junos", "snmp {{\n    community {s} {{\n        authorization read-only;\n    }}\n}}"),
]


@settings(max_examples=500, deadline=None)
@given(entry=st.sampled_from(SLOTTED), secret=syntax_secrets())
def test_no_family_keeps_a_secret_spelled_like_syntax(
    entry: tuple[Vendor, str], secret: str
) -> None:
    """Markers, command words, English and next-clause words, in any case, as the secret of
    each family's lines, redacted as that family and as an unknown one."""
    vendor, template = entry
    values = {"s": secret}
    for as_vendor in (vendor, "unknown"):
        redacted = redact(template.format(**values), as_vendor)
        assert kept(template, values, redacted) == [], redacted
        assert redact(redacted, as_vendor) == redacted
