"""Key files, MAC parsing, checking and signing, and the responder's authenticated answers."""

from __future__ import annotations

import hashlib
import ipaddress
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import algorithms
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.guard import Allowlist, RateLimiter
from bridge.metrics import Counters
from ntp_proxy.auth import Authenticator, Check, find_mac, measure_mac_delays
from ntp_proxy.exchange import InvalidReply, sample_from_reply
from ntp_proxy.exchange import request as upstream_request
from ntp_proxy.keys import MAX_KEY_ID, TYPES, KeyFileError, keys_from_text, load_keys, parse_keys
from ntp_proxy.packet import HEADER_LEN, Packet, decode, encode, to_ntp
from ntp_proxy.responder import COUNTERS, Responder, Verdict
from tests.test_ntp_responder import NOW, synced_clock

MD5_HEX = "B028F91EA5C38D06C2E140B26C7F41EC"
AES_HEX = "6D5F3A1B2C4D5E6F708192A3B4C5D6E7"
KEY_FILE = f"""# keys shared with the routers
1 MD5 HEX:{MD5_HEX}
2 SHA1 HEX:1DC764E0791B11FA67EFC7ECBC4B0D73F68A070C
3 SHA256 ASCII:correcthorsebatterystaple
 4 AES128 HEX:{AES_HEX}
5 AES256 HEX:{AES_HEX * 2}
6 tulip
! a comment in chrony's other style
7 sha512 HEX:{MD5_HEX}
"""
KEYS = parse_keys(KEY_FILE.splitlines())


def request(version: int = 4, extra: bytes = b"") -> bytes:
    return encode(Packet(version=version, mode=3, transmit=to_ntp(NOW) | 0x55)) + extra


def reference_mac(data: bytes, secret: bytes, algorithm: str) -> bytes:
    """The MAC as chronyd and ntpd compute it, independently of ntp_proxy."""
    if algorithm == "cmac":
        signer = cmac.CMAC(algorithms.AES(secret))
        signer.update(data)
        return signer.finalize()
    return hashlib.new(algorithm, secret + data).digest()


def signed(key_id: int, secret: bytes, algorithm: str, version: int = 4, digest: int = 0) -> bytes:
    """A request signed the way chronyd and ntpd sign theirs."""
    data = request(version)
    mac = reference_mac(data, secret, algorithm)
    return data + key_id.to_bytes(4, "big") + mac[: digest or (20 if version == 4 else 64)]


def test_key_file_forms_and_types() -> None:
    assert sorted(KEYS) == [1, 2, 3, 4, 5, 6, 7]
    assert (KEYS[1].kind, KEYS[1].secret) == ("MD5", bytes.fromhex(MD5_HEX))
    assert (KEYS[3].kind, KEYS[3].secret) == ("SHA256", b"correcthorsebatterystaple")
    assert (KEYS[6].kind, KEYS[6].secret) == ("MD5", b"tulip")  # chrony's default type
    assert [KEYS[i].length for i in range(1, 8)] == [16, 20, 32, 16, 16, 16, 64]
    assert "tulip" not in repr(KEYS[6]) and MD5_HEX not in repr(KEYS[1]).upper()


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("0 MD5 HEX:00112233", "key ID"),
        ("4294967296 MD5 abc", "key ID"),
        ("x MD5 secretword", "expected ID"),
        ("1 MD5 HEX:zz11", "not hexadecimal"),
        ("1 MD4 secretword", "unknown type"),
        ("1 AES128 HEX:00112233", "16 bytes"),
        ("1 MD5 secret word extra", "expected ID"),
        ("1 MD5 ASCII:", "empty key"),
    ],
)
def test_bad_key_lines_are_named_by_number_never_shown(line: str, reason: str) -> None:
    with pytest.raises(KeyFileError) as caught:
        parse_keys(["# first", line], "keys.txt")
    message = str(caught.value)
    assert message.startswith("keys.txt line 2: ") and reason in message
    assert "secret" not in message and "00112233" not in message and "zz11" not in message


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(KeyFileError, match="line 2: key 1 defined twice"):
        parse_keys(["1 MD5 one", "1 SHA1 two"])


