# nov/30/2026 16:35:23 by RouterOS 7.16.1
# software id = 7KQ9-XM2P
#
# model = CCR2004-1G-12S+2XS
# serial number = HD8123ABCDE
/interface bridge
add name=bridge-lan
/interface ethernet
set [ find default-name=sfp-sfpplus1 ] comment="Uplink ISP-A"
set [ find default-name=sfp-sfpplus2 ] comment="Core LAN"
/interface wireguard
add listen-port=13231 mtu=1420 name=wg-aws private-key=\
    "kOd3FVWmWqGmR2C7Tq3t0PZmZxvEz4YCc1NVnN2dMk0="
/interface wireguard peers
add allowed-address=10.99.0.0/24 endpoint-address=52.95.2.2 endpoint-port=\
    13231 interface=wg-aws preshared-key="Wg+PresharedKeyCcr1AAAAAAAAAAAAAAAAAAAAAAAA=" \
    public-key="pE8vYk2mJ3qL0sXbR7tN1cW9uZ5hD4fG6aK2oP3iQ8E="
/interface l2tp-client
add connect-to=vpn.example.net ipsec-secret=L2tpIpsecSecretCcr1 name=l2tp-out1 \
    password=L2tpPasswordCcr1 use-ipsec=yes user=ccr1
/interface wireless security-profiles
set [ find default=yes ] supplicant-identity=MikroTik
add authentication-types=wpa2-psk mode=dynamic-keys name=office \
    supplicant-identity="" wpa2-pre-shared-key="WifiPskCcr1 with spaces"
/ip ipsec peer
add address=198.51.100.90/32 name=peer-dc2
/ip ipsec identity
add peer=peer-dc2 secret=IpsecIdentitySecretCcr1
/ip address
add address=203.0.113.14/30 interface=sfp-sfpplus1 network=203.0.113.12
add address=10.30.0.1/24 interface=bridge-lan network=10.30.0.0
/ip dns
set servers=10.255.0.53
/ip firewall filter
add action=accept chain=input connection-state=established,related
add action=accept chain=input protocol=icmp
add action=accept chain=input dst-port=22 protocol=tcp src-address=10.255.0.0/24
add action=drop chain=input in-interface=sfp-sfpplus1
/ppp secret
add name=remote1 password=PppSecretPwCcr1 profile=default-encryption service=l2tp
/radius
add address=10.255.0.41 secret=RadiusSecretCcr1 service=login
/routing bgp connection
add as=65030 local.role=ebgp name=to-aws remote.address=169.254.20.1/32 \
    .as=64512 tcp-md5-key=BgpMd5KeyCcr1
/routing ospf interface-template
add area=backbone auth=md5 auth-id=1 auth-key=OspfAuthKeyCcr1 interfaces=bridge-lan
/snmp community
set [ find default=yes ] disabled=yes
add addresses=10.255.0.0/24 name=SnmpCommCcr1x
/snmp
set enabled=yes trap-community=SnmpTrapCommCcr1 trap-target=10.255.0.20
/system clock
set time-zone-name=UTC
/system identity
set name=dc1-ccr1
/system logging action
add name=remote remote=10.255.0.10 target=remote
/system ntp client
set enabled=yes
/system ntp client servers
add address=10.255.0.123
/tool e-mail
set address=10.255.0.25 from=ccr1@example.net password=SmtpPasswordCcr1 user=ccr1
/user
add group=full name=netops password=UserPasswordCcr1
/system scheduler
add interval=1d name=upload-config on-event="/export file=ccr1; /tool fetch upload=yes mode=http url=\"http://10.255.0.80/upload/dc1-ccr1.rsc\" src-path=ccr1.rsc user=uploader password=FetchPasswordCcr1" start-time=03:00:00
