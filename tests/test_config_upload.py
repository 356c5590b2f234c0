"""``edge-bridge config`` as a real process, driven over real HTTP by aiohttp's client and curl.

Each upload form routers use, identity resolution, diff and drift events, the read API, and
every refusal (401, 403, 413 including a gzip bomb, 400, 429) with its counter.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bridge.output import MAX_LINE_BYTES
from tests.config_daemons import DATA, ConfigDaemons, put, url
from tests.procs import Daemon, run_command

CISCO = (DATA / "cisco-ios" / "rtr1-confg").read_bytes()
JUNOS = (DATA / "junos" / "mx1_juniper.conf").read_bytes()
YAMAHA = (DATA / "yamaha" / "rtx1210.txt").read_bytes()
ROUTEROS = (DATA / "routeros" / "ccr1.rsc").read_bytes()
EOS = (DATA / "eos" / "leaf1.cfg").read_bytes()


def stopped(daemon: Daemon) -> Daemon:
    """SIGTERM and wait: every line the daemon wrote has then been read (no race with HTTP)."""
    assert daemon.stop() == 0
    return daemon


def curl(*args: str) -> tuple[int, str]:
    """Run curl; returns (HTTP status, body)."""
    done = subprocess.run(
        ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "--max-time", "20", *args],
        capture_output=True,
        check=True,
        timeout=30,
    )
    body, _, status = done.stdout.decode().rpartition("\n")
    return int(status), body


def changed_config(base: bytes, n: int) -> bytes:
    """``base`` with one line added: a real change of configuration."""
    return base.rstrip(b"\n") + f"\ndescription change-{n}\n".encode()


# -- upload forms -----------------------------------------------------------------------------


async def test_raw_put_and_post_version_unchanged_and_read_api(start_config: ConfigDaemons) -> None:
    daemon = start_config()
    async with aiohttp.ClientSession() as session:
        status, body = await put(session, url(daemon, "/upload/dc1-rtr1-config"), CISCO)
        assert status == 200
        assert body == {"router": "dc1-rtr1", "version": "00000001", "changed": True, "drift": None}
        # The same config again, only its timestamp banner differs: unchanged, not stored twice.
        restamped = CISCO.replace(
            b"! Last configuration change at",
            b"! Last configuration change at 01:02:03 UTC Mon Dec 1 2026 ~",
            1,
        )
        assert restamped != CISCO
        async with session.post(url(daemon, "/upload/dc1-rtr1-config"), data=restamped) as r:
            assert r.status == 200
            assert await r.json() == {
                "router": "dc1-rtr1",
                "version": "00000001",
                "changed": False,
                "drift": None,
            }
        status, body = await put(
            session, url(daemon, "/upload/dc1-rtr1-config"), changed_config(CISCO, 1)
        )
        assert (status, body["version"], body["changed"]) == (200, "00000002", True)

        async with session.get(url(daemon, "/routers")) as r:
            routers = (await r.json())["routers"]
        assert [(x["router"], x["versions"], x["last_version"]) for x in routers] == [
            ("dc1-rtr1", 2, "00000002")
        ]
        async with session.get(url(daemon, "/routers/dc1-rtr1/versions")) as r:
            versions = (await r.json())["versions"]
        assert [v["version"] for v in versions] == ["00000001", "00000002"]
        async with session.get(url(daemon, "/routers/DC1-RTR1/versions?limit=1")) as r:
            newest = await r.json()
        assert (newest["count"], [v["version"] for v in newest["versions"]]) == (2, ["00000002"])
        assert versions[0]["sha256"] == hashlib.sha256(CISCO).hexdigest()
        assert versions[0]["size"] == len(CISCO)
        assert versions[0]["vendor"] == "cisco-ios"
        assert versions[0]["source_ip"] == "127.0.0.1"
        async with session.get(url(daemon, "/routers/dc1-rtr1/versions/00000002")) as r:
            assert r.status == 200
            text = await r.text()
        assert "description change-1" in text and "<redacted>" in text
        async with session.get(url(daemon, "/routers/dc1-rtr1/diff")) as r:
            diff = await r.text()
        assert "+description change-1" in diff
        assert "--- dc1-rtr1/00000001" in diff
        async with session.get(
            url(daemon, "/routers/dc1-rtr1/diff?from=00000001&to=00000001")
        ) as r:
            assert await r.text() == ""
        async with session.get(url(daemon, "/routers/nosuch/versions")) as r:
            assert r.status == 404
        async with session.get(url(daemon, "/healthz")) as r:
            health = await r.json()
        assert r.status == 200
        assert health["counters"]["uploads"] == 3
        assert health["counters"]["changed"] == 2
        assert health["counters"]["unchanged"] == 1
    stopped(daemon)
    received = daemon.events("config.received")
    assert [e["via"] for e in received] == ["raw", "raw", "raw"]
    assert daemon.events("config.unchanged")[0]["version"] == "00000001"
    changed = daemon.events("config.changed")
    assert [c["previous"] for c in changed] == [None, "00000001"]
    assert "+description change-1" in changed[1]["diff"]


def test_curl_forms_every_router_shape(start_config: ConfigDaemons, tmp_path: Path) -> None:
    """curl as each router sends: Cisco archive, Junos archival .gz, Yamaha, MikroTik, multipart."""
    daemon = start_config()
    cisco = tmp_path / "dc1-rtr1-config"
    cisco.write_bytes(CISCO)
    # Cisco IOS ``archive path http://host/upload/$h-config``: a PUT of the file.
    assert curl("-T", str(cisco), url(daemon, "/upload/dc1-rtr1-config")) == (
        200,
        '{"router":"dc1-rtr1","version":"00000001","changed":true,"drift":null}',
    )
    # Junos ``system archival``: a gzip file, no Content-Encoding: recognised by magic bytes.
    junos = tmp_path / "dc1-mx1_juniper.conf.gz_20261130_163523"
    junos.write_bytes(gzip.compress(JUNOS))
    status, body = curl("-T", str(junos), url(daemon, f"/upload/{junos.name}"))
    assert status == 200 and json.loads(body)["router"] == "dc1-mx1"
    # Yamaha RTX ``http upload config``: a POST of ``show config`` text, named by a template.
    yamaha = tmp_path / "yamaha.txt"
    yamaha.write_bytes(YAMAHA)
    status, body = curl(
        "--data-binary", f"@{yamaha}", url(daemon, "/upload/RTX1210/tokyo-edge1/261130.txt")
    )
    assert status == 200 and json.loads(body)["router"] == "tokyo-edge1"
    # MikroTik ``/tool fetch upload=yes``: a form-urlencoded POST of the export, not a form.
    mikrotik = tmp_path / "dc1-ccr1.rsc"
    mikrotik.write_bytes(ROUTEROS)
    status, body = curl(
        "-H",
        "Content-Type: application/x-www-form-urlencoded",
        "--data-binary",
        f"@{mikrotik}",
        url(daemon, "/upload/dc1-ccr1.rsc"),
    )
    assert status == 200 and json.loads(body)["router"] == "dc1-ccr1"
    # multipart/form-data, two file parts: two uploads in one request.
    eos = tmp_path / "leaf1.cfg"
    eos.write_bytes(EOS)
    status, body = curl("-F", f"file=@{eos}", "-F", f"other=@{cisco}", url(daemon, "/upload/"))
    uploads = json.loads(body)["uploads"]
    assert status == 200
    assert [(u["router"], u["changed"]) for u in uploads] == [
        ("leaf1", True),
        ("dc1-rtr1", False),
    ]
    # gzip with Content-Encoding: gzip, the header way.
    gz = tmp_path / "eos.gz"
    gz.write_bytes(gzip.compress(changed_config(EOS, 1)))
    status, body = curl(
        "-X",
        "PUT",
        "-H",
        "Content-Encoding: gzip",
        "--data-binary",
        f"@{gz}",
        url(daemon, "/upload/leaf1.cfg"),
    )
    assert status == 200 and json.loads(body) == {
        "router": "leaf1",
        "version": "00000002",
        "changed": True,
        "drift": None,
    }
    stopped(daemon)
    vendors = {e["router"]: e["vendor"] for e in daemon.events("config.received")}
    assert vendors == {
        "dc1-rtr1": "cisco-ios",
        "dc1-mx1": "junos",
        "tokyo-edge1": "yamaha",
        "dc1-ccr1": "routeros",
        "leaf1": "eos",
    }
    vias = [e["via"] for e in daemon.events("config.received")]
    assert vias == ["raw", "raw", "raw", "raw", "multipart", "multipart", "raw"]


async def test_oxidized_json(start_config: ConfigDaemons) -> None:
    daemon = start_config()
    doc = {
        "node": "dc1-rtr9",
        "group": "dc1",
        "config": CISCO.decode(),
        "msg": "update dc1-rtr9",
        "user": "oxidized",
    }
    async with aiohttp.ClientSession() as session:
        async with session.post(url(daemon, "/oxidized"), json=doc) as r:
            assert r.status == 200
            assert (await r.json())["router"] == "dc1-rtr9"
        async with session.post(url(daemon, "/oxidized"), data=b"{not json") as r:
            assert r.status == 400
        async with session.post(url(daemon, "/oxidized"), json={"node": "x"}) as r:
            assert r.status == 400
        async with session.post(url(daemon, "/oxidized"), json={**doc, "config": " \n"}) as r:
            assert r.status == 400
    stopped(daemon)
    event = daemon.events("config.received")[0]
    assert (event["via"], event["identified_by"], event["group"], event["user"]) == (
        "oxidized",
        "explicit",
        "dc1",
        "oxidized",
    )
    assert event["sha256"] == hashlib.sha256(CISCO).hexdigest()
    assert daemon.events("config.rejected")[0]["reason"] == "undecodable"


async def test_identity_resolution_order(start_config: ConfigDaemons) -> None:
    """Without an inventory: query parameter, then file name, then hostname, then the IP."""
    daemon = start_config()
    no_hostname = b"! no hostname here\ninterface Loopback0\n ip address 10.0.0.1 255.255.255.255\n"
    cases = [
        ("/upload/dc1-other-config?router=Query-Name", CISCO, "query-name", "explicit"),
        ("/upload/dc1-other-config", CISCO, "dc1-other", "filename"),
        ("/upload/config", CISCO, "dc1-rtr1", "config"),
        ("/upload/running-config", no_hostname, "127.0.0.1", "source_ip"),
    ]
    async with aiohttp.ClientSession() as session:
        for path, body, router, _source in cases:
            status, result = await put(session, url(daemon, path), body)
            assert (status, result["router"]) == (200, router), path
    stopped(daemon)
    found = [(e["router"], e["identified_by"]) for e in daemon.events("config.received")]
    assert found == [(c[2], c[3]) for c in cases]


# -- diffs and drift --------------------------------------------------------------------------


async def test_long_diff_split_under_line_limit(start_config: ConfigDaemons) -> None:
    daemon = start_config()
    big_a = b"hostname big1\n" + b"".join(
        b"interface Gi0/%d\n description a-%d\n" % (i, i) for i in range(3000)
    )
    big_b = b"hostname big1\n" + b"".join(
        b"interface Gi0/%d\n description b-%d\n" % (i, i) for i in range(3000)
    )
    async with aiohttp.ClientSession() as session:
        assert (await put(session, url(daemon, "/upload/big1.cfg"), big_a))[0] == 200
        assert (await put(session, url(daemon, "/upload/big1.cfg"), big_b))[0] == 200
        async with session.get(url(daemon, "/routers/big1/diff")) as r:
            served = await r.text()
    daemon.wait_count(
        lambda e: (
            e.get("event") == "config.changed"
            and e.get("version") == "00000002"
            and e["part"] == e["parts"]
        ),
        1,
        10,
    )
    parts = [e for e in daemon.events("config.changed") if e["version"] == "00000002"]
    assert len(parts) > 3
    assert [p["part"] for p in parts] == list(range(1, len(parts) + 1))
    assert all(p["parts"] == len(parts) for p in parts)
    assert "".join(p["diff"] for p in parts) == served
    for line in daemon.lines():
        assert len(orjson.dumps(line)) + 1 <= MAX_LINE_BYTES


async def test_desired_in_sync_then_drift_with_emf(
    start_config: ConfigDaemons, tmp_path: Path
) -> None:
    desired = tmp_path / "desired"
    desired.mkdir()
    (desired / "dc1-rtr1.conf").write_bytes(CISCO)
    daemon = start_config("--desired", str(desired))
    async with aiohttp.ClientSession() as session:
        status, body = await put(session, url(daemon, "/upload/dc1-rtr1-config"), CISCO)
        assert (status, body["drift"]) == (200, False)
        status, body = await put(
            session, url(daemon, "/upload/dc1-rtr1-config"), changed_config(CISCO, 7)
        )
        assert (status, body["drift"]) == (200, True)
        # A router with no intended config in Git cannot be verified: that is drift too.
        status, body = await put(
            session,
            url(daemon, "/upload/dc1-mx1_juniper.conf.gz_20261130_163523"),
            gzip.compress(JUNOS),
        )
        assert (status, body["router"], body["drift"]) == (200, "dc1-mx1", True)
        # The intended config catches up (a git pull): the next upload is in sync again.
        (desired / "dc1-rtr1.conf").write_bytes(changed_config(CISCO, 7))
        status, body = await put(
            session, url(daemon, "/upload/dc1-rtr1-config"), changed_config(CISCO, 7)
        )
        assert (status, body["changed"], body["drift"]) == (200, False, False)
        async with session.get(url(daemon, "/routers")) as r:
            states = {x["router"]: x["drift"] for x in (await r.json())["routers"]}
    assert states == {"dc1-rtr1": False, "dc1-mx1": True}
    stopped(daemon)
    in_sync = daemon.events("config.in_sync")
    assert [e["version"] for e in in_sync] == ["00000001", "00000002"]
    assert in_sync[0]["desired"] == str(desired / "dc1-rtr1.conf")
    drift = daemon.events("config.drift")
    assert [(e["router"], e["reason"]) for e in drift] == [
        ("dc1-rtr1", "differs"),
        ("dc1-mx1", "no_desired_config"),
    ]
    assert "+description change-7" in drift[0]["diff"]
    assert drift[0]["level"] == "warning"
    metrics = daemon.events("config.drift_metric")
    assert [(m["router"], m["drift"]) for m in metrics] == [
        ("dc1-rtr1", 0.0),
        ("dc1-rtr1", 1.0),
        ("dc1-mx1", 1.0),
        ("dc1-rtr1", 0.0),
    ]
    emf = metrics[0]["_aws"]["CloudWatchMetrics"][0]
    assert emf["Namespace"] == "EdgeBridge"
    assert emf["Dimensions"] == [["router"]]
    assert emf["Metrics"] == [{"Name": "drift", "Unit": "Count"}]


# -- refusals ---------------------------------------------------------------------------------


async def test_allowlist_forbids_other_sources(start_config: ConfigDaemons) -> None:
    daemon = start_config("--allow", "10.0.0.0/8", "--allow", "192.0.2.0/24")
    async with aiohttp.ClientSession() as session:
        status, _ = await put(session, url(daemon, "/upload/dc1-rtr1-config"), CISCO)
        assert status == 403
        async with session.get(url(daemon, "/routers")) as r:
            assert r.status == 403
        async with session.get(url(daemon, "/healthz")) as r:
            assert r.status == 200
            assert (await r.json())["counters"]["rejected_forbidden"] == 2
    allowed = start_config("--allow", "127.0.0.0/8")
    async with aiohttp.ClientSession() as session:
        status, _ = await put(session, url(allowed, "/upload/dc1-rtr1-config"), CISCO)
        assert status == 200


async def test_too_large_bodies_and_gzip_bomb(start_config: ConfigDaemons, tmp_path: Path) -> None:
    daemon = start_config("--max-body", "256KiB")
    limit = 256 * 1024
    async with aiohttp.ClientSession() as session:
        # Declared too large.
        status, _ = await put(session, url(daemon, "/upload/big-config"), b"x" * (limit + 1))
        assert status == 413
        # Chunked, so only counting the stream finds out.

        async def chunks() -> Any:
            for _ in range(40):
                yield b"y" * 8192

        async with session.put(url(daemon, "/upload/big-config"), data=chunks()) as r:
            assert r.status == 413
        # A gzip bomb: 50 MiB of short lines in ~180 KiB, refused once 256 KiB are decoded.
        bomb = gzip.compress((b"!" * 99 + b"\n") * (512 * 1024), compresslevel=9)
        assert len(bomb) < limit
        status, _ = await put(session, url(daemon, "/upload/bomb-config"), bomb)
        assert status == 413
        status, _ = await put(
            session,
            url(daemon, "/upload/bomb-config"),
            bomb,
            headers={"Content-Encoding": "gzip"},
        )
        assert status == 413
        # Exactly at the limit after decompression is fine.
        at_limit = b"hostname edge\n" + b"!\n" * ((limit - 14) // 2)
        assert len(at_limit) == limit
        status, _ = await put(session, url(daemon, "/upload/edge-config"), gzip.compress(at_limit))
        assert status == 200
        async with session.get(url(daemon, "/healthz")) as r:
            counters = (await r.json())["counters"]
    assert counters["rejected_too_large"] == 4
    bomb_file = tmp_path / "bomb.gz"
    bomb_file.write_bytes(bomb)
    status, _ = curl("-F", f"f=@{bomb_file}", url(daemon, "/upload/"))
    assert status == 413


async def test_empty_and_undecodable_bodies(start_config: ConfigDaemons) -> None:
    daemon = start_config()
    async with aiohttp.ClientSession() as session:
        assert (await put(session, url(daemon, "/upload/r-config"), b""))[0] == 400
        assert (await put(session, url(daemon, "/upload/r-config"), b"  \r\n\n"))[0] == 400
        assert (await put(session, url(daemon, "/upload/r-config"), gzip.compress(CISCO)[:-30]))[
            0
        ] == 400
        assert (await put(session, url(daemon, "/upload/r-config"), b"\x00\x01\x02binary"))[
            0
        ] == 400
        assert (await put(session, url(daemon, "/upload/r-config"), gzip.compress(b"")))[0] == 400
        for ctype, body in (
            ("multipart/form-data", b"no boundary"),
            ("multipart/form-data; boundary=abc", b"no part at all"),
            (
                "multipart/form-data; boundary=abc",
                b'--abc\r\nContent-Disposition: form-data; name="f"; filename="r1.cfg"\r\n'
                b"\r\nhostname r1\n",  # no closing boundary
            ),
        ):
            async with session.post(
                url(daemon, "/upload/r1.cfg"), data=body, headers={"Content-Type": ctype}
            ) as r:
                assert r.status == 400, ctype
        form = aiohttp.MultipartWriter("form-data")
        form.append("r1").set_content_disposition("form-data", name="router")
        async with session.post(url(daemon, "/upload/"), data=form) as r:
            assert r.status == 400  # a form without a file part
        async with session.get(url(daemon, "/healthz")) as r:
            counters = (await r.json())["counters"]
    assert counters["rejected_empty"] == 4
    assert counters["rejected_undecodable"] == 5
    assert counters["internal_errors"] == 0
    assert counters["uploads"] == 0


async def test_rate_limit_per_source(start_config: ConfigDaemons) -> None:
    daemon = start_config("--rate-limit", "0.5", "--rate-burst", "3")
    async with aiohttp.ClientSession() as session:
        statuses = [
            (await put(session, url(daemon, "/upload/r-config"), changed_config(CISCO, i)))[0]
            for i in range(5)
        ]
        async with session.get(url(daemon, "/healthz")) as r:
            counters = (await r.json())["counters"]
    assert statuses == [200, 200, 200, 429, 429]
    assert counters["rejected_rate"] == 2


def test_bad_settings_exit_2(tmp_path: Path) -> None:
    done = run_command(["config", "--store", "s3://"])
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "edge-bridge config: invalid --store 's3://': expected s3://BUCKET/PREFIX"
    ]
    done = run_command(["config", "--basic-auth-file", str(tmp_path / "missing")])
    assert done.returncode == 2
    assert "--basic-auth-file" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    done = run_command(["config", "--listen", "127.0.0.1:0"], env={"EDGE_BRIDGE_MAX_BODY": "lots"})
    assert done.returncode == 2 and "EDGE_BRIDGE_MAX_BODY" in done.stderr


# -- concurrency ------------------------------------------------------------------------------


async def test_32_concurrent_uploads_of_one_router_keep_every_version(
    start_config: ConfigDaemons, tmp_path: Path
) -> None:
    daemon = start_config()
    configs = [changed_config(CISCO, i) for i in range(32)]
    async with aiohttp.ClientSession() as session:
        results = await asyncio.gather(
            *(put(session, url(daemon, "/upload/dc1-rtr1-config"), body) for body in configs)
        )
        async with session.get(url(daemon, "/routers/dc1-rtr1/versions")) as r:
            versions = (await r.json())["versions"]
    assert all(status == 200 and body["changed"] for status, body in results)
    assert sorted(body["version"] for _, body in results) == [f"{n:08d}" for n in range(1, 33)]
    assert sorted(v["sha256"] for v in versions) == sorted(
        hashlib.sha256(c).hexdigest() for c in configs
    )
    store = tmp_path / "store" / "dc1-rtr1"
    for v in versions:
        assert (store / v["version"]).read_bytes().partition(b"\n")[2] in configs


async def test_sigterm_lets_an_upload_in_flight_finish(
    start_config: ConfigDaemons, tmp_path: Path
) -> None:
    """ECS stops a task with SIGTERM: an upload already being received is still stored."""
    daemon = start_config()
    body = changed_config(CISCO, 42)

    async def slowly() -> Any:
        for n in range(0, len(body), 1024):
            yield body[n : n + 1024]
            await asyncio.sleep(0.1)

    async with aiohttp.ClientSession() as session:
        upload = asyncio.ensure_future(
            put(session, url(daemon, "/upload/dc1-rtr1-config"), slowly())  # type: ignore[arg-type]
        )
        await asyncio.sleep(0.3)
        daemon.proc.send_signal(signal.SIGTERM)
        status, result = await upload
    assert (status, result["version"]) == (200, "00000001")
    assert await asyncio.to_thread(daemon.proc.wait, 10) == 0  # the one SIGTERM was enough
    await asyncio.to_thread(daemon.stop)  # joins the output readers
    names = [e["event"] for e in daemon.lines()]
    assert names.index("config.stopping") < names.index("config.changed") < names.index("stopped")
    stored = (tmp_path / "store" / "dc1-rtr1" / "00000001").read_bytes()
    assert stored.partition(b"\n")[2] == body


async def test_unreadable_desired_config_does_not_fail_the_upload(
    start_config: ConfigDaemons, tmp_path: Path
) -> None:
    desired = tmp_path / "desired"
    desired.mkdir()
    (desired / "dc1-rtr1").write_bytes(b"!" * (128 * 1024))  # over --max-body: not read
    daemon = start_config("--desired", str(desired), "--max-body", "64KiB")
    async with aiohttp.ClientSession() as session:
        status, body = await put(session, url(daemon, "/upload/dc1-rtr1-config"), CISCO)
        async with session.get(url(daemon, "/healthz")) as r:
            counters = (await r.json())["counters"]
    assert (status, body["changed"], body["drift"]) == (200, True, None)
    assert counters["store_errors"] == 1
    stopped(daemon)
    error = daemon.events("config.desired_error")[0]
    assert error["router"] == "dc1-rtr1" and "larger than" in error["error"]
    assert daemon.events("config.drift") == daemon.events("config.in_sync") == []
