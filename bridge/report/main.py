"""``edge-bridge report [FILE...]``: the daemons' lines in, verdicts per router out.

Reads JSON lines from FILEs (``-`` or none: stdin) or, with ``--log-group``, from CloudWatch
Logs; writes the verdicts as ``--json``, ``--csv`` and ``--html`` files (``-`` is stdout), or
a table on stdout when none is asked for. Every problem ends in one line on stderr, never a
traceback: exit status 2 for bad options or unreadable input, 1 when the period holds no
edge-bridge line at all, 0 when the report was written (whatever its verdicts).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from bridge.log_evidence import epoch
from bridge.output import iso_utc
from bridge.report.facts import Facts
from bridge.report.read import InputCounts, fold_lines
from bridge.report.render import to_csv, to_html, to_json, to_text
from bridge.report.verdicts import Rules, judge
from bridge.settings import (
    add_options,
    new_parser,
    non_negative_duration,
    option,
    router_option,
    seconds,
    settings_from,
)

__all__ = ["ReportSettings", "build", "main"]

PROG = "edge-bridge report"


def moment(text: str) -> str:
    """An ISO 8601 time or a duration ago; checked here, resolved against the clock later."""
    if epoch(text) is None:
        non_negative_duration(text)  # raises with the message to show
    return text


def resolve(text: str, now: float) -> float | None:
    if not text:
        return None
    at = epoch(text)
    return at if at is not None else now - non_negative_duration(text)


@dataclasses.dataclass(frozen=True)
class ReportSettings:
    """Per-router PCI DSS evidence (10.3.3 logs, 10.6 time, 1.2.8 config) from the JSON lines."""

    json: str = option("", metavar="FILE", help="write the report as JSON ('-': stdout)")
    html: str = option("", metavar="FILE", help="write the report as a self-contained HTML page")
    csv: str = option("", metavar="FILE", help="write one row per router and requirement")
    since: str = option(
        "", parse=moment, metavar="TIME", help="period start: ISO 8601 or a duration ago (7d)"
    )
    until: str = option(
        "", parse=moment, metavar="TIME", help="period end: ISO 8601 or a duration ago"
    )
    log_group: tuple[str, ...] = option(
        (), repeat=True, metavar="NAME", help="read CloudWatch Logs instead of files (repeat)"
    )
    region: str = option("", metavar="REGION", help="AWS region of the log groups")
    router: tuple[tuple[str, str], ...] = router_option(
        "name an unnamed syslog source by its address, as the daemons do (repeat)"
    )
    max_silence: float = seconds(
        86400.0, "10.3.3 fails for a router silent this long at the period's end"
    )
    max_skew: float = seconds(
        2.0, "10.6 fails for log timestamps further off their arrival than this"
    )


def _parse(argv: Sequence[str], environ: dict[str, str]) -> tuple[ReportSettings, list[str]]:
    parser = new_parser(PROG, ReportSettings.__doc__)
    parser.add_argument("files", nargs="*", metavar="FILE", help="JSON lines ('-': stdin)")
    add_options(parser, ReportSettings)
    values = vars(parser.parse_args(list(argv)))
    return settings_from(ReportSettings, values, environ, PROG), list(values["files"])


def _file_lines(paths: Sequence[str], stdin: IO[bytes]) -> Iterator[bytes]:
    for path in paths or ["-"]:
        if path == "-":
            yield from stdin
            continue
        with open(path, "rb") as handle:
            yield from handle


def _write(target: str, content: str | bytes, stdout: IO[bytes]) -> None:
    data = content.encode() if isinstance(content, str) else content
    if target == "-":
        stdout.write(data)
        stdout.flush()
        return
    Path(target).write_bytes(data)


def build(
    lines: Iterable[str | bytes],
    settings: ReportSettings,
    now: float,
) -> tuple[dict[str, Any] | None, InputCounts]:
    """The report document from lines, judged at ``now``; None when the period had no line."""
    start, end = resolve(settings.since, now), resolve(settings.until, now)
    facts = Facts(dict(settings.router), start, end)
    counts = InputCounts()
    fold_lines(lines, facts, counts)
    if facts.first_time is None or facts.last_time is None:
        return None, counts
    # Files are judged at their own end unless told otherwise; CloudWatch at the request's.
    period_end = end if end is not None else (now if settings.log_group else facts.last_time)
    period_start = start if start is not None else facts.first_time
    doc = judge(facts, period_start, period_end, Rules(settings.max_silence, settings.max_skew))
    doc["input"] = counts.as_dict()
    doc["input"]["outside_period"] = facts.outside_period
    return doc, counts


def main(
    argv: Sequence[str],
    now: float | None = None,
    stdin: IO[bytes] | None = None,
    stdout: IO[bytes] | None = None,
) -> int:
    environ = dict(os.environ)
    settings, files = _parse(argv, environ)
    now = time.time() if now is None else now
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    if settings.log_group and files:
        return _fail("give FILEs or --log-group, not both", 2)
    from bridge.report.cloudwatch import CloudWatchError, log_lines

    try:
        if settings.log_group:
            # CloudWatch reads need a start: the last 24 hours unless --since says otherwise.
            start = resolve(settings.since, now) or now - 86400
            end = resolve(settings.until, now) or now
            settings = dataclasses.replace(settings, since=iso_utc(start))
            source: Iterable[str | bytes] = log_lines(
                settings.log_group, start, end, settings.region or None
            )
        else:
            source = _file_lines(files, stdin)
        doc, counts = build(source, settings, now)
    except CloudWatchError as exc:
        return _fail(str(exc), 2)
    except OSError as exc:
        return _fail(f"cannot read {exc.filename or 'input'}: {exc.strerror or exc}", 2)
    if doc is None:
        where = (
            ", ".join(settings.log_group) if settings.log_group else ", ".join(files or ["stdin"])
        )
        skipped = ", ".join(
            f"{n} {why.replace('_', ' ')}" for why, n in counts.skipped.items() if n
        )
        return _fail(
            f"no edge-bridge lines in the period in {where}"
            f" ({counts.lines} lines read{': ' + skipped if skipped else ''})",
            1,
        )
    unusable = counts.skipped["truncated"] + counts.skipped["not_json"]
    if unusable:
        print(
            f"{PROG}: warning: {unusable} lines were not whole JSON lines and were skipped",
            file=sys.stderr,
        )
    try:
        outputs: dict[str, Callable[[dict[str, Any]], str | bytes]] = {
            "json": to_json,
            "csv": to_csv,
        }
        written = False
        for name, render in outputs.items():
            target = getattr(settings, name)
            if target:
                _write(target, render(doc), stdout)
                written = True
        if settings.html:
            _write(settings.html, to_html(doc, generated=iso_utc(now)), stdout)
            written = True
        if not written:
            _write("-", to_text(doc), stdout)
    except OSError as exc:
        return _fail(f"cannot write {exc.filename or 'output'}: {exc.strerror or exc}", 2)
    return 0


def _fail(message: str, status: int) -> int:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
