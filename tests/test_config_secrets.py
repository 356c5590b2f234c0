"""No secret of any sample config reaches stdout or a redacted read, whatever the upload does.

Every sample (every family of ``config_uploader/vendors``) is uploaded after a one-line stub
(so every line goes through a ``config.changed`` diff), then with every secret rotated (a diff
of changed secret lines), checked against a desired copy that differs (a drift diff), and read
back through the API redacted: each version, and the diff API between them. The secrets listed
in ``tests/data/configs/secrets.json`` and their rotated twins must appear nowhere.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import aiohttp

from tests.procs import Daemon

DATA = Path(__file__).parent / "data" / "configs"
SECRETS: dict[str, list[str]] = {
    name: values
    for name, values in json.loads((DATA / "secrets.json").read_text()).items()
    if not name.startswith("_")
}


def rotated(secret: str) -> str:
    """A different secret of the same shape, so the same redaction rule has to catch it."""
    return secret[:-2] + ("Zq" if not secret.endswith("Zq") else "Qz")


def strings(value: object) -> list[str]:
    """Every string in parsed JSON lines (keys too), unescaped, as the values were written."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return [str(value)]


async def test_no_secret_on_stdout_or_in_redacted_reads(tmp_path: Path) -> None:
    desired = tmp_path / "desired"
    desired.mkdir()
    uploads: list[tuple[str, bytes]] = []
    every_secret: list[str] = []
    for sample, secrets in SECRETS.items():
        original = (DATA / sample).read_text(encoding="utf-8")
        changed = original
        for secret in secrets:
            assert secret in original, (sample, secret)
            changed = changed.replace(secret, rotated(secret))
        every_secret += secrets + [rotated(s) for s in secrets]
        router = f"r-{Path(sample).stem.replace('_', '-').replace('.', '-')}"
        stub = b"! stub\n"
        uploads += [(router, stub), (router, original.encode()), (router, changed.encode())]
        # The intended config differs in its secrets too: the drift diff must hide them.
        (desired / router).write_text(original.replace(secrets[0], rotated(rotated(secrets[0]))))
        every_secret.append(rotated(rotated(secrets[0])))

    with Daemon.start(
        [
            "config",
            "--listen",
            "127.0.0.1:0",
            "--store",
            str(tmp_path / "store"),
            "--desired",
            str(desired),
        ]
    ) as daemon:
        host, port = daemon.address("config", "listen")
        base = f"http://{host}:{port}"
        served: list[str] = []
        async with aiohttp.ClientSession() as session:
            for router, body in uploads:
                async with session.put(f"{base}/upload/x?router={router}", data=body) as r:
                    assert r.status == 200, await r.text()
                    assert (await r.json())["changed"] is True
            for router in sorted({r for r, _ in uploads}):
                for path in (
                    "versions/00000002",
                    "versions/00000003",
                    "diff",
                    "diff?from=00000001&to=00000002",
                    "diff?from=00000001&to=00000003",
                ):
                    async with session.get(f"{base}/routers/{router}/{path}") as r:
                        assert r.status == 200
                        served.append(await r.text())
        assert daemon.stop() == 0
        stdout = "\n".join(strings(daemon.lines()))
    assert len(daemon.events("config.changed")) >= len(uploads)
    assert len(daemon.events("config.drift")) >= len(uploads)
    assert "<redacted>" in stdout
    leaks = [s for s in every_secret if s in stdout or any(s in text for text in served)]
    assert leaks == []
    # The rotation shows as changed lines, alike on both sides once their values are hidden.
    for router in sorted({r for r, _ in uploads}):
        diff = "".join(
            e["diff"]
            for e in daemon.events("config.changed")
            if e["router"] == router and e["version"] == "00000003"
        )
        old, new, *body = diff.splitlines()
        assert old.startswith("--- ") and new.startswith("+++ "), router
        removed = [line[1:] for line in body if line.startswith("-")]
        added = [line[1:] for line in body if line.startswith("+")]
        assert removed, f"{router}: the rotated secrets show no changed line"
        assert removed == added, router
        assert all("<redacted>" in line for line in removed), router


async def test_refused_uploads_and_error_lines_carry_no_body_text(tmp_path: Path) -> None:
    """``config.rejected`` and every error line name the reason, never what the body held."""
    secret = "RefusedBodySecret77"
    config = f"hostname r1\nenable secret 0 {secret}\nsnmp-server community {secret} RO\n"
    raw = config.encode()
    bodies: list[tuple[str, bytes, dict[str, str]]] = [
        ("/upload/r1-config", b"\x00\x01" + raw, {}),  # binary: NUL bytes
        ("/upload/r1-config", gzip.compress(raw)[:-12], {}),  # truncated gzip
        ("/upload/r1-config", raw, {"Content-Encoding": "gzip"}),  # says gzip, is not
        ("/oxidized", b'{"node": "r1", "config": ' + raw, {"Content-Type": "application/json"}),
        (
            "/upload/r1.cfg",
            b'--abc\r\nContent-Disposition: form-data; name="f"; filename="r1.cfg"\r\n\r\n' + raw,
            {"Content-Type": "multipart/form-data; boundary=abc"},
        ),
        (
            "/upload/r1.cfg",
            b"--abc\r\nContent-Disposition: form-data; name=f; filename=r1.cfg\r\n\r\n"
            + raw
            + f"\r\n--abc{secret}\r\n".encode(),
            {"Content-Type": "multipart/form-data; boundary=abc"},
        ),
        (
            "/upload/r1.cfg",
            f"{secret}\r\n--abc\r\nbroken header {secret}\r\n\r\n".encode() + raw,
            {"Content-Type": "multipart/form-data; boundary=abc"},
        ),
    ]
    with Daemon.start(
        ["config", "--listen", "127.0.0.1:0", "--store", str(tmp_path / "store")]
    ) as daemon:
        host, port = daemon.address("config", "listen")
        answers: list[str] = []
        async with aiohttp.ClientSession() as session:
            for path, body, headers in bodies:
                async with session.post(
                    f"http://{host}:{port}{path}", data=body, headers=headers
                ) as r:
                    assert r.status == 400, (path, headers, await r.text())
                    answers.append(await r.text())
            async with session.get(f"http://{host}:{port}/healthz") as r:
                counters = (await r.json())["counters"]
        assert daemon.stop() == 0
        lines = daemon.lines()
    # Repeated refusals from one source are summarised, not written one by one.
    assert sum(v for k, v in counters.items() if k.startswith("rejected_")) == len(bodies)
    assert any(e.get("event") == "config.rejected" for e in lines)
    assert [text for text in answers if secret in text] == []
    assert [e for e in lines if secret in json.dumps(e)] == []
