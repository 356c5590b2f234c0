"""Lines from CloudWatch Logs: ``FilterLogEvents`` over a time range, every page, every stream.

The awslogs driver puts each stdout line in as one event. Only the events the report uses are
asked for (a JSON filter pattern on ``event``), so a month of a busy fleet's per-message syslog
lines is never downloaded: the ``syslog.evidence`` summaries carry the log facts. The endpoint
and credentials come the usual boto3 way (``AWS_ENDPOINT_URL``, profiles, task roles).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from bridge.report.facts import HANDLED_EVENTS

__all__ = ["FILTER_PATTERN", "CloudWatchError", "log_lines"]

# Every event the report reads except the per-message "syslog" lines; the daemons'
# ".started" and EMF "metrics" lines tell which daemons ran in the period.
_EVENTS = sorted(
    {e for e in HANDLED_EVENTS if e != "syslog"}
    | {"metrics", "syslog.started", "ntp.started", "config.started"}
)
FILTER_PATTERN = "{ " + " || ".join(f'$.event = "{event}"' for event in _EVENTS) + " }"


class CloudWatchError(Exception):
    """Reading CloudWatch failed; the message says what and where, for one line on stderr."""


def log_lines(
    groups: Sequence[str],
    start: float,
    end: float,
    region: str | None = None,
    client: Any = None,
) -> Iterator[str]:
    """The messages of ``groups`` between ``start`` and ``end`` (Unix seconds), in order."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        logs = client or boto3.client("logs", region_name=region)
        paginator = logs.get_paginator("filter_log_events")
        for group in groups:
            pages = paginator.paginate(
                logGroupName=group,
                startTime=int(start * 1000),
                endTime=int(end * 1000),
                filterPattern=FILTER_PATTERN,
            )
            for page in pages:
                for event in page.get("events", ()):
                    yield str(event.get("message", ""))
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise CloudWatchError(
            f"CloudWatch Logs: {error.get('Code', 'error')}: {error.get('Message', exc)}"
        ) from None
    except BotoCoreError as exc:
        raise CloudWatchError(f"CloudWatch Logs: {exc}") from None
