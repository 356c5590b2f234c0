"""Authenticated NTP end to end: the proxy with ``--keys`` and chronyd as the client judging it.

chronyd given ``server ... key N`` accepts a sample only from a reply whose MAC verifies under
key N, so "System clock wrong by" from ``chronyd -Q`` is chronyd's word that the time was
authenticated; with a wrong key it must accept nothing.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import ntplib
import pytest

from tests.ntp_peers import (
    Chronyd,
    ask,
    chronyd_client_with,
    free_udp_port,
    health,
    proxy,
    synchronised,
)
from tests.procs import run_command

AES_HEX = "6D5F3A1B2C4D5E6F708192A3B4C5D6E7"
KEYS = {
    1: "MD5 HEX:B028F91EA5C38D06C2E140B26C7F41EC",
    2: "SHA1 HEX:1DC764E0791B11FA67EFC7ECBC4B0D73F68A070C",
    3: "SHA256 ASCII:correcthorsebatterystaple",
    4: f"AES128 HEX:{AES_HEX}",
    5: f"AES256 HEX:{AES_HEX * 2}",
    6: "SHA512 HEX:00112233445566778899AABBCCDDEEFF",
}


def key_file(path: Path, keys: dict[int, str], mode: int = 0o600) -> Path:
    path.write_text("".join(f"{key_id} {spec}\n" for key_id, spec in keys.items()))
    os.chmod(path, mode)
    return path


def test_every_key_type_is_served_authenticated(chronyd: Chronyd, tmp_path: Path) -> None:
    keys = key_file(tmp_path / "proxy.keys", KEYS)
    with proxy("--upstream", f"127.0.0.1:{chronyd.port}", "--keys", str(keys)) as daemon:
        synchronised(daemon)
        port = daemon.address("ntp", "listen")[1]
        with ThreadPoolExecutor(len(KEYS)) as pool:
            offsets = dict(
                zip(
                    KEYS,
                    pool.map(
                        lambda key_id: chronyd_client_with(
                            [f"keyfile {keys}"], port, f"key {key_id}", maxsamples=2
                        ),
                        KEYS,
                    ),
                    strict=True,
                )
            )
        for key_id, offset in offsets.items():
            assert offset is not None, f"chronyd refused the replies signed with key {key_id}"
            assert abs(offset) < 0.001
        counts = health(daemon)[1]["counters"]
        assert counts["replies_authenticated"] >= 2 * len(KEYS)
        assert counts["crypto_nak_sent"] == 0
        stats = ask(daemon)  # a client without a key is still answered
        assert stats.stratum == 2
        assert daemon.stop() == 0
    assert "HEX:" not in daemon.stderr + str(daemon.lines())  # the keys are never echoed


def test_wrong_and_unknown_keys_get_crypto_naks(chronyd: Chronyd, tmp_path: Path) -> None:
    keys = key_file(tmp_path / "proxy.keys", {1: KEYS[1]})
    wrong = key_file(tmp_path / "client.keys", {1: "MD5 ASCII:guessedwrong", 7: KEYS[1]})
    with proxy("--upstream", f"127.0.0.1:{chronyd.port}", "--keys", str(keys)) as daemon:
        synchronised(daemon)
        port = daemon.address("ntp", "listen")[1]
        with ThreadPoolExecutor(2) as pool:
            results = list(
                pool.map(
                    lambda key_id: chronyd_client_with(
                        [f"keyfile {wrong}"], port, f"key {key_id}", timeout=3
                    ),
                    (1, 7),
                )
            )
        assert results == [None, None]  # chronyd accepted nothing
        counts = health(daemon)[1]["counters"]
        assert counts["auth_bad_mac"] >= 1 and counts["auth_unknown_key"] >= 1
        assert counts["crypto_nak_sent"] == counts["auth_bad_mac"] + counts["auth_unknown_key"]
        assert counts["replies_authenticated"] == 0


def test_require_auth_answers_only_signed_requests(chronyd: Chronyd, tmp_path: Path) -> None:
    keys = key_file(tmp_path / "proxy.keys", {3: KEYS[3]}, mode=0o640)
    with proxy(
        "--upstream", f"127.0.0.1:{chronyd.port}", "--keys", str(keys), "--require-auth"
    ) as daemon:
        synchronised(daemon)
        port = daemon.address("ntp", "listen")[1]
        with pytest.raises(ntplib.NTPException):
            ask(daemon, timeout=0.5)
        assert chronyd_client_with([f"keyfile {keys}"], port, "key 3") is not None
        counts = health(daemon)[1]["counters"]
        assert counts["dropped_unauthenticated"] == 1 and counts["replies_authenticated"] >= 1
        assert counts["replies"] == counts["replies_authenticated"]


def test_upstream_key_signs_polls_and_checks_replies(tmp_path: Path) -> None:
    shared = key_file(tmp_path / "upstream.keys", {4: KEYS[4], 9: KEYS[2]})
    upstream = Chronyd(tmp_path / "chronyd", free_udp_port(), f"keyfile {shared}").start()
    try:
        with proxy(
            "--upstream", f"127.0.0.1:{upstream.port}", "--keys", str(shared),
            "--upstream-key", "4",
        ) as daemon:  # fmt: skip
            synchronised(daemon)
            assert health(daemon)[1]["counters"]["upstream_invalid"] == 0
        mismatched = key_file(tmp_path / "other.keys", {4: f"AES128 HEX:{'00' * 16}"})
        with proxy(
            "--upstream", f"127.0.0.1:{upstream.port}", "--keys", str(mismatched),
            "--upstream-key", "4",
        ) as daemon:  # fmt: skip
            daemon.wait_for(lambda line: line["event"] == "ntp.upstream_unreachable")
            time.sleep(1.5)  # chronyd does not answer a request whose MAC fails
            status, body = health(daemon)
            assert status == 503 and body["counters"]["upstream_errors"] >= 3
            assert not daemon.events("ntp.synchronised")
    finally:
        upstream.stop()


def key_text(keys: dict[int, str]) -> str:
    """A key file's text as Secrets Manager hands it to ECS: comments, CRLF, no final newline."""
    lines = ["# edge-bridge NTP keys", *(f"{key_id}  {spec}" for key_id, spec in keys.items())]
    return "\r\n".join(lines)


