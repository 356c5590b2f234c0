"""structlog configured for JSON lines on stdout: ``event``, ``level``, ``time`` and fields.

Operational events (``syslog.started``, ``ntp.upstream_sample``, ``config.drift``, ...) go
through here; per-message hot paths use :func:`bridge.output.write_lines` instead.
"""

from __future__ import annotations

import logging as std_logging
import time
from collections.abc import MutableMapping
from typing import Any

import orjson
import structlog

from bridge.output import iso_utc
from bridge.stdout import LineFile

_configured = False


def _envelope(_logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> Any:
    """Put ``event``, ``level`` and ``time`` first, so lines read well in CloudWatch."""
    head = {
        "event": event_dict.pop("event", None),
        "level": "warning" if method == "warn" else method,
        "time": iso_utc(time.time()),
    }
    head.update(event_dict)
    return head


def _default(value: Any) -> Any:
    """Render what orjson does not know (addresses, exceptions, sets) as text, never fail."""
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _serialize(event_dict: Any, **_kwargs: Any) -> bytes:
    return orjson.dumps(event_dict, default=_default)


def configure_logging(level: str = "info") -> None:
    """Idempotent: every entry point calls it before anything is logged."""
    global _configured
    if _configured:
        return
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _envelope,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=_serialize),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            std_logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.BytesLoggerFactory(file=LineFile()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    _configured = True


def get_logger(**initial: Any) -> Any:
    """A bound logger; ``log.info("syslog.started", udp="127.0.0.1:5514")``."""
    configure_logging()
    return structlog.get_logger(**initial)
