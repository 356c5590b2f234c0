"""``edge-bridge simulate-router``: behave like a router pointed at the suite, and count.

It sends syslog at a steady rate with bursts (a link flap is a storm of lines), asks for the
time now and then and checks the answer, and uploads its configuration, changing it every few
uploads so that diffs and drift appear. It works against ``edge-bridge all``, the compose
simulation or a real NLB, and tells what worked: the counts in its last line
(``simulate.summary``) are the router's side of the story, to compare with the daemons' side.

It speaks only the wire protocols, so it imports no daemon package.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncio_dgram
import ntplib

from bridge.logging import get_logger
from bridge.settings import (
    HostPort,
    address,
    choice,
    count,
    credentials,
    load_settings,
    option,
    per_second,
    positive_float,
    seconds,
    seconds_or_off,
)

PROG = "edge-bridge simulate-router"

# NTP header values a client must refuse (RFC 5905): leap 3 = server clock not synchronised.
_LEAP_UNSYNCHRONISED = 3
_MODE_SERVER = 4


def _router_name(text: str) -> str:
    if not text or len(text) > 63 or not all(c.isalnum() or c in "-_." for c in text):
        raise ValueError("router names are 1-63 letters, digits, '.', '_' and '-'")
    return text


def _url(text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL")
    return text


@dataclass(frozen=True)
class SimulatorSettings:
    """Act as a router pointed at edge-bridge: syslog, NTP queries and config uploads."""

    syslog: HostPort = address(HostPort("127.0.0.1", 5514), "syslog receiver address")
    transport: str = option(
        "udp", parse=choice("udp", "tcp"), help="syslog transport (tcp frames by octet count)"
    )
    ntp: HostPort = address(HostPort("127.0.0.1", 10123), "NTP server")
    config_url: str = option(
        "http://127.0.0.1:8080/upload/{name}-config",
        parse=_url,
        help="where the config is uploaded; {name} becomes the router name",
    )
    upload_method: str = option(
        "PUT", parse=choice("PUT", "POST"), help="HTTP method of the upload (IOS archive: PUT)"
    )
    config_credentials: str = option(
        "",
        metavar="FILE",
        help="a user:password file (as 'edge-bridge credentials generate' writes) to upload "
        "with HTTP Basic auth",
    )
    upload_auth: str = option(
        "",
        parse=credentials,
        secret=True,
        metavar="USER:PASSWORD",
        help="HTTP Basic credentials of the uploads (prefer the variable to the flag; "
        "--config-credentials reads them from a file instead)",
    )
    name: str = option("rtr-sim-1", parse=_router_name, help="router hostname")
    rate: float = per_second(20.0, "syslog messages/s (0: none)")
    burst_every: float = seconds_or_off(30.0, "seconds between syslog bursts (0: none)")
    burst_size: int = count(200, "messages in one burst")
    ntp_every: float = seconds_or_off(5.0, "seconds between NTP queries (0: none)")
    max_offset: float = option(
        1.0, parse=positive_float, help="an NTP answer further off than this counts as failed"
    )
    upload_every: float = seconds_or_off(60.0, "seconds between config uploads (0: none)")
    change_every: int = count(3, "the config changes every N uploads")
    duration: float = seconds_or_off(60.0, "seconds to run (0: forever)")
    timeout: float = seconds(5.0, "seconds to wait for an answer")
    seed: int = option(0, parse=int, help="seed of the message generator (same seed, same lines)")


@dataclass
class Tally:
    """The router's own counts, reported at the end and in progress lines."""

    syslog_sent: int = 0
    syslog_errors: int = 0
    bursts: int = 0
    ntp_ok: int = 0
    ntp_failed: int = 0
    uploads_ok: int = 0
    uploads_failed: int = 0

    def worked(self, settings: SimulatorSettings) -> bool:
        """True if at least one enabled channel got something through.

        Syslog over UDP is never acknowledged; a refusal (ICMP port unreachable) is the only
        word back, and it comes for an earlier datagram than the one whose send reports it.
        So syslog counts as working only if something was sent and nothing was refused.
        """
        syslog = settings.rate > 0 or settings.burst_every > 0
        return (
            (syslog and self.syslog_sent > 0 and self.syslog_errors == 0)
            or self.ntp_ok > 0
            or self.uploads_ok > 0
        )


