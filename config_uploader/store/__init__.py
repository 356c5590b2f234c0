"""Config version stores: every upload kept, none half-written, none lost to a race.

:mod:`.base` holds the contract (versions, states, ``create`` and :func:`commit`), :mod:`.local`
a directory, :mod:`.s3` a bucket; :func:`open_store` picks one from ``--store``.
"""

from __future__ import annotations

from pathlib import Path

from config_uploader.store.base import (
    CommitResult,
    RouterLocks,
    RouterState,
    StateNotSaved,
    Store,
    StoreError,
    VersionMeta,
    commit,
    in_thread,
    is_version_id,
    path_segment,
    start_in_thread,
    version_id,
)
from config_uploader.store.local import LocalStore
from config_uploader.store.s3 import S3Store, parse_s3_url, s3_client

__all__ = [
    "CommitResult",
    "LocalStore",
    "RouterLocks",
    "RouterState",
    "S3Store",
    "StateNotSaved",
    "Store",
    "StoreError",
    "VersionMeta",
    "commit",
    "in_thread",
    "is_version_id",
    "open_store",
    "parse_s3_url",
    "path_segment",
    "s3_client",
    "start_in_thread",
    "version_id",
]


def open_store(location: str) -> Store:
    """``s3://...`` -> :class:`S3Store`, anything else a local directory."""
    if location.startswith("s3://"):
        return S3Store(location)
    return LocalStore(Path(location))
