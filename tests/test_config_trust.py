"""``edge-bridge config`` against clients that lie or push: identities bound to addresses and
credentials, roles, secure-by-default warnings, stale routers, and every cap's counted outcome.

Real processes on loopback; clients bind 127.0.0.2-127.0.0.9 to be other routers. No test
measures time: the timeouts are set to a second and the tests wait for their outcome.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
from argon2 import PasswordHasher

from config_uploader.credentials import hash_password
from tests.config_daemons import DATA, ConfigDaemons, basic, put, url
from tests.procs import ROOT, Daemon

CISCO = (DATA / "cisco-ios" / "rtr1-confg").read_bytes()


def session_from(address: str = "127.0.0.1") -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0)))


async def counters(daemon: Daemon) -> dict[str, Any]:
    """The /healthz body (retried while a connection cap under test turns the probe away)."""
    for _ in range(50):
        try:
            async with aiohttp.ClientSession() as s, s.get(url(daemon, "/healthz")) as r:
                body: dict[str, Any] = await r.json()
                return body
        except aiohttp.ClientError:
            await asyncio.sleep(0.2)
    raise AssertionError("/healthz never answered")


# -- identity ----------------------------------------------------------------------------------


async def test_an_address_uploads_only_as_its_router(start_config: ConfigDaemons) -> None:
    daemon = start_config("--router", "127.0.0.2=edge-a", "--router", "127.0.0.3=edge-b")
    async with session_from("127.0.0.2") as a, session_from("127.0.0.9") as stranger:
        # Filed under its router whatever the file is called, if the name is no other router's.
        status, body = await put(a, url(daemon, "/upload/config"), CISCO)
        assert (status, body["router"]) == (200, "edge-a")
        # Claiming the other router: by file name, by query, by hostname.
        for path in ("/upload/edge-b-config", "/upload/config?router=edge-b"):
            assert (await put(a, url(daemon, path), CISCO))[0] == 403, path
        edge_b = CISCO.replace(b"hostname dc1-rtr1", b"hostname edge-b")
        assert (await put(a, url(daemon, "/upload/config"), edge_b))[0] == 403
        # An address of no router may not take a bound name, but any other.
        assert (await put(stranger, url(daemon, "/upload/edge-a-config"), CISCO))[0] == 403
        status, body = await put(stranger, url(daemon, "/upload/config"), CISCO)
        assert (status, body["router"]) == (200, "dc1-rtr1")
    health = await counters(daemon)
    assert health["counters"]["rejected_identity"] == 4
    daemon.stop()
    received = daemon.events("config.received")
    assert [(e["router"], e["identified_by"]) for e in received] == [
        ("edge-a", "address"),
        ("dc1-rtr1", "config"),
    ]
    assert received[0]["claimed"] == "dc1-rtr1"  # the hostname it carried, kept for the record
    [line] = daemon.events("config.rejected")
    assert line["reason"] == "identity" and line["source_ip"] == "127.0.0.2"


def inventory(tmp_path: Path, routers: dict[str, tuple[list[str], str | None]]) -> str:
    text = ""
    for name, (addresses, password) in routers.items():
        text += f'[[router]]\nname = "{name}"\naddresses = {addresses!r}\n'.replace("'", '"')
        if password is not None:
            text += f'credential = "{hash_password(password)}"\n'
    path = tmp_path / "inventory.toml"
    path.write_text(text)
    return str(path)


async def test_router_collector_and_reader_credentials(
    start_config: ConfigDaemons, tmp_path: Path
) -> None:
    readers = tmp_path / "readers"
    readers.write_text(f"# auditors\nauditor:{hash_password('Aud1t-pw')}\n")
    daemon = start_config(
        "--inventory",
        inventory(
            tmp_path, {"rtr-a": (["127.0.0.4"], "A-pw"), "rtr-b": ([], "B-pw"), "rtr-c": ([], None)}
        ),
        "--reader-auth-file",
        str(readers),
        "--allow-unredacted",
        env={"EDGE_BRIDGE_BASIC_AUTH": "oxidized:0x-pw"},
    )
    a, b, collector, auditor = (
        basic("rtr-a", "A-pw"),
        basic("rtr-b", "B-pw"),
        basic("oxidized", "0x-pw"),
        basic("auditor", "Aud1t-pw"),
    )
    target = url(daemon, "/upload/config")
    async with session_from("127.0.0.5") as s, session_from("127.0.0.4") as at_a:
        assert (await put(s, target, CISCO))[0] == 401
        assert (await put(s, target, CISCO, headers=basic("rtr-b", "wrong")))[0] == 401
        status, body = await put(s, target, CISCO, headers=b)  # its own credential names it
        assert (status, body["router"]) == (200, "rtr-b")
        assert (await put(s, url(daemon, "/upload/rtr-c-config"), CISCO, headers=b))[0] == 403
        assert (await put(at_a, target, CISCO, headers=b))[0] == 403  # from rtr-a's address
        assert (await put(at_a, target, CISCO, headers=a))[0] == 200
        status, body = await put(s, url(daemon, "/upload/rtr-c-config"), CISCO, headers=collector)
        assert (status, body["router"]) == (200, "rtr-c")
        assert (await put(s, target, CISCO, headers=auditor))[0] == 403  # readers do not upload
        for headers, expected in ((b, 403), (collector, 403), ({}, 401), (auditor, 200)):
            async with s.get(url(daemon, "/routers"), headers=headers) as r:
                assert r.status == expected, headers
        latest = url(daemon, "/routers/rtr-b/versions/latest")
        async with s.get(latest + "?redacted=0", headers=b) as r:
            assert r.status == 403
        async with s.get(latest + "?redacted=0", headers=auditor) as r:
            assert (r.status, await r.read()) == (200, CISCO)
        async with s.get(url(daemon, "/healthz")) as r:
            assert r.status == 200  # the NLB health checker has no credentials
    health = await counters(daemon)
    assert health["counters"]["rejected_auth"] == 3
    assert health["counters"]["rejected_identity"] == 2
    assert health["counters"]["rejected_forbidden"] == 4
    assert "warnings" not in health
    daemon.stop()
    assert daemon.events("config.unredacted_read")[0]["user"] == "auditor"


async def test_failed_logins_are_limited_per_address_before_checking(
    start_config: ConfigDaemons,
) -> None:
    daemon = start_config(
        "--auth-failure-burst",
        "3",
        "--auth-failure-rate",
        "0.001",
        env={"EDGE_BRIDGE_READER_AUTH": "auditor:right"},
    )
    async with session_from("127.0.0.6") as s, session_from("127.0.0.7") as other:
        statuses = []
        for _ in range(6):
            async with s.get(url(daemon, "/routers"), headers=basic("auditor", "guess")) as r:
                statuses.append(r.status)
        assert statuses == [401, 401, 401, 429, 429, 429]
        # Even the right password waits now; another address is not held back.
        async with s.get(url(daemon, "/routers"), headers=basic("auditor", "right")) as r:
            assert r.status == 429
        async with other.get(url(daemon, "/routers"), headers=basic("auditor", "right")) as r:
            assert r.status == 200
    health = await counters(daemon)
    assert health["counters"]["rejected_auth"] == 3
    assert health["counters"]["rejected_auth_rate"] == 4
    daemon.stop()
    # One line, then one summary per reason: not a line per refusal.
    assert len(daemon.events("config.rejected")) == 2
    summaries = {e["reason"]: e for e in daemon.events("config.rejected_summary")}
    assert summaries["auth"]["rejected"] == 2 and summaries["auth_rate"]["rejected"] == 3
    assert summaries["auth_rate"]["top_sources"] == {"127.0.0.6": 3}


def test_credentials_tool_hashes_and_generates(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "credentials", "hash"],
        input=b"s3cret\n",
        capture_output=True,
        cwd=ROOT,
        check=True,
    )
    assert PasswordHasher().verify(done.stdout.decode().strip(), "s3cret")
    target = tmp_path / "creds"
    subprocess.run(
        [sys.executable, "-m", "bridge.cli", "credentials", "generate", str(target)],
        cwd=ROOT,
        check=True,
    )
    user, _, password = (target / "uploader.password").read_text().strip().partition(":")
    hashed = (target / "uploaders").read_text().strip().partition(":")[2]
    assert user == "uploader" and PasswordHasher().verify(hashed, password)
    assert (target / "uploader.password").stat().st_mode & 0o077 == 0
    before = (target / "readers").read_text()
    subprocess.run(
        [sys.executable, "-m", "bridge.cli", "credentials", "generate", str(target)],
        cwd=ROOT,
        check=True,
    )
    assert (target / "readers").read_text() == before  # kept: a restart keeps its passwords


def test_bad_inventory_or_hash_file_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[router]]\nname = "a"\naddresses = ["10.0.0.1"]\n'
        '[[router]]\nname = "b"\naddresses = ["10.0.0.1"]\n'
    )
    plain = tmp_path / "plain"
    plain.write_text("router:password\n")
    for args, message in (
        (["--inventory", str(bad)], "10.0.0.1 is given to both a and b"),
        (["--basic-auth-file", str(plain)], "not an argon2 hash"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "bridge.cli", "config", "--store", str(tmp_path), *args],
            capture_output=True,
            cwd=ROOT,
            timeout=30,
        )
        assert done.returncode == 2
        assert message in done.stderr.decode()


async def test_open_uploads_on_a_public_address_are_flagged(start_config: ConfigDaemons) -> None:
    public = start_config(listen="0.0.0.0:0")
    health = await counters(public)
    assert health["warnings"] == [
        "uploads and reads are accepted without authentication on a non-loopback address"
    ]
    assert public.events("config.insecure")
    local = start_config()
    assert "warnings" not in await counters(local)
    assert not local.events("config.insecure")


# -- stale routers -----------------------------------------------------------------------------


async def test_routers_that_stop_uploading_are_reported(
    start_config: ConfigDaemons, tmp_path: Path
) -> None:
    desired = tmp_path / "desired"
    desired.mkdir()
    for name in ("dc1-rtr1.cfg", "silent-one.cfg"):
        (desired / name).write_bytes(CISCO)
    daemon = start_config(
        "--desired",
        str(desired),
        "--inventory",
        inventory(tmp_path, {"inv-only": ([], None)}),
        "--stale-after",
        "2",
        "--metrics-interval",
        "0.5",
    )
    async with aiohttp.ClientSession() as s:
        assert (await put(s, url(daemon, "/upload/config"), CISCO))[0] == 200
    daemon.wait_for(
        lambda line: line.get("event") == "config.stale" and line["router"] == "inv-only"
    )
    line = daemon.wait_for(
        lambda line: line.get("event") == "config.stale" and line["router"] == "dc1-rtr1"
    )
    assert line["last_upload"] is not None and line["stale"] == 1
    assert line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["router"]]
    stale = {e["router"] for e in daemon.events("config.stale")}
    assert stale == {"dc1-rtr1", "silent-one", "inv-only"}
    assert (await counters(daemon))["counters"]["stale_routers"] == 3


# -- caps ----------------------------------------------------------------------------------------


async def test_every_body_cap_has_a_counted_outcome(start_config: ConfigDaemons) -> None:
    daemon = start_config(
        "--max-lines", "100", "--max-line-length", "200", "--max-pending", "16KiB"
    )
    bomb = gzip.compress(b"a\n" * (8 * 1024 * 1024), 9)  # 16 MiB of two-byte lines in 16 KiB
    cases = [
        (b"hostname long\n description " + b"x" * 300 + b"\n", {}, 413),
        (b"hostname many\n" + b"interface x\n" * 100, {}, 413),
        (bomb, {"Content-Encoding": "gzip"}, 413),
        (b"hostname big\n" + b"!\n" * 10_000, {}, 503),  # 20 KiB held > --max-pending
    ]
    async with aiohttp.ClientSession() as s:
        for body, headers, expected in cases:
            status, _ = await put(s, url(daemon, "/upload/r-config"), body, headers=headers)
            assert status == expected, body[:20]
    values = (await counters(daemon))["counters"]
    assert values["rejected_line_too_long"] == 1
    assert values["rejected_too_many_lines"] == 2
    assert values["rejected_busy"] == 1
    assert values["uploads"] == 0
    # Parts one at a time: the first bomb is refused before a second is read or decoded.
    defaults = start_config()
    form = aiohttp.FormData()
    for n in range(16):
        form.add_field("f", bomb, filename=f"bomb{n}-config")
    async with aiohttp.ClientSession() as s, s.post(url(defaults, "/upload/"), data=form) as r:
        assert r.status == 413
    values = (await counters(defaults))["counters"]
    assert values["rejected_too_many_lines"] == 1
    assert values["uploads"] == 0


async def test_slow_heads_and_bodies_are_cut_off(start_config: ConfigDaemons) -> None:
    daemon = start_config("--header-timeout", "1", "--body-timeout", "1")
    host, port = daemon.address("config", "listen")
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"PUT /upload/slow-config HTTP/1.1\r\nHost: x\r\nX-Slow: a")
    answer = await asyncio.wait_for(reader.read(), 20)  # the server ends it
    assert answer.startswith(b"HTTP/1.1 408")
    writer.close()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"PUT /upload/slow-config HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab")
    answer = await asyncio.wait_for(reader.read(200), 20)
    assert answer.startswith(b"HTTP/1.1 408")
    writer.close()
    values = (await counters(daemon))["counters"]
    assert values["rejected_header_timeout"] == 1
    assert values["rejected_timeout"] == 1


def open_from(address: str, host: str, port: int, count: int) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind((address, 0))
        sock.connect((host, port))
        socks.append(sock)
    return socks


def closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(10)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


async def test_connections_capped_per_address(start_config: ConfigDaemons) -> None:
    daemon = start_config("--max-connections-per-address", "3")
    host, port = daemon.address("config", "listen")
    hog = open_from("127.0.0.2", host, port, 4)
    assert closed_by_server(hog[3])
    async with session_from("127.0.0.3") as other:  # another address still gets in
        assert (await put(other, url(daemon, "/upload/other-config"), CISCO))[0] == 200
    assert (await counters(daemon))["counters"]["rejected_connections_per_address"] == 1
    for sock in hog:
        sock.close()


async def test_connections_capped_in_total(start_config: ConfigDaemons) -> None:
    daemon = start_config("--max-connections", "3")
    host, port = daemon.address("config", "listen")
    held = open_from("127.0.0.2", host, port, 2) + open_from("127.0.0.3", host, port, 1)
    [late] = open_from("127.0.0.4", host, port, 1)
    assert closed_by_server(late)
    for sock in held:
        sock.close()
    assert (await counters(daemon))["counters"]["rejected_connections"] >= 1


async def test_reads_are_rate_limited(start_config: ConfigDaemons) -> None:
    daemon = start_config("--read-rate-limit", "0.001", "--read-rate-burst", "2")
    async with aiohttp.ClientSession() as s:
        statuses = []
        for _ in range(4):
            async with s.get(url(daemon, "/routers")) as r:
                statuses.append(r.status)
    assert statuses == [200, 200, 429, 429]
    assert (await counters(daemon))["counters"]["rejected_read_rate"] == 2