# -- what a router says: syslog lines ------------------------------------------------------

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


# -- what a router keeps: its configuration ------------------------------------------------


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


# -- the three channels --------------------------------------------------------------------


class Router:
    """Runs the channels until the duration is up or a stop signal arrives."""

    def __init__(self, settings: SimulatorSettings) -> None:
        self.settings = settings
        self.tally = Tally()
        self.messages = Messages(settings.name, settings.seed)
        self.log = get_logger(router=settings.name)
        self.stop = asyncio.Event()
        # a connected UDP socket: an ICMP port-unreachable comes back on the next send
        self._udp: asyncio_dgram.DatagramClient | None = None
        self._tcp: asyncio.StreamWriter | None = None
        self._last_error: str | None = None

    # syslog ---------------------------------------------------------------------------

    async def _connect(self) -> None:
        target = self.settings.syslog
        if self.settings.transport == "udp":
            self._udp = await asyncio_dgram.connect((target.host, target.port))
        else:
            _, self._tcp = await asyncio.wait_for(
                asyncio.open_connection(target.host, target.port), self.settings.timeout
            )

    def _error(self, what: str, exc: BaseException) -> None:
        """Log a failure once per kind, not per message: a dead target must not flood stdout."""
        text = f"{what}: {exc!r}"
        if text != self._last_error:
            self.log.warning("simulate.syslog_error", error=text)
            self._last_error = text

    async def send(self, lines: list[bytes]) -> None:
        """Send lines; what a missing or broken connection kept from going out is an error."""
        sent = 0
        try:
            if self._udp is None and self._tcp is None:
                await self._connect()
            if self._udp is not None:
                for line in lines:
                    await self._send_datagram(self._udp, line)
                    sent += 1
            elif self._tcp is not None:
                # RFC 6587 octet counting: a frame survives any byte in the message
                self._tcp.write(b"".join(b"%d %s" % (len(line), line) for line in lines))
                await self._tcp.drain()
                sent = len(lines)
        except (OSError, TimeoutError, asyncio_dgram.TransportClosed) as exc:
            self.tally.syslog_errors += len(lines) - sent
            self._error("send", exc)
            await self._close_syslog()
        self.tally.syslog_sent += sent

    async def _send_datagram(self, udp: asyncio_dgram.DatagramClient, line: bytes) -> None:
        """A refusal (ICMP port unreachable) of an earlier datagram surfaces on a later send:
        count it against that one, and still send this one."""
        while True:
            try:
                await udp.send(line)
                return
            except ConnectionRefusedError as exc:
                self.tally.syslog_errors += 1
                self._error("receiver", exc)

    async def _close_syslog(self) -> None:
        if self._udp is not None:
            # a refusal of the last datagrams arrives a moment later: count it before closing
            await asyncio.sleep(0.05)
            while True:
                try:
                    self._udp.exception  # noqa: B018 - reading it raises the next queued error
                    break
                except ConnectionRefusedError as exc:
                    self.tally.syslog_errors += 1
                    self._error("receiver", exc)
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            with contextlib.suppress(OSError):
                await self._tcp.wait_closed()
            self._tcp = None

    async def syslog_loop(self) -> None:
        """Steady rate with bursts; sends what is due every tick, so the rate holds on average."""
        s = self.settings
        start = time.monotonic()
        steady_due = 0
        next_burst = start + s.burst_every if s.burst_every > 0 else float("inf")
        while not self.stop.is_set():
            mono = time.monotonic()
            now = time.time()
            batch: list[bytes] = []
            target = int((mono - start) * s.rate)
            while steady_due < target and len(batch) < 10_000:
                batch.append(self.messages.steady(now))
                steady_due += 1
            steady_due = max(steady_due, target)  # far behind (a stall): skip, do not flood
            if mono >= next_burst:
                batch += self.messages.burst(now, s.burst_size)
                self.tally.bursts += 1
                next_burst += s.burst_every
                self.log.info("simulate.burst", size=s.burst_size)
            if batch:
                await self.send(batch)
            await self._sleep(0.02)
        await self._close_syslog()

    # NTP ------------------------------------------------------------------------------

    def _ntp_query(self) -> dict[str, Any]:
        """One query with ntplib (an independent client), checked as a router would."""
        target = self.settings.ntp
        before = time.time()
        stats = ntplib.NTPClient().request(
            target.host, version=4, port=target.port, timeout=self.settings.timeout
        )
        after = time.time()
        result = {
            "stratum": stats.stratum,
            "leap": stats.leap,
            "offset": round(stats.offset, 6),
            "delay": round(stats.delay, 6),
        }
        problems = []
        if stats.mode != _MODE_SERVER:
            problems.append(f"mode {stats.mode}")
        if stats.leap == _LEAP_UNSYNCHRONISED:
            problems.append("server unsynchronised (leap 3)")
        if not 1 <= stats.stratum <= 15:
            problems.append(f"stratum {stats.stratum}")
        if not before - 0.001 <= stats.orig_time <= after + 0.001:
            problems.append("origin timestamp does not echo the request")
        if abs(stats.offset) > self.settings.max_offset:
            problems.append(f"offset {stats.offset:.3f}s")
        if problems:
            result["problem"] = "; ".join(problems)
        return result

    async def ntp_loop(self) -> None:
        while not self.stop.is_set():
            try:
                result = await asyncio.to_thread(self._ntp_query)
            except (OSError, ntplib.NTPException) as exc:
                result = {"problem": str(exc) or repr(exc)}
            ok = "problem" not in result
            if ok:
                self.tally.ntp_ok += 1
            else:
                self.tally.ntp_failed += 1
            (self.log.info if ok else self.log.warning)("simulate.ntp", ok=ok, **result)
            await self._sleep(self.settings.ntp_every)

    # config uploads -------------------------------------------------------------------

    async def upload_loop(self) -> None:
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

    # running --------------------------------------------------------------------------

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)

    async def _progress(self) -> None:
        while not self.stop.is_set():
            await self._sleep(10.0)
            if self.stop.is_set():
                return
            self.log.info("simulate.progress", **dataclasses.asdict(self.tally))

    async def run(self) -> Tally:
        s = self.settings
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop.set)
        jobs: list[Callable[[], Any]] = [self._progress]
        if s.rate > 0 or s.burst_every > 0:
            jobs.append(self.syslog_loop)
        if s.ntp_every > 0:
            jobs.append(self.ntp_loop)
        if s.upload_every > 0:
            jobs.append(self.upload_loop)
        self.log.info(
            "simulate.started",
            syslog=f"{s.transport}://{s.syslog}",
            ntp=str(s.ntp),
            config_url=s.config_url.replace("{name}", s.name),
            rate=s.rate,
            duration=s.duration,
        )
        tasks = [asyncio.create_task(job()) for job in jobs]
        if s.duration > 0:
            await self._sleep(s.duration)
            self.stop.set()
        # every loop notices the stop within a tick or one timeout
        await asyncio.wait(tasks, timeout=s.timeout + 2.0)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return self.tally


def main(argv: list[str]) -> int:
    settings = load_settings(SimulatorSettings, argv, prog=PROG)
    started = time.monotonic()
    tally = asyncio.run(Router(settings).run())
    worked = tally.worked(settings)
    get_logger(router=settings.name).info(
        "simulate.summary",
        **dataclasses.asdict(tally),
        seconds=round(time.monotonic() - started, 3),
        worked=worked,
    )
    return 0 if worked else 1


def _basic_auth(credentials: str, path: str) -> aiohttp.BasicAuth | None:
    """The uploads' ``user:password``: given directly, else read from a credentials file."""
    if not credentials and path:
        credentials = Path(path).read_text(encoding="utf-8").strip()
    if not credentials:
        return None
    user, _, password = credentials.partition(":")
    return aiohttp.BasicAuth(user, password)
