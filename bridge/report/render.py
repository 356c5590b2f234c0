"""The report document -> JSON, CSV and a self-contained HTML page (no scripts, no fetches).

The HTML is rendered by Jinja2 with autoescaping on: router names and diff lines come from
routers and must never become markup. The config daemon's live page renders the same
template, so what an assessor prints from the page and from the report look alike.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import Any

import jinja2
import orjson

from bridge.report.verdicts import REQUIREMENTS

__all__ = ["to_csv", "to_html", "to_json", "to_text"]

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("bridge.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def to_json(doc: dict[str, Any]) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def to_csv(doc: dict[str, Any]) -> str:
    """One row per router and requirement, then the fleet's; the evidence as JSON."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["router", "requirement", "verdict", "reason", "evidence"])
    for name, verdicts in doc["routers"].items():
        for req in REQUIREMENTS:
            verdict = dict(verdicts[req])
            row = [name, req, verdict.pop("verdict"), verdict.pop("reason")]
            writer.writerow([*row, orjson.dumps(verdict).decode()])
    for req in REQUIREMENTS:
        fleet = dict(doc["fleet"][req])
        writer.writerow(["(fleet)", req, fleet.pop("verdict"), "", orjson.dumps(fleet).decode()])
    return out.getvalue()


DIFF_TITLES = {
    "config.drift": "Drift from the desired config",
    "config.unsaved": "Unsaved: the startup config against the running one",
    "config.changed": "Latest change",
}


def diff_class(line: str) -> str:
    if line.startswith("@@"):
        return "hunk"
    if line.startswith("+") and not line.startswith("+++"):
        return "add"
    if line.startswith("-") and not line.startswith("---"):
        return "del"
    return ""


def to_html(
    doc: dict[str, Any],
    *,
    title: str = "edge-bridge PCI DSS evidence",
    generated: str | None = None,
    template: str = "report.html",
    router_href: Callable[[str], str] = lambda name: f"#router-{name}",
    nav: Sequence[tuple[str, str]] = (),
    show_details: bool = True,
    **extra: Any,
) -> str:
    return _ENV.get_template(template).render(
        doc=doc,
        title=title,
        generated=generated,
        router_href=router_href,
        nav=list(nav),
        show_details=show_details,
        diff_class=diff_class,
        diff_titles=DIFF_TITLES,
        **extra,
    )


def to_text(doc: dict[str, Any]) -> str:
    """The verdict table for a terminal, when no output file is asked for."""
    width = max([len("(fleet)"), *(len(name) for name in doc["routers"])])
    lines = [
        f"period {doc['period']['start']} to {doc['period']['end']}",
        f"{'router':<{width}}  " + "  ".join(f"{req:<8}" for req in REQUIREMENTS),
    ]
    for name, verdicts in doc["routers"].items():
        cells = "  ".join(f"{verdicts[req]['verdict']:<8}" for req in REQUIREMENTS)
        lines.append(f"{name:<{width}}  {cells}")
    cells = "  ".join(f"{doc['fleet'][req]['verdict']:<8}" for req in REQUIREMENTS)
    lines.append(f"{'(fleet)':<{width}}  {cells}")
    lines += [f"finding: {finding}" for finding in doc["fleet"]["findings"]]
    return "\n".join(lines) + "\n"
