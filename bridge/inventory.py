"""The router inventory: names bound to what a client cannot choose.

``--router IP=NAME`` names one address; ``--inventory FILE`` names a fleet, in TOML::

    [[router]]
    name = "dc1-rtr1"
    addresses = ["10.0.0.1", "2001:db8::1"]
    credential = "$argon2id$v=19$m=19456,t=2,p=1$..."   # optional: its own upload password

Each address belongs to one router; a credential is a password hash (``edge-bridge credentials
hash`` makes one), never the password. The daemons name a peer by its address from here, and the
config uploader also refuses an upload that claims a name bound to another address or
credential.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROUTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


@dataclass(frozen=True)
class InventoryRouter:
    name: str
    addresses: tuple[str, ...] = ()
    credential: str | None = None
    """A password hash (argon2), or None when the router has no credential of its own."""


def canonical_ip(text: str) -> str:
    """An address as written by :mod:`ipaddress`, IPv4-mapped IPv6 as IPv4, without a zone."""
    address = ipaddress.ip_address(text.strip().split("%")[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address)


def router_name(text: str) -> str:
    if not ROUTER_NAME.match(text):
        raise ValueError(f"router name {text!r}: letters, digits, '.', '_' and '-'")
    return text


def read_inventory(path: str) -> tuple[InventoryRouter, ...]:
    """The routers of an inventory file; ``ValueError`` naming the first problem."""
    if not path.strip():
        return ()
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(str(exc)) from None
    entries = doc.get("router", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError("expected [[router]] tables")
    routers = []
    for entry in entries:
        unknown = set(entry) - {"name", "addresses", "credential"}
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(sorted(unknown))}")
        name = entry.get("name")
        addresses = entry.get("addresses", [])
        credential = entry.get("credential")
        if not isinstance(name, str):
            raise ValueError("every [[router]] needs a name")
        if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
            raise ValueError(f"{name}: addresses must be a list of strings")
        if credential is not None and not (
            isinstance(credential, str) and credential.startswith("$argon2")
        ):
            raise ValueError(f"{name}: credential must be an argon2 hash")
        routers.append(
            InventoryRouter(
                router_name(name), tuple(canonical_ip(a) for a in addresses), credential
            )
        )
    return tuple(routers)


def address_entries(routers: Iterable[InventoryRouter]) -> list[tuple[str, str]]:
    """``(ip, name)`` for every address of every router, as ``--router IP=NAME`` gives them."""
    return [(ip, router.name) for router in routers for ip in router.addresses]


class Inventory:
    """Routers by name and by address, from ``--router`` entries and the inventory file."""

    def __init__(
        self,
        routers: Iterable[InventoryRouter] = (),
        entries: Iterable[tuple[str, str]] = (),
    ) -> None:
        merged: dict[str, InventoryRouter] = {}
        for router in [*routers, *(InventoryRouter(n, (canonical_ip(ip),)) for ip, n in entries)]:
            key = router.name.lower()
            known = merged.get(key)
            if known is not None:
                router = InventoryRouter(
                    known.name, known.addresses + router.addresses, known.credential
                )
            merged[key] = router
        self.routers = merged
        self._by_address: dict[str, str] = {}
        for key, router in merged.items():
            for ip in router.addresses:
                other = self._by_address.setdefault(ip, key)
                if other != key:
                    raise ValueError(f"address {ip} is given to both {other} and {key}")

    def __bool__(self) -> bool:
        return bool(self.routers)

    def name_for(self, ip: str) -> str | None:
        """The router bound to a source address (lower-cased), or None."""
        if not self._by_address:
            return None
        try:
            return self._by_address.get(canonical_ip(ip))
        except ValueError:
            return None

    def names(self) -> list[str]:
        return sorted(self.routers)
