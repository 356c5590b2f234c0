"""Who may do what: HTTP Basic credentials, kept only as argon2 hashes, each with one role.

* ``router``: a router's own credential (``credential`` in the inventory; the user name is the
  router's name). It uploads for that router only.
* ``uploader``: a collector's credential (``--basic-auth``, ``--basic-auth-file``), such as
  Oxidized's, which uploads for many routers (address bindings still apply).
* ``reader``: an auditor's credential (``--reader-auth``, ``--reader-auth-file``); the read API
  takes nothing else, and readers cannot upload.

Passwords given in the environment (ECS injects them from Secrets Manager) are hashed at start
and forgotten; files hold ``user:HASH`` lines only. A password is checked with argon2's
verify (constant time in the hash), unknown users against a dummy hash so the time says
nothing about which users exist. Argon2 is meant to be slow (tens of ms and 19 MiB a check):
checks run in a worker thread, two at a time, and a credential that passed once is
remembered (by a SHA-256 of user and password), so a router's next upload costs a dict lookup.

``edge-bridge credentials hash`` reads a password on stdin and prints its hash;
``edge-bridge credentials generate DIR`` writes a random uploader and reader password and
their hash files (what docker-compose.yml runs once).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import os
import secrets
import sys
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from config_uploader.ingest import Principal, Role

# OWASP's recommended argon2id minimum: 19 MiB, 2 passes, 1 lane.
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
REMEMBERED = 1024
CHECKS_AT_ONCE = 2


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def check_hash(text: str) -> str:
    """``text`` if it is an argon2 hash this library can verify, else ``ValueError``."""
    try:
        HASHER.verify(text, "")
    except VerifyMismatchError:
        return text
    except (InvalidHashError, VerificationError):
        pass
    raise ValueError("not an argon2 hash (make one with: edge-bridge credentials hash)")


def read_hash_file(path: str) -> list[tuple[str, str]]:
    """The ``user:HASH`` lines of a file (blank lines and ``#`` comments skipped)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(str(exc)) from None
    pairs = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, hashed = line.partition(":")
        if not sep or not user:
            raise ValueError("expected user:HASH lines")
        pairs.append((user, check_hash(hashed)))
    if not pairs:
        raise ValueError("no user:HASH line")
    return pairs


@dataclass(frozen=True)
class Entry:
    hashed: str
    principal: Principal


class CredentialBook:
    """Every credential the daemon accepts; ``enabled`` once there is any."""

    def __init__(self, entries: Iterable[tuple[str, str, Role, str | None]] = ()) -> None:
        self._entries: dict[str, Entry] = {}
        for user, hashed, role, router in entries:
            if user in self._entries:
                raise ValueError(f"user {user!r} is given twice")
            self._entries[user] = Entry(hashed, Principal(user, role, router))
        self._dummy = hash_password(secrets.token_urlsafe(16))
        self._passed: OrderedDict[bytes, Principal] = OrderedDict()
        self._checks = asyncio.Semaphore(CHECKS_AT_ONCE)

    @property
    def enabled(self) -> bool:
        return bool(self._entries)

    def has(self, role: Role) -> bool:
        return any(entry.principal.role == role for entry in self._entries.values())

    def remembered(self, header: str | None) -> Principal | None:
        """The principal of a credential that passed :meth:`check` before (no argon2 run)."""
        pair = basic_pair(header)
        if pair is None:
            return None
        key = _key(*pair)
        known = self._passed.get(key)
        if known is not None:
            self._passed.move_to_end(key)
        return known

    async def check(self, header: str | None) -> Principal | None:
        """The principal a ``Basic`` Authorization header proves, or None."""
        pair = basic_pair(header)
        if pair is None:
            return None
        user, password = pair
        key = _key(user, password)
        known = self._passed.get(key)
        if known is not None:
            self._passed.move_to_end(key)
            return known
        entry = self._entries.get(user)
        hashed = entry.hashed if entry is not None else self._dummy
        async with self._checks:
            ok = await asyncio.to_thread(_verify, hashed, password)
        if not ok or entry is None:
            return None
        self._passed[key] = entry.principal
        if len(self._passed) > REMEMBERED:
            self._passed.popitem(last=False)
        return entry.principal


def _key(user: str, password: str) -> bytes:
    return hashlib.sha256(f"{len(user)}:{user}:{password}".encode()).digest()


def _verify(hashed: str, password: str) -> bool:
    try:
        return HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def basic_pair(header: str | None) -> tuple[str, str] | None:
    """(user, password) of a ``Basic`` Authorization header, or None."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        given = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user, sep, password = given.partition(":")
    return (user, password) if sep else None


def generate(directory: Path) -> None:
    """A random uploader and reader password (``*.password``, for people and routers) and
    their hash files (``uploaders``, ``readers``, for the daemon); kept if already there."""
    directory.mkdir(parents=True, exist_ok=True)
    for user, role_file in (("uploader", "uploaders"), ("auditor", "readers")):
        target = directory / role_file
        if target.exists():
            continue
        password = secrets.token_urlsafe(24)
        secret = directory / f"{user}.password"
        secret.write_text(f"{user}:{password}\n", encoding="utf-8")
        os.chmod(secret, 0o600)
        target.write_text(f"{user}:{hash_password(password)}\n", encoding="utf-8")


def main(argv: Sequence[str]) -> int:
    """``edge-bridge credentials hash`` | ``edge-bridge credentials generate DIR``."""
    if list(argv[:1]) == ["hash"] and len(argv) == 1:
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            print("edge-bridge credentials: empty password", file=sys.stderr)
            return 2
        print(hash_password(password))
        return 0
    if list(argv[:1]) == ["generate"] and len(argv) == 2:
        generate(Path(argv[1]))
        return 0
    print("usage: edge-bridge credentials hash < password | generate DIR", file=sys.stderr)
    return 2
