"""The version stores: a local directory that survives kill -9, and S3 (moto's real server)
shared by several uploader processes without losing a version."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import boto3
import pytest
from moto.server import ThreadedMotoServer

from config_uploader.store import (
    LocalStore,
    RouterState,
    S3Store,
    Store,
    VersionMeta,
    commit,
    is_version_id,
    s3_client,
)
from tests.procs import Daemon

DATA = Path(__file__).parent / "data" / "configs"
CISCO = (DATA / "cisco-ios" / "rtr1-confg").read_bytes()
BUCKET = "edge-bridge-test"


def variant(n: int, base: bytes = CISCO) -> bytes:
    return base.rstrip(b"\n") + f"\ndescription change-{n}\n".encode()


def meta_for(router: str, data: bytes, norm: str | None = None):  # type: ignore[no-untyped-def]
    def make(version: str) -> VersionMeta:
        return VersionMeta(
            router=router,
            version=version,
            vendor="cisco-ios",
            received_at=time.time(),
            source_ip="192.0.2.1",
            sha256=hashlib.sha256(data).hexdigest(),
            normalised_sha256=norm or hashlib.sha256(data).hexdigest(),
            size=len(data),
            filename=f"{router}-config",
        )

    return make


# -- S3 through moto's server mode ------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_env() -> Iterator[dict[str, str]]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ENDPOINT_URL_S3": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    try:
        yield env
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


async def test_s3_store_commit_races_in_process(s3_env: dict[str, str]) -> None:
    """Two stores (as two tasks would have) race on one router: gap-free, nothing lost."""
    a = S3Store(f"s3://{BUCKET}/race", s3_client())
    b = S3Store(f"s3://{BUCKET}/race", s3_client())
    await a.open()
    bodies = [variant(n) for n in range(12)]
    results = await asyncio.gather(
        *(
            commit(a if n % 2 else b, "r1", body, meta_for("r1", body))
            for n, body in enumerate(bodies)
        )
    )
    assert all(r.changed for r in results)
    assert sorted(r.meta.version for r in results) == [f"{n:08d}" for n in range(1, 13)]
    stored = await a.versions("r1")
    assert [m.version for m in stored] == [f"{n:08d}" for n in range(1, 13)]
    for m in stored:
        found = await b.read("r1", m.version)
        assert found is not None
        assert hashlib.sha256(found[1]).hexdigest() == m.sha256 == found[0].sha256
    # The same content racing itself ends as one version and unchanged for the others.
    same = variant(99)
    again = await asyncio.gather(
        *(commit(s, "r2", same, meta_for("r2", same)) for s in (a, b, a, b))
    )
    assert sorted(r.changed for r in again) == [False, False, False, True]
    assert [m.version for m in await a.versions("r2")] == ["00000001"]
    assert await a.routers() == ["r1", "r2"]


def test_s3_two_processes_32_concurrent_uploads(s3_env: dict[str, str], tmp_path: Path) -> None:
    """Two uploader processes behind one 'NLB', one bucket: every version of one router kept."""
    desired_key = "desired/dc1-rtr1.cfg"
    boto3.client("s3").put_object(Bucket=BUCKET, Key=desired_key, Body=variant(0))
    args = [
        "config",
        "--listen",
        "127.0.0.1:0",
        "--store",
        f"s3://{BUCKET}/configs",
        "--desired",
        f"s3://{BUCKET}/desired",
    ]
    with Daemon.start(args, env=s3_env) as one, Daemon.start(args, env=s3_env) as two:
        assert one.addresses["config"]["store"] == f"s3://{BUCKET}/configs"
        targets = [one, two]
        bodies = [variant(n) for n in range(32)]

        async def run() -> list[dict[str, object]]:
            async with aiohttp.ClientSession() as session:

                async def upload(n: int) -> dict[str, object]:
                    host, port = targets[n % 2].address("config", "listen")
                    target = f"http://{host}:{port}/upload/dc1-rtr1-config"
                    async with session.put(target, data=bodies[n]) as r:
                        assert r.status == 200, await r.text()
                        return await r.json()  # type: ignore[no-any-return]

                results = await asyncio.gather(*(upload(n) for n in range(32)))
                # Identical to the latest stored: unchanged, whichever process answers.
                latest = max(range(32), key=lambda n: str(results[n]["version"]))
                again = bodies[latest]
                host, port = one.address("config", "listen")
                async with session.put(
                    f"http://{host}:{port}/upload/dc1-rtr1-config", data=again
                ) as r:
                    assert (await r.json())["changed"] is False
                host, port = two.address("config", "listen")
                async with session.get(f"http://{host}:{port}/routers/dc1-rtr1/versions") as r:
                    versions = (await r.json())["versions"]
                async with session.get(f"http://{host}:{port}/routers") as r:
                    routers = (await r.json())["routers"]
                assert [(x["router"], x["versions"]) for x in routers] == [("dc1-rtr1", 32)]
                assert routers[0]["last_changed"] is False  # the repeated upload came last
                async with session.get(
                    f"http://{host}:{port}/routers/dc1-rtr1/versions/00000001?redacted=1"
                ) as r:
                    assert r.status == 200 and "<redacted>" in await r.text()
                return [*results, {"versions": versions}]

        *results, listing = asyncio.run(run())
    versions = listing["versions"]
    assert sorted(str(r["version"]) for r in results) == [f"{n:08d}" for n in range(1, 33)]
    assert [v["version"] for v in versions] == [f"{n:08d}" for n in range(1, 33)]  # type: ignore[index]
    assert sorted(v["sha256"] for v in versions) == sorted(  # type: ignore[index]
        hashlib.sha256(b).hexdigest() for b in bodies
    )
    s3 = boto3.client("s3")
    for v in versions:  # type: ignore[union-attr]
        obj = s3.get_object(Bucket=BUCKET, Key=f"configs/dc1-rtr1/versions/{v['version']}")
        body = obj["Body"].read()
        assert hashlib.sha256(body).hexdigest() == v["sha256"] == obj["Metadata"]["sha256"]
        assert obj["Metadata"]["router"] == "dc1-rtr1"
        assert obj["Metadata"]["source-ip"] == "127.0.0.1"
        assert int(obj["Metadata"]["size"]) == len(body)
    drift = [e for d in (one, two) for e in d.events("config.drift") + d.events("config.in_sync")]
    assert len(drift) == 33
    assert sum(1 for e in drift if e["event"] == "config.in_sync") == 1  # variant(0) only
    assert all(e["desired"] == f"s3://{BUCKET}/{desired_key}" for e in drift)


async def test_s3_unreachable_is_503_and_counted(tmp_path: Path) -> None:
    env = {
        "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "y",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    args = ["config", "--listen", "127.0.0.1:0", "--store", "s3://nowhere/x"]
    daemon = Daemon(args, env=env)
    try:
        line = daemon.wait_for(lambda e: e.get("event") == "config.failed", timeout=60)
        assert "nowhere" in line["error"]
        assert daemon.proc.wait(30) == 1
    finally:
        daemon.kill()


# -- local directory --------------------------------------------------------------------------


async def test_local_store_commit_races_and_stray_tmp(tmp_path: Path) -> None:
    stores: list[Store] = [LocalStore(tmp_path), LocalStore(tmp_path)]
    await stores[0].open()
    bodies = [variant(n) for n in range(20)]
    results = await asyncio.gather(
        *(commit(stores[n % 2], "r1", b, meta_for("r1", b)) for n, b in enumerate(bodies))
    )
    assert sorted(r.meta.version for r in results) == [f"{n:08d}" for n in range(1, 21)]
    # A stale temporary directory from a killed writer is ignored, then swept by open().
    stray = tmp_path / "r1" / ".tmp-00000021-1-1-1"
    stray.write_bytes(b'{"router": "r1", "vers')
    old = time.time() - 7200
    os.utime(stray, (old, old))
    assert [m.version for m in await stores[1].versions("r1")][-1] == "00000020"
    await LocalStore(tmp_path).open()
    assert not stray.exists()
    assert await stores[0].read("r1", "../../etc") is None


def check_store_consistent(root: Path) -> dict[str, int]:
    """Every listed version is whole: config and meta present, sha256 and size match."""
    counts: dict[str, int] = {}
    for router_dir in root.iterdir():
        numbers = sorted(int(p.name) for p in router_dir.iterdir() if is_version_id(p.name))
        assert numbers == list(range(1, len(numbers) + 1)), router_dir
        for n in numbers:
            version = router_dir / f"{n:08d}"
            head, _, data = version.read_bytes().partition(b"\n")
            meta = json.loads(head)
            assert hashlib.sha256(data).hexdigest() == meta["sha256"]
            assert len(data) == meta["size"]
            assert meta["version"] == version.name and meta["router"] == router_dir.name
        others = {p.name for p in router_dir.iterdir() if not is_version_id(p.name)}
        assert all(name == "state.jsonl" or name.startswith(".tmp-") for name in others)
        counts[router_dir.name] = len(numbers)
    return counts


def test_kill_9_during_writes_leaves_store_consistent(tmp_path: Path) -> None:
    store = tmp_path / "store"
    args = ["config", "--listen", "127.0.0.1:0", "--store", str(store)]
    acknowledged: list[dict[str, object]] = []
    daemon = Daemon.start(args)
    host, port = daemon.address("config", "listen")
    big = CISCO * 40  # ~280 KiB: writes take long enough to be caught mid-way

    async def hammer() -> None:
        async with aiohttp.ClientSession() as session:

            async def worker(w: int) -> None:
                for n in range(10_000):
                    body = variant(n * 100 + w, big)
                    target = f"http://{host}:{port}/upload/r{w % 4}-config"
                    try:
                        async with session.put(target, data=body) as r:
                            if r.status == 200:
                                result = await r.json()
                                acknowledged.append(
                                    {**result, "sha256": hashlib.sha256(body).hexdigest()}
                                )
                    except (aiohttp.ClientError, OSError):
                        return

            tasks = [asyncio.create_task(worker(w)) for w in range(8)]
            await asyncio.sleep(1.5)
            daemon.proc.kill()  # SIGKILL: no drain, no flush, mid-write
            await asyncio.wait(tasks, timeout=20)

    try:
        asyncio.run(hammer())
    finally:
        daemon.kill()
    assert len(acknowledged) > 8
    counts = check_store_consistent(store)
    assert sum(counts.values()) >= len(acknowledged)
    # Every acknowledged upload is there with its bytes (fsync before the answer).
    for ack in acknowledged:
        head = (store / str(ack["router"]) / str(ack["version"])).read_bytes().split(b"\n")[0]
        meta = json.loads(head)
        assert meta["sha256"] == ack["sha256"]

    # A restarted uploader reads every version and continues the numbering.
    with Daemon.start(args) as again:
        host, port = again.address("config", "listen")

        async def verify() -> None:
            async with aiohttp.ClientSession() as session:
                for router, count in counts.items():
                    base = f"http://{host}:{port}/routers/{router}"
                    async with session.get(f"{base}/versions") as r:
                        listed = (await r.json())["versions"]
                    assert len(listed) == count
                    for v in listed:
                        async with session.get(f"{base}/versions/{v['version']}") as r:
                            assert r.status == 200
                target = f"http://{host}:{port}/upload/r0-config"
                async with session.put(target, data=variant(10**9)) as r:
                    assert (await r.json())["version"] == f"{counts['r0'] + 1:08d}"

        asyncio.run(verify())


@pytest.mark.parametrize("anonymous", [True, False], ids=["o_tmpfile", "named_tmp"])
async def test_local_versions_and_state_log(tmp_path: Path, anonymous: bool) -> None:
    """Both ways of writing a version (unnamed O_TMPFILE file, else a .tmp- name) keep it
    whole and exclusive; the state log gives back the newest state and is cut back when long."""
    store = LocalStore(tmp_path)
    await store.open()
    if not anonymous:
        store._anonymous = False
    elif not store._anonymous:
        pytest.skip("this filesystem or /proc does not allow O_TMPFILE links")
    body = variant(1)
    meta = meta_for("r1", body)("00000001")
    state = RouterState("r1", 1.0, "00000001", True, False, 1)
    assert await store.create(meta, body, state) is True
    assert await store.create(meta, variant(2), state) is False  # the number is taken
    assert await store.read("r1", "00000001") == (meta, body)
    assert await store.read_state("r1") == state
    assert sorted(p.name for p in (tmp_path / "r1").iterdir()) == ["00000001", "state.jsonl"]
    # Many states later the log has been cut back, and the newest is what is read.
    for n in range(2, 2000):
        await store.write_state(RouterState("r1", float(n), "00000001", False, n % 2 == 0, 1))
    assert await store.read_state("r1") == RouterState("r1", 1999.0, "00000001", False, False, 1)
    assert (tmp_path / "r1" / "state.jsonl").stat().st_size <= 64 * 1024
    # A torn or foreign last line is skipped for the newest whole one.
    with (tmp_path / "r1" / "state.jsonl").open("ab") as log:
        log.write(b'{"router": "r1", "last_up')
    assert (await store.read_state("r1")) == RouterState("r1", 1999.0, "00000001", False, False, 1)
    assert await store.read_state("nobody") is None


async def test_a_stale_remembered_latest_neither_hides_a_revert_nor_loses_a_version(
    tmp_path: Path,
) -> None:
    """Two writers of one directory (two tasks on one shared volume): each remembers only
    what it wrote, and still numbers and compares against the real latest."""
    one, two = LocalStore(tmp_path), LocalStore(tmp_path)
    await one.open()
    x, y = variant(1), variant(2)
    assert (await commit(one, "r1", x, meta_for("r1", x))).meta.version == "00000001"
    assert (await commit(two, "r1", y, meta_for("r1", y))).meta.version == "00000002"
    # one remembers version 1 (x); the router went back to x after y: a new version.
    back = await commit(one, "r1", x, meta_for("r1", x))
    assert (back.changed, back.meta.version) == (True, "00000003")
    assert back.previous is not None and back.previous.version == "00000002"
    # two remembers version 2; x again is unchanged against the real latest (3).
    again = await commit(two, "r1", x, meta_for("r1", x))
    assert (again.changed, again.meta.version) == (False, "00000003")
