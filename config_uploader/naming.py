"""Which router an upload is filed under: the names the upload claims, checked against what
the client cannot choose (its source address and its credential).

Claims come from :func:`config_uploader.identity.identify` (the ``router`` query parameter or
Oxidized's ``node``, the file name, the hostname inside the config). The inventory
(``--router IP=NAME``, ``--inventory FILE``) binds names to source addresses and to per-router
credentials, and a binding beats a claim:

1. an upload whose router credential and source address are bound to two different routers
   is refused;
2. an upload bound to a router (by its credential, else by its address) is filed under that
   router; it is refused when it claims another router's name: explicitly, or by a file name
   or hostname that is another inventory router's (a file name or hostname the inventory does
   not know is kept as ``claimed`` in ``config.received``);
3. an unbound upload is filed under its claim, unless the claimed name is bound in the
   inventory (only its addresses or credential may use it; a collector's ``uploader``
   credential may); without a claim, under its source address.

A refusal is ``BodyError("identity")``: HTTP 403, counted as ``rejected_identity``.
"""

from __future__ import annotations

from bridge.guard import unmapped
from bridge.inventory import Inventory
from config_uploader import identity
from config_uploader.body import BodyError
from config_uploader.ingest import Naming, Upload
from config_uploader.vendor import Vendor


class Namer:
    """:data:`config_uploader.ingest.NameRouter` over the router inventory."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.known = {
            name
            for key in inventory.names()
            if (name := identity.canonical_name(inventory.routers[key].name))
        }

    def address_name(self, source_ip: str) -> str | None:
        key = self.inventory.name_for(source_ip)
        return identity.canonical_name(self.inventory.routers[key].name) if key else None

    def __call__(self, upload: Upload, text: str, kind: Vendor) -> Naming:
        # A part's filename below the URL's directories: /upload/RTX1210/edge1/ + "261130.txt".
        where = "/".join(p for p in (upload.path, upload.filename) if p)
        claim = identity.identify(upload.router_hint, where, text, kind)
        principal = upload.principal
        by_credential = (
            identity.canonical_name(principal.router)
            if principal is not None and principal.role == "router"
            else None
        )
        by_address = self.address_name(upload.source_ip)
        if by_credential and by_address and by_credential != by_address:
            raise BodyError(
                "identity", f"credential of {by_credential} used from the address of {by_address}"
            )
        bound = by_credential or by_address
        if bound:
            how = "credential" if by_credential else "address"
            if claim is None or claim.name == bound:
                return Naming(bound, how)
            if claim.source == "explicit" or claim.name in self.known:
                raise BodyError(
                    "identity", f"upload bound to {bound} (by {how}) claims {claim.name}"
                )
            return Naming(bound, how, claimed=claim.name)
        if claim is None:
            return Naming(address_as_name(upload.source_ip), "source_ip")
        collector = principal is not None and principal.role == "uploader"
        if claim.name in self.known and not collector:
            raise BodyError("identity", f"{claim.name} is bound to its own addresses or credential")
        return Naming(claim.name, claim.source)


def bare_ip(source_ip: str) -> str:
    """The address without a zone and without the IPv4-mapped prefix."""
    return unmapped(source_ip.split("%")[0])


def address_as_name(source_ip: str) -> str:
    """A router name made of its address: IPv6 colons become dashes, a leading one a zero."""
    fallback = bare_ip(source_ip).replace(":", "-")
    name = identity.canonical_name("0" + fallback if fallback.startswith("-") else fallback)
    return name or "unknown"
