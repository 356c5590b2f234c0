"""Which router an upload is filed under: the names the upload claims, checked against what
the client cannot choose (its source address and its credential).

Claims come from :func:`config_uploader.identity.identify` (the ``router`` query parameter or
Oxidized's ``node``, the file name, the hostname inside the config). The router inventory
(``--router IP=NAME`` and ``--inventory FILE``) binds names to source addresses and to
per-router credentials; see :meth:`Namer.name`.
"""

from __future__ import annotations

from bridge.guard import unmapped
from config_uploader import identity
from config_uploader.ingest import Naming, Upload
from config_uploader.vendor import Vendor


class Namer:
    """:data:`config_uploader.ingest.NameRouter` over a static source-IP -> name map."""

    def __init__(self, by_address: dict[str, str]) -> None:
        self.by_address = {ip: name for ip, name in by_address.items()}

    def address_name(self, source_ip: str) -> str | None:
        ip = bare_ip(source_ip)
        named = self.by_address.get(ip)
        return identity.canonical_name(named) if named else None

    def __call__(self, upload: Upload, text: str, kind: Vendor) -> Naming:
        """Explicit, file name, config, static map, then the address itself."""
        # A part's filename below the URL's directories: /upload/RTX1210/edge1/ + "261130.txt".
        where = "/".join(p for p in (upload.path, upload.filename) if p)
        found = identity.identify(upload.router_hint, where, text, kind)
        if found is not None:
            return Naming(found.name, found.source)
        named = self.address_name(upload.source_ip)
        if named:
            return Naming(named, "static")
        return Naming(address_as_name(upload.source_ip), "source_ip")


def bare_ip(source_ip: str) -> str:
    """The address without a zone and without the IPv4-mapped prefix."""
    return unmapped(source_ip.split("%")[0])


def address_as_name(source_ip: str) -> str:
    """A router name made of its address: IPv6 colons become dashes, a leading one a zero."""
    fallback = bare_ip(source_ip).replace(":", "-")
    name = identity.canonical_name("0" + fallback if fallback.startswith("-") else fallback)
    return name or "unknown"
