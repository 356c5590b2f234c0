"""structlog configured for JSON lines on stdout: ``event``, ``level``, ``time`` and fields.

Operational events (``syslog.started``, ``ntp.upstream_sample``, ``config.drift``, ...) go
through here; per-message hot paths use :func:`bridge.output.write_lines` instead. Both build
the line with :func:`bridge.output.envelope` and keep it under the budget with
:func:`bridge.output.fit`, so a long error or traceback is cut, never split by Docker.
"""

from __future__ import annotations

import logging as std_logging
import time
from collections.abc import MutableMapping
from typing import Any

import structlog

from bridge.output import envelope, fit
from bridge.stdout import LineFile

_configured = False


def _envelope(_logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> Any:
    """Put ``event``, ``level`` and ``time`` first, so lines read well in CloudWatch."""
    event = event_dict.pop("event", None)
    return envelope(event, "warning" if method == "warn" else method, time.time(), event_dict)


def _serialize(event_dict: Any, **_kwargs: Any) -> bytes:
    """The line without its LF (structlog's logger adds it), within the line budget."""
    [line] = fit(event_dict)
    return line[:-1]


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