def test_keys_from_the_environment_serve_chronyd(chronyd: Chronyd, tmp_path: Path) -> None:
    """On Fargate the keys come from a secret in EDGE_BRIDGE_KEYS_TEXT, not from a file."""
    served = {2: KEYS[2], 4: KEYS[4]}
    client_keys = key_file(tmp_path / "client.keys", {**served, 7: KEYS[1]})
    env = {"EDGE_BRIDGE_KEYS_TEXT": key_text(served)}
    with proxy("--upstream", f"127.0.0.1:{chronyd.port}", "--require-auth", env=env) as daemon:
        synchronised(daemon)
        port = daemon.address("ntp", "listen")[1]
        with ThreadPoolExecutor(3) as pool:
            sha1, aes, unknown = pool.map(
                lambda key_id: chronyd_client_with(
                    [f"keyfile {client_keys}"], port, f"key {key_id}", maxsamples=2, timeout=5
                ),
                (2, 4, 7),
            )
        assert sha1 is not None and abs(sha1) < 0.001, "chronyd refused the SHA1-signed time"
        assert aes is not None and abs(aes) < 0.001, "chronyd refused the AES-CMAC-signed time"
        assert unknown is None, "a key the secret does not hold must get no time"
        counts = health(daemon)[1]["counters"]
        assert counts["replies_authenticated"] >= 4 and counts["auth_unknown_key"] >= 1
        assert daemon.stop() == 0
    output = daemon.stderr + str(daemon.lines())
    assert "HEX:" not in output and AES_HEX not in output.upper()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"# keys\n1 MD5 HEX:{AES_HEX}\n2 SHA1 HEX:{AES_HEX[:-1]}", "key text line 3: HEX:"),
        (f"1 AES128 HEX:{AES_HEX}00", "key text line 1: AES128 keys are 16 bytes"),
        (f"1 MD4 ASCII:{AES_HEX}", "key text line 1: unknown type"),
        (f"1 MD5 HEX:{AES_HEX}\n1 SHA1 HEX:{AES_HEX}", "line 2: key 1 defined twice"),
        ("# rotated out, nothing left\n", "key text holds no keys"),
        (f"1 MD5 ASCII:{AES_HEX}\u00e9", "key text is not ASCII"),
    ],
)
def test_bad_key_text_stops_with_one_line_and_no_key(text: str, message: str) -> None:
    result = run_command(["ntp"], env={"EDGE_BRIDGE_KEYS_TEXT": text})
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert "invalid EDGE_BRIDGE_KEYS_TEXT (value not shown)" in result.stderr
    assert message in result.stderr
    assert AES_HEX[:8] not in result.stderr.upper()  # no part of any key


@pytest.mark.parametrize(
    ("args", "mode", "message"),
    [
        (["--require-auth"], None, "--require-auth needs --keys"),
        (["--keys", "{keys}"], 0o644, "readable by others"),
        (["--keys", "{keys}", "--mode", "relay"], 0o600, "serve mode only"),
        (["--keys", "{missing}"], None, "No such file"),
        (["--upstream-key", "3"], None, "--upstream-key needs --keys"),
        (["--keys", "{keys}", "--upstream-key", "99"], 0o600, "99 is not in --keys"),
        (["--keys", "{keys}", "--keys-text", "1 tulip"], 0o600, "both given"),
        (["--keys-text", "1 tulip", "--mode", "relay"], None, "--keys-text works in serve mode"),
        (["--keys-text", "1 tulip", "--upstream-key", "3"], None, "3 is not in --keys-text"),
    ],
)
def test_bad_key_settings_stop_with_one_line(
    tmp_path: Path, args: list[str], mode: int | None, message: str
) -> None:
    keys = key_file(tmp_path / "proxy.keys", KEYS, mode or 0o600)
    paths = {"keys": str(keys), "missing": str(tmp_path / "missing")}
    result = run_command(["ntp", *(arg.format(**paths) for arg in args)])
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "HEX:" not in result.stderr and "correcthorse" not in result.stderr
    assert "tulip" not in result.stderr
