"""Symmetric NTP keys read from a chrony key file, and the MAC each one computes.

The file is chrony's own (``keyfile`` in chrony.conf), so one file serves both chronyd and the
proxy: ``ID [TYPE] KEY`` per line, the key as ``HEX:...``, ``ASCII:...`` or bare ASCII, the
type a hash (MD5 when omitted; the MAC is ``H(key || packet)``, RFC 5905 appendix A.2) or a
cipher (AES128/AES256: AES-CMAC of the packet, RFC 8573). Keys are secrets: an error names the
file and the line number, never the line.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import algorithms

MAX_KEY_ID = 0xFFFF_FFFF
MAX_LINE = 2047  # chrony's limit
_HASHES = {
    "MD5": "md5",
    "SHA1": "sha1",
    "SHA256": "sha256",
    "SHA384": "sha384",
    "SHA512": "sha512",
    "SHA3-224": "sha3_224",
    "SHA3-256": "sha3_256",
    "SHA3-384": "sha3_384",
    "SHA3-512": "sha3_512",
}
_CIPHERS = {"AES128": 16, "AES256": 32}
TYPES = (*_HASHES, *_CIPHERS)


class KeyFileError(ValueError):
    """A key file that cannot be used; the message is safe to print (no key material)."""


@dataclass(frozen=True, slots=True)
class Key:
    """One key: ``mac(data)`` is its full-length MAC of ``data``."""

    key_id: int
    kind: str
    secret: bytes = field(repr=False)
    mac: Callable[[bytes], bytes] = field(repr=False, compare=False)
    length: int = 0  # bytes of MAC the algorithm produces


def make_key(key_id: int, kind: str, secret: bytes) -> Key:
    """A :class:`Key`; ``ValueError`` for an unknown type or a cipher key of the wrong size."""
    kind = kind.upper()
    if not 1 <= key_id <= MAX_KEY_ID:
        raise ValueError("key ID must be 1-4294967295")
    if not secret:
        raise ValueError("empty key")
    if kind in _HASHES:
        name = _HASHES[kind]

        def digest(data: bytes) -> bytes:
            return hashlib.new(name, secret + data, usedforsecurity=False).digest()

        length = hashlib.new(name, usedforsecurity=False).digest_size
        return Key(key_id, kind, secret, digest, length)
    if kind in _CIPHERS:
        if len(secret) != _CIPHERS[kind]:
            raise ValueError(f"{kind} keys are {_CIPHERS[kind]} bytes")
        cipher = algorithms.AES(secret)

        def cmac_of(data: bytes) -> bytes:
            signer = cmac.CMAC(cipher)
            signer.update(data)
            return signer.finalize()

        return Key(key_id, kind, secret, cmac_of, 16)
    raise ValueError("unknown type (expected one of " + ", ".join(TYPES) + ")")


def _secret(text: str) -> bytes:
    if text.startswith("HEX:"):
        try:
            return bytes.fromhex(text[4:])
        except ValueError:
            raise ValueError("HEX: key is not hexadecimal") from None
    if text.startswith("ASCII:"):
        text = text[6:]
    if not text.isascii():
        raise ValueError("key is not ASCII")
    return text.encode("ascii")


def parse_keys(lines: Iterable[str], source: str = "key file") -> dict[int, Key]:
    """Keys by ID from chrony key-file lines; :class:`KeyFileError` names only line numbers."""
    keys: dict[int, Key] = {}
    for number, raw in enumerate(lines, 1):
        words = raw.split()
        if not words or words[0][0] in "#!;%":
            continue
        try:
            if len(raw) > MAX_LINE:
                raise ValueError("line too long")
            if len(words) == 2:
                words.insert(1, "MD5")
            if len(words) != 3 or not words[0].isdigit():
                raise ValueError("expected ID [TYPE] KEY")
            key = make_key(int(words[0]), words[1], _secret(words[2]))
            if key.key_id in keys:
                raise ValueError(f"key {key.key_id} defined twice")
        except ValueError as exc:
            raise KeyFileError(f"{source} line {number}: {exc}") from None
        keys[key.key_id] = key
    return keys


def keys_from_text(text: str, source: str) -> dict[int, Key]:
    """The keys of a whole key file's text: at least one, or :class:`KeyFileError`.

    The text comes from a file or, on Fargate (no host files, a read-only root), from a
    Secrets Manager secret that ECS puts in the environment (``--keys-text``).
    """
    if not text.isascii():
        raise KeyFileError(f"{source} is not ASCII")
    keys = parse_keys(text.splitlines(), source)
    if not keys:
        raise KeyFileError(f"{source} holds no keys")
    return keys


def load_keys(path: Path) -> dict[int, Key]:
    """Read a key file that nobody but its owner (and group) can read or write.

    chrony ships its key file as 0640 root:_chrony; anything looser (world-readable, or
    writable by group or others) is refused rather than used, as ssh does with private keys.
    """
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError(f"{path} is not a regular file")
        if info.st_mode & 0o027:
            raise KeyFileError(
                f"{path} is readable by others or writable by group or others "
                f"(mode {stat.S_IMODE(info.st_mode):04o}); chmod 600 or 640 it"
            )
        text = path.read_bytes().decode("ascii", errors="replace")
    except OSError as exc:
        raise KeyFileError(f"{path}: {exc.strerror}") from None
    return keys_from_text(text, str(path))


def key_text(text: str) -> str:
    """``--keys-text``: checked when the settings are read, so a bad secret stops the start;
    empty means no keys, as an unset option does."""
    if text:
        keys_from_text(text, "key text")
    return text
