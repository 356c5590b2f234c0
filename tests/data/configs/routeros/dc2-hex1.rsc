# 2026-12-01 09:20:11 by RouterOS 7.16.2
# software id = Q7ZK-4T2M
#
# model = RB750Gr3
# serial number = HEX0123456789
/interface bridge
add name=bridge-lan
/interface wireguard
add listen-port=51820 mtu=1420 name=wg-dc1 private-key="RosWgPrivKeyDc2EEEEEEEEEEEEEEEEEEEEEEEEEE="
/interface wireguard peers
add allowed-address=10.10.0.0/16 endpoint-address=203.0.113.40 endpoint-port=51820 \
    interface=wg-dc1 preshared-key="RosWgPskDc2FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF=" \
    public-key="yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
/interface l2tp-client
add connect-to=vpn.example.net name=l2tp-out password=RosL2tpClientPw use-ipsec=yes \
    ipsec-secret=RosL2tpIpsecSec user=dc2-hex1
/ip address
add address=10.20.7.1/24 interface=bridge-lan network=10.20.7.0
/ip ipsec peer
add address=52.95.0.60/32 exchange-mode=ike2 name=aws
/ip ipsec identity
add peer=aws secret="RosIpsecIdSecret Dc2"
/ip route
add dst-address=0.0.0.0/0 gateway=198.51.100.33
/ppp secret
add name=remote1 password="RosPppPw\"Quoted" service=l2tp
/radius
add address=10.20.0.11 secret=RosRadiusSecDc2 service=login
/routing bgp connection
add local.role=ebgp name=aws remote.address=169.254.50.1/32 .as=64512 tcp-md5-key=RosBgpMd5Dc2
/snmp community
set [ find default=yes ] disabled=yes
add addresses=10.20.0.0/16 name=RosSnmpCommDc2
add addresses=10.20.0.90/32 authentication-password=RosSnmpAuthPw authentication-protocol=SHA1 \
    encryption-password=RosSnmpPrivPw encryption-protocol=AES name=netmon security=private
/snmp
set enabled=yes trap-community=RosTrapCommDc2
/system identity
set name=dc2-hex1
/system script
add name=backup source="/tool fetch url=\"sftp://10.20.0.80/dc2-hex1.rsc\" user=backup password=\"RosScriptFetchPw\" upload=yes src-path=dc2-hex1.rsc"
/tool e-mail
set from=dc2-hex1@example.net port=587 server=10.20.0.25 tls=starttls user=alerts password=RosMailPwDc2
/user
add group=full name=netops password=RosUserPwDc2
