"""RFC 5424 structured data that a sender got slightly wrong, read as rsyslog and syslog-loose
read it rather than given up on.

Only called when the strict reader (rfc5424.parse_sd) refuses the block, so it costs nothing
on well-formed messages. It accepts, element by element:

* spaces after '[' and around '=' (``eventSource= "Application"``, RFC 5424 section 6.5's own
  example as rsyslog's tests send it);
* a value quoted with ``\\"`` instead of '"' (``i=\\"ok\\"``, text escaped once too often);
* an unescaped '"' inside a value (``i=""ok"``, ``msg="say "hi" now"``): a quote ends the
  value only where ']' or the next ``name=`` follows it, so the others are kept in it;
* a value without quotes (``x=1``) and a name without a value (``[incorrect x]``, kept as "").

The first element that still cannot be read ends the structured data: the elements read
before it are kept, and the text from its '[' on stays in the message, so nothing is lost and
nothing is kept twice. The record then carries ``sd_malformed: true``.

Each step is one anchored match that never looks back at earlier parameters, so the cost is
linear in the length of the text whatever it holds.
"""

from __future__ import annotations

import re

from syslog_receiver.record import StructuredData, add_param

_ELEMENT_START = re.compile(r'\[ *([^\s=\]"]+)')
# name, then optionally '=' and a value: quoted ('"' or '\"'), ending at the first quote
# that a ']' or the next "name=" follows, or bare up to a space or ']'.
_PARAM = re.compile(
    r' *([^\s=\]"\\]+)(?: *= *(?:\\?"((?:[^"\\]|\\.|")*?)\\?"(?= *\]| +[^\s=\]"\\]+ *=)'
    r'|([^\s\]"]*)))?',
    re.S,
)
_ELEMENT_END = re.compile(r" *\]")
_UNESCAPE = re.compile(r'\\(["\\\]])')


def parse_sd_lenient(text: str, pos: int) -> tuple[StructuredData, int]:
    """Structured data at text[pos] == '[' as far as it can be read; (data, end of it)."""
    sd: StructuredData = {}
    n = len(text)
    while pos < n and text[pos] == "[":
        element = _read_element(text, pos)
        if element is None:
            break
        sd_id, pairs, pos = element
        params = sd.setdefault(sd_id, {})
        for name, value in pairs:
            add_param(params, name, value)
    return sd, pos


def _read_element(text: str, pos: int) -> tuple[str, list[tuple[str, str]], int] | None:
    """One element: (SD-ID, [(name, value)], position after its ']'), or None."""
    m = _ELEMENT_START.match(text, pos)
    if m is None:
        return None
    sd_id = m.group(1)
    pairs: list[tuple[str, str]] = []
    pos = m.end()
    while True:
        end = _ELEMENT_END.match(text, pos)
        if end is not None:
            return sd_id, pairs, end.end()
        param = _PARAM.match(text, pos)
        if param is None or param.end() == pos:
            return None
        name, quoted, bare = param.groups()
        value = quoted if quoted is not None else bare or ""
        if "\\" in value:
            value = _UNESCAPE.sub(r"\1", value)
        pairs.append((name, value))
        pos = param.end()
