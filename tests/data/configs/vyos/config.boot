interfaces {
    ethernet eth0 {
        address 198.51.100.20/29
        description WAN
        hw-id 52:54:00:12:34:56
    }
    ethernet eth1 {
        address 10.20.4.1/24
        description LAN
        hw-id 52:54:00:12:34:57
    }
    loopback lo {
    }
    wireguard wg0 {
        address 10.255.4.1/30
        peer dc1 {
            address 203.0.113.40
            allowed-ips 10.10.0.0/16
            port 51820
            preshared-key VyosWgPresharedKeyDc2AAAAAAAAAAAAAAAAAAAAA=
            public-key yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
        }
        port 51820
        private-key VyosWgPrivateKeyDc2BBBBBBBBBBBBBBBBBBBBBBBBB=
    }
}
protocols {
    bgp {
        neighbor 169.254.30.1 {
            password VyosBgpPwDc2
            remote-as 64512
        }
        system-as 65023
    }
    static {
        route 0.0.0.0/0 {
            next-hop 198.51.100.17 {
            }
        }
    }
}
service {
    ntp {
        server 10.20.0.123 {
        }
    }
    snmp {
        community VyosRoCommDc2 {
            authorization ro
            network 10.20.0.0/16
        }
        v3 {
            user netmon {
                auth {
                    encrypted-password 0x4f8e2a9c1b7d3e6f5a4b3c2d1e0fVyosAuth
                    type sha
                }
                privacy {
                    encrypted-password 0x9a8b7c6d5e4f3a2b1c0dVyosPriv
                    type aes
                }
            }
        }
    }
    ssh {
        port 22
    }
}
system {
    config-management {
        commit-revisions 100
    }
    host-name dc2-vyos1
    login {
        user vyos {
            authentication {
                encrypted-password $6$VyosSaltDc2$VyosAdminHashDc2AbCdEfGhIjKlMnOpQrStUvWxYz0123456789./AbCdEfGhIjKlMn
                plaintext-password ""
            }
        }
    }
    syslog {
        host 10.20.0.14 {
            facility all {
                level info
            }
        }
    }
}
vpn {
    ipsec {
        authentication {
            psk AWS {
                id 198.51.100.20
                id 52.95.0.40
                secret VyosIpsecPskDc2
            }
        }
    }
}


// Warning: Do not remove the following line.
// vyos-config-version: "bgp@5:interfaces@32:ipsec@13:ntp@3:snmp@3:ssh@2:system@27:wireguard@1"
// Release version: 1.4.0
