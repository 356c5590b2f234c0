"""The vendor-profile registry: one module per router family, one :class:`Profile` each.

Adding a family is one module here (its detection, volatile lines, hostname and secret rules;
see ``docs/redaction.md``), one entry in :data:`PROFILES`, one sample config under
``tests/data/configs/<name>/`` and its planted secrets in ``tests/data/configs/secrets.json``.
The order of :data:`PROFILES` breaks ties in detection: more specific families first.
"""

from __future__ import annotations

from typing import Final

from config_uploader.vendors import (
    aoscx,
    asa,
    cisco_ios,
    eos,
    fortios,
    junos,
    nxos,
    panos,
    routeros,
    vyos,
    yamaha,
)
from config_uploader.vendors.profile import Profile

__all__ = ["PROFILES", "UNKNOWN", "Profile"]

PROFILES: Final[dict[str, Profile]] = {
    p.name: p
    for p in (
        yamaha.PROFILE,
        routeros.PROFILE,
        eos.PROFILE,
        nxos.PROFILE,
        asa.PROFILE,
        aoscx.PROFILE,
        cisco_ios.PROFILE,
        panos.PROFILE,
        junos.PROFILE,
        vyos.PROFILE,
        fortios.PROFILE,
    )
}
UNKNOWN: Final = "unknown"
"""The family of a config no profile recognises: every profile's rules then apply."""