def test_key_file_permissions_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "chrony.keys"
    path.write_text(KEY_FILE)
    for mode in (0o644, 0o604, 0o660, 0o622):
        os.chmod(path, mode)
        with pytest.raises(KeyFileError, match=f"mode {mode:04o}"):
            load_keys(path)
    for mode in (0o600, 0o640, 0o400):
        os.chmod(path, mode)
        assert sorted(load_keys(path)) == sorted(KEYS)
    with pytest.raises(KeyFileError, match="No such file"):
        load_keys(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.write_text("# nothing\n")
    os.chmod(empty, 0o600)
    with pytest.raises(KeyFileError, match="no keys"):
        load_keys(empty)


# Key values that can never occur in an error's fixed wording: whatever the line, an error
# must not show one.
KEY_VALUES = st.one_of(
    st.text("0123456789abcdefxyz", min_size=8, max_size=70).map(lambda k: "HEX:" + k),
    st.text("abcdefghijkQ0123456789", min_size=4, max_size=40).map(lambda k: "ASCII:Q" + k),
    st.text("abcdefghijk0123456789", min_size=6, max_size=40).map(lambda k: "pw7" + k),
)
KEY_LINES = st.tuples(
    st.integers(-1, 2**32 + 1).map(str) | st.sampled_from(["x", "", "#", "01"]),
    st.sampled_from([*TYPES, "md5", "MD4", "AES", ""]),
    KEY_VALUES,
).map(" ".join)


@settings(max_examples=300)
@given(st.lists(KEY_LINES, max_size=6), st.sampled_from(["\n", "\r\n"]))
def test_key_text_gives_keys_or_an_error_without_a_key(lines: list[str], end: str) -> None:
    text = end.join(lines)
    try:
        keys = keys_from_text(text, "key text")
    except KeyFileError as exc:
        message = str(exc)
        assert message.startswith("key text ") and "\n" not in message
        for line in lines:
            assert line.split()[-1] not in message
    else:
        assert keys and all(1 <= key_id <= MAX_KEY_ID for key_id in keys)
        assert keys == parse_keys(lines)  # the file's parser, line for line


@pytest.mark.parametrize(
    ("key_id", "algorithm", "version", "digest"),
    [
        (1, "md5", 4, 16),
        (2, "sha1", 4, 20),
        (3, "sha256", 4, 20),  # NTPv4: truncated to 20 bytes (RFC 7822, chrony)
        (3, "sha256", 3, 32),  # NTPv3: the whole digest
        (3, "sha256", 4, 32),  # a whole digest in NTPv4 (ntpd) is accepted too
        (4, "cmac", 4, 16),
        (5, "cmac", 4, 16),
        (6, "md5", 2, 16),
        (7, "sha512", 4, 20),
        (7, "sha512", 3, 64),
    ],
)
def test_valid_macs_are_accepted_and_replies_signed_alike(
    key_id: int, algorithm: str, version: int, digest: int
) -> None:
    data = signed(key_id, KEYS[key_id].secret, algorithm, version, digest)
    authenticator = Authenticator(KEYS)
    assert authenticator.check(data) is Check.OK
    mac = find_mac(data)
    assert mac is not None and mac.key_id == key_id and mac.start == HEADER_LEN
    reply = authenticator.sign(bytes(range(48)), mac)
    assert len(reply) == len(data)  # never larger than the request
    expected = reference_mac(bytes(range(48)), KEYS[key_id].secret, algorithm)[:digest]
    assert reply[48:] == key_id.to_bytes(4, "big") + expected


def test_wrong_key_unknown_key_and_tampering() -> None:
    authenticator = Authenticator(KEYS)
    good = signed(1, KEYS[1].secret, "md5")
    assert authenticator.check(signed(1, b"not the key", "md5")) is Check.BAD_MAC
    assert authenticator.check(signed(99, KEYS[1].secret, "md5")) is Check.UNKNOWN_KEY
    tampered = bytearray(good)
    tampered[47] ^= 1  # the transmit timestamp the MAC covers
    assert authenticator.check(bytes(tampered)) is Check.BAD_MAC
    assert authenticator.check(good[:-4] + bytes(4)) is Check.BAD_MAC
    # an MD5 key with a SHA-1-sized digest: wrong length, refused before comparing
    assert authenticator.check(request() + b"\0\0\0\1" + bytes(20)) is Check.BAD_MAC
    assert Authenticator({}).check(good) is Check.UNKNOWN_KEY


def test_mac_after_extension_fields_and_tails_that_are_no_mac() -> None:
    extension = b"\x01\x04\x00\x20" + b"E" * 28
    data = request(extra=extension)
    secret = KEYS[2].secret
    full = data + b"\0\0\0\2" + hashlib.sha1(secret + data).digest()
    mac = find_mac(full)
    assert mac is not None and (mac.key_id, mac.start) == (2, HEADER_LEN + 32)
    assert Authenticator(KEYS).check(full) is Check.OK
    assert find_mac(request()) is None
    assert find_mac(request(extra=extension)) is None
    assert find_mac(request(extra=b"\x00\x04\x00\x10" + b"\xee" * 12)) is None  # 16: no MAC
    assert find_mac(request(extra=b"abc")) is None
    assert find_mac(request(extra=bytes(72))) is None  # too long for a MAC


@settings(max_examples=400)
@given(st.binary(min_size=HEADER_LEN, max_size=200))
def test_check_never_crashes(data: bytes) -> None:
    check = Authenticator(KEYS).check(data)
    mac = find_mac(data)
    assert (check is Check.NONE) == (mac is None)
    if mac is not None:
        assert HEADER_LEN <= mac.start < len(data) and mac.start % 4 == 0


def test_mac_delays_are_measured_per_key() -> None:
    ticks = iter(range(1000))
    delays = measure_mac_delays(KEYS, lambda: float(next(ticks)))
    assert delays == dict.fromkeys(KEYS, 1.0)


def responder(require_auth: bool = False, rate: float = 0.0) -> Responder:
    return Responder(
        synced_clock(),
        Counters(*COUNTERS),
        precision=-22,
        allowlist=Allowlist([ipaddress.ip_network("10.0.0.0/8")]),
        limiter=RateLimiter(rate, 2.0),
        deny_kod=False,
        authenticator=Authenticator(KEYS, {1: 3e-6}),
        require_auth=require_auth,
    )


def test_responder_signs_naks_and_counts() -> None:
    serve = responder()
    good = signed(1, KEYS[1].secret, "md5")
    assert serve.screen(good, "10.0.0.1", NOW) is Verdict.SIGNED
    reply = serve.signed_reply(good, NOW, NOW + 1e-4)
    assert len(reply) == HEADER_LEN + 20 and reply[48:52] == b"\0\0\0\1"
    assert Authenticator(KEYS).check(reply) is Check.OK  # a client would accept it
    fields = decode(reply)
    assert (fields.stratum, fields.origin) == (4, decode(good).transmit)
    stamp_delay = (fields.transmit - to_ntp(NOW + 1e-4 + 0.25)) / 2**32
    assert stamp_delay == pytest.approx(3e-6, abs=1e-6)  # the signing time is added

    bad = signed(1, b"wrong", "md5")
    assert serve.screen(bad, "10.0.0.1", NOW) is Verdict.CRYPTO_NAK
    nak = serve.crypto_nak(bad, NOW, NOW)
    assert len(nak) == HEADER_LEN + 4 and nak[48:] == bytes(4)
    assert decode(nak).origin == decode(bad).transmit
    assert serve.screen(signed(42, b"x", "md5"), "10.0.0.1", NOW) is Verdict.CRYPTO_NAK
    assert serve.screen(request(), "10.0.0.1", NOW) is Verdict.SERVE
    counts = serve.counters.snapshot()
    assert counts["replies_authenticated"] == 1 and counts["crypto_nak_sent"] == 2
    assert (counts["auth_bad_mac"], counts["auth_unknown_key"]) == (1, 1)


def test_require_auth_drops_unsigned_requests() -> None:
    strict = responder(require_auth=True)
    assert strict.screen(request(), "10.0.0.1", NOW) is Verdict.DROP
    assert strict.screen(request(extra=b"xyz"), "10.0.0.1", NOW) is Verdict.DROP
    assert strict.screen(signed(2, KEYS[2].secret, "sha1"), "10.0.0.1", NOW) is Verdict.SIGNED
    assert strict.counters.snapshot()["dropped_unauthenticated"] == 2


def test_rate_limit_comes_before_the_mac_check() -> None:
    limited = responder(rate=0.001)
    bad = signed(1, b"wrong", "md5")
    verdicts = [limited.screen(bad, "10.0.0.1", NOW) for _ in range(10)]
    assert verdicts.count(Verdict.CRYPTO_NAK) == 2  # the burst; then no MAC is computed
    assert limited.counters.snapshot()["auth_bad_mac"] == 2


def test_upstream_requests_are_signed_and_replies_must_be() -> None:
    key = KEYS[3]
    query = upstream_request(0xABCDEF, 4, key)
    assert Authenticator(KEYS).check(query) is Check.OK and len(query) == HEADER_LEN + 24
    assert upstream_request(0xABCDEF, 4) == query[:HEADER_LEN]
    header = encode(
        Packet(
            version=4,
            mode=4,
            stratum=1,
            precision=-20,
            refid=b"GPS\0",
            origin=0xABCDEF,
            receive=to_ntp(NOW),
            transmit=to_ntp(NOW),
        )
    )
    mac = find_mac(query)
    assert mac is not None
    replies = {
        "signed": Authenticator(KEYS).sign(header, mac),
        "unsigned": header,
        "crypto-NAK": header + bytes(4),
        "other key": Authenticator(KEYS).sign(header, mac)[:-1] + b"\0",
    }
    outcomes = {}
    for name, reply in replies.items():
        try:
            sample_from_reply(
                reply,
                nonce=0xABCDEF,
                sent=NOW,
                received=NOW,
                local_precision=-20,
                upstream="u",
                refid=b"\x7f\0\0\1",
                key=key,
            )
            outcomes[name] = "ok"
        except InvalidReply as exc:
            outcomes[name] = exc.reason
    assert outcomes == {
        "signed": "ok",
        "unsigned": "auth",
        "crypto-NAK": "auth",
        "other key": "auth",
    }
