"""``--upstream ecs-metadata``: the task's own clock, vouched for by ECS task metadata (sans-IO).

On Fargate (platform 1.4+) ``${ECS_CONTAINER_METADATA_URI_V4}/task`` reports ``ClockDrift``:
``ClockSynchronizationStatus`` (``SYNCHRONIZED`` or ``NOT_SYNCHRONIZED``), ``ClockErrorBound``
(milliseconds between the host's clock and UTC, measured against the Amazon Time Sync Service)
and ``ReferenceTimestamp`` (when that was measured). The host's clock is the task's clock, so
this source's offset is zero and its root dispersion is the error bound, grown by 15 ppm since
the measurement; it is usable only while SYNCHRONIZED with a bound below the limit. The names
and types are the ECS agent's (aws/amazon-ecs-agent, ecs-agent/tmds/handlers/v4/state/
response.go: a float64 bound, a time, a status string), each omitted when empty, so a document
without a bound is refused rather than read as a bound of zero.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from ntp_proxy.exchange import PHI, InvalidReply, Sample

METADATA_VARIABLE = "ECS_CONTAINER_METADATA_URI_V4"
KEYWORD = "ecs-metadata"
# The host follows 169.254.169.123, which serves stratum 3: the host clock is stratum 4.
HOST_STRATUM = 4
HOST_REFID = bytes([169, 254, 169, 123])


@dataclass(frozen=True)
class MetadataSource:
    """``--upstream ecs-metadata``: the task metadata endpoint as a time source."""

    def __str__(self) -> str:
        return KEYWORD


ECS_METADATA = MetadataSource()


def task_metadata_url(environ: Mapping[str, str]) -> str:
    """The ``/task`` document of the endpoint ECS names; ValueError outside an ECS task."""
    base = environ.get(METADATA_VARIABLE, "").rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ValueError(f"{KEYWORD} needs {METADATA_VARIABLE}, which ECS sets in a task")
    return base + "/task"


def _timestamp(text: str) -> float:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def sample_from_task_metadata(body: bytes, now: float, max_error: float) -> Sample:
    """What the ``/task`` document says about the task clock at local time ``now``.

    Raises :class:`InvalidReply`: ``not_synchronised`` (the status says so), ``error_bound``
    (the bound, grown since it was measured, reaches ``max_error`` seconds) or ``metadata``
    (no usable ClockDrift: not Fargate 1.4+, or not the documented JSON).
    """
    try:
        drift = orjson.loads(body)["ClockDrift"]
        status = drift["ClockSynchronizationStatus"]
        bound = float(drift["ClockErrorBound"]) / 1000.0
        measured = _timestamp(drift["ReferenceTimestamp"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        raise InvalidReply("metadata") from None
    if status != "SYNCHRONIZED":
        raise InvalidReply("not_synchronised")
    dispersion = bound + PHI * max(now - measured, 0.0)
    # a negative (or NaN) bound is no bound, however long ago it was measured
    if not (bound >= 0.0 and dispersion < max_error):
        raise InvalidReply("error_bound")
    return Sample(
        upstream=KEYWORD,
        offset=0.0,
        delay=0.0,
        dispersion=0.0,
        taken=now,
        leap=0,
        stratum=HOST_STRATUM,
        refid=HOST_REFID,
        root_delay=0.0,
        root_dispersion=dispersion,
        upstream_refid=HOST_REFID,
    )
