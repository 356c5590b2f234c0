"""What a router keeps and uploads: its IOS running-config, changed every few uploads so diffs,
drift and redaction have work, sent over HTTP as ``archive`` does."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import aiohttp

from bridge.simulate.channel import Channel


def router_config(name: str, revision: int, now: float, syslog: str, ntp: str) -> str:
    """An IOS running-config; ``revision`` is the operator's change count (0 = as desired).

    It carries secrets (hashes, an SNMP community, TACACS and NTP keys) as real configs do, so
    the uploader's redaction is exercised; they are derived from the name, never real. Revision
    0 meets every feature of ``deploy/compliance/pci.yaml``; the SNMP community, rotated every
    other revision, is the one feature that then drifts.
    """
    token = random.Random(name).getrandbits(64)
    stamp = time.strftime("%H:%M:%S UTC %a %b %d %Y", time.gmtime(now))
    lines = [
        "!",
        f"! Last configuration change at {stamp} by netops",
        "!",
        "version 17.9",
        "service timestamps debug datetime msec",
        "service timestamps log datetime msec show-timezone",
        "service password-encryption",
        "service sequence-numbers",
        "!",
        f"hostname {name}",
        "!",
        "logging buffered 64000",
        f"enable secret 9 $9$sim{token:016x}$kTq2c1Xb8mIYdQ0FqEwz5VnLr3uPh7Aa",
        "!",
        "aaa new-model",
        "aaa authentication login default group tacacs+ local",
        "!",
        "clock timezone UTC 0 0",
        "ip domain name dc.example.net",
        "!",
        f"username netops privilege 15 secret 9 $9$usr{token:016x}$Zp0QmX2aL9cVb1Ny",
        "!",
        "interface GigabitEthernet0/0/0",
        f" description dx-uplink-a (revision {revision // 2})",
        " ip address 169.254.10.2 255.255.255.252",
        " no shutdown",
        "!",
        "interface GigabitEthernet0/0/1",
        " description dc-core",
        " ip address 10.0.0.1 255.255.255.0",
        " ip access-group EDGE-IN in",
        " no shutdown",
        "!",
        "router bgp 65010",
        " neighbor 169.254.10.1 remote-as 64512",
        f" neighbor 169.254.10.1 password 7 0822455D0A16{token % 10**6:06d}",
        "!",
        "ip access-list extended EDGE-IN",
        " permit tcp 10.20.30.0 0.0.0.255 any eq 22",
    ]
    # each revision adds one rule, as change tickets do
    lines += [f" permit tcp host 10.40.0.{10 + r} any eq 443" for r in range(revision)]
    lines += [
        " deny   ip any any log",
        "!",
        # the community is rotated every other revision, so secrets appear in diffs too
        f"snmp-server community sim{(token + revision // 2) % 10**8:08d} RO",
        f"snmp-server location dc-{'b' if revision % 2 else 'a'}",
        "tacacs server TAC1",
        " address ipv4 10.0.5.10",
        f" key 7 045802150C2E{token % 10**8:08d}",
        "!",
        f"logging host {syslog.rsplit(':', 1)[0]} transport udp port 514",
        f"ntp authentication-key 1 md5 0{token % 10**9:09d}4A 7",
        "ntp authenticate",
        "ntp trusted-key 1",
        f"ntp server {ntp.rsplit(':', 1)[0]} key 1",
        "ip ssh version 2",
        "!",
        "banner motd ^C",
        "Authorized access only. All sessions are logged.",
        "^C",
        "!",
        "line con 0",
        " exec-timeout 15 0",
        "line vty 0 4",
        " exec-timeout 15 0",
        " transport input ssh",
        "!",
        "archive",
        f" path http://edge-bridge/upload/{name}-config",
        " write-memory",
        " time-period 1440",
        "!",
        "end",
        "",
    ]
    body = "\n".join(lines)
    # as `show running-config` prints it, byte count included
    return f"Building configuration...\n\nCurrent configuration : {len(body)} bytes\n{body}"


class UploadChannel(Channel):
    """Uploads the config every ``--upload-every`` and counts the answers."""

    async def loop(self) -> None:
        s = self.settings
        url = s.config_url.replace("{name}", s.name)
        timeout = aiohttp.ClientTimeout(total=s.timeout)
        auth = _basic_auth(s.upload_auth, s.config_credentials)
        count = 0
        async with aiohttp.ClientSession(timeout=timeout, auth=auth) as session:
            while not self.stop.is_set():
                revision = count // s.change_every
                body = router_config(s.name, revision, time.time(), str(s.syslog), str(s.ntp))
                fields: dict[str, Any] = {"revision": revision, "bytes": len(body)}
                try:
                    async with session.request(
                        s.upload_method,
                        url,
                        data=body.encode(),
                        headers={"Content-Type": "text/plain; charset=utf-8"},
                    ) as response:
                        await response.read()
                        fields["status"] = response.status
                        ok = 200 <= response.status < 300
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    fields["error"] = str(exc) or repr(exc)
                    ok = False
                count += 1
                if ok:
                    self.tally.uploads_ok += 1
                else:
                    self.tally.uploads_failed += 1
                (self.log.info if ok else self.log.warning)("simulate.upload", ok=ok, **fields)
                await self._sleep(s.upload_every)


def _basic_auth(credentials: str, path: str) -> aiohttp.BasicAuth | None:
    """The uploads' ``user:password``: given directly, else read from a credentials file."""
    if not credentials and path:
        credentials = Path(path).read_text(encoding="utf-8").strip()
    if not credentials:
        return None
    user, _, password = credentials.partition(":")
    return aiohttp.BasicAuth(user, password)
