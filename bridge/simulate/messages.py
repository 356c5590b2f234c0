"""What a router says: Cisco IOS and Junos syslog lines, steady chatter and link-flap storms."""

from __future__ import annotations

import random
import time

_FACILITY_LOCAL7 = 23
_INTERFACES = ("GigabitEthernet0/0/0", "GigabitEthernet0/0/1", "TenGigabitEthernet0/1/0")
_PEERS = ("169.254.10.1", "169.254.20.1")  # Direct Connect BGP peers (link-local /30s)
_USERS = ("netops", "alice", "bob")


def _cisco_stamp(now: float) -> str:
    """IOS ``service timestamps log datetime msec show-timezone``: ``Nov  3 16:35:23.123 UTC``."""
    tm = time.gmtime(now)
    return f"{time.strftime('%b', tm)} {tm.tm_mday:2d} {time.strftime('%H:%M:%S', tm)}" + (
        f".{int(now % 1 * 1000):03d} UTC"
    )


def _iso(now: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


def cisco_line(name: str, seq: int, now: float, severity: int, mnemonic: str, text: str) -> bytes:
    """One IOS message as sent by ``logging host`` with sequence numbers and origin-id."""
    pri = _FACILITY_LOCAL7 * 8 + severity
    return f"<{pri}>{seq:06d}: {name}: {_cisco_stamp(now)}: %{mnemonic}: {text}".encode()


def rfc5424_line(
    name: str, now: float, severity: int, app: str, procid: int, msgid: str, sd: str, text: str
) -> bytes:
    """One RFC 5424 message as Junos sends it with ``structured-data``."""
    pri = _FACILITY_LOCAL7 * 8 + severity
    return f"<{pri}>1 {_iso(now)} {name} {app} {procid} {msgid} {sd} {text}".encode()


class Messages:
    """Realistic router chatter; deterministic for a given seed so runs can be compared."""

    def __init__(self, name: str, seed: int) -> None:
        self.name = name
        self.rng = random.Random(seed)
        self.seq = 0

    def _cisco(self, now: float, severity: int, mnemonic: str, text: str) -> bytes:
        self.seq += 1
        return cisco_line(self.name, self.seq, now, severity, mnemonic, text)

    def steady(self, now: float) -> bytes:
        """Everyday traffic: logins, ACL hits, config changes, BGP, Junos-style commits."""
        rng = self.rng
        user = rng.choice(_USERS)
        src = f"10.20.30.{rng.randint(2, 250)}"
        pick = rng.randrange(6)
        if pick == 0:
            return self._cisco(
                now,
                6,
                "SEC-6-IPACCESSLOGP",
                f"list EDGE-IN denied tcp 203.0.113.{rng.randint(1, 254)}"
                f"({rng.randint(1024, 65535)}) -> 10.0.0.1(22), 1 packet",
            )
        if pick == 1:
            stamp = time.strftime("%H:%M:%S UTC %a %b %d %Y", time.gmtime(now))
            return self._cisco(
                now,
                5,
                "SEC_LOGIN-5-LOGIN_SUCCESS",
                f"Login Success [user: {user}] [Source: {src}] [localport: 22] at {stamp}",
            )
        if pick == 2:
            return self._cisco(
                now, 5, "SYS-5-CONFIG_I", f"Configured from console by {user} on vty0 ({src})"
            )
        if pick == 3:
            peer = rng.choice(_PEERS)
            return self._cisco(now, 5, "BGP-5-ADJCHANGE", f"neighbor {peer} Up")
        if pick == 4:
            return rfc5424_line(
                self.name,
                now,
                5,
                "mgd",
                rng.randint(2000, 9000),
                "UI_COMMIT",
                f'[junos@2636.1.1.1.2.57 username="{user}" comment="change {self.seq}"]',
                f"User '{user}' requested 'commit' operation (comment: change {self.seq})",
            )
        return rfc5424_line(
            self.name,
            now,
            6,
            "sshd",
            rng.randint(2000, 9000),
            "SSHD_LOGIN_ACCEPTED",
            f'[junos@2636.1.1.1.2.57 username="{user}" source-address="{src}"]',
            f"Accepted publickey for {user} from {src} port {rng.randint(1024, 65535)} ssh2",
        )

    def burst(self, now: float, size: int) -> list[bytes]:
        """A flapping uplink: interface and BGP state changes, as fast as the router can."""
        lines: list[bytes] = []
        interface = self.rng.choice(_INTERFACES)
        peer = self.rng.choice(_PEERS)
        while len(lines) < size:
            state = "down" if len(lines) % 4 < 2 else "up"
            lines.append(
                self._cisco(
                    now, 3, "LINK-3-UPDOWN", f"Interface {interface}, changed state to {state}"
                )
            )
            lines.append(
                self._cisco(
                    now,
                    5,
                    "LINEPROTO-5-UPDOWN",
                    f"Line protocol on Interface {interface}, changed state to {state}",
                )
            )
            if state == "down":
                lines.append(
                    self._cisco(
                        now,
                        3,
                        "BGP-3-NOTIFICATION",
                        f"sent to neighbor {peer} 4/0 (hold time expired) 0 bytes",
                    )
                )
        return lines[:size]
