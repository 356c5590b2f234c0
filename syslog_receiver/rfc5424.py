"""RFC 5424 messages: header, structured data and MSG.

Strict where the RFC is unambiguous, lenient where real senders stray:

* NILVALUE "-" in HOSTNAME, APP-NAME, PROCID or MSGID becomes None.
* STRUCTURED-DATA: escaped '"', '\\' and ']' in values are unescaped; any other backslash is
  kept as written (RFC 5424 section 6.3.3). Parameters may be separated by several spaces
  (Junos does this). A repeated SD-ID merges into one dict; a parameter repeated inside an
  element keeps every value, as a list in arrival order (the RFC allows repeats; nothing is
  dropped). Malformed structured data (unterminated element or value) gives
  ``structured_data: None`` and the text from the first '[' on is kept whole in the message.
* Junos's short header "host RT_FLOW: APPTRACK_SESSION_CLOSE [junos@...]" (no PROCID, a colon
  after APP-NAME) is read as APP-NAME and MSGID.
* A message with an SD-ID of Juniper's enterprise number (``...@2636...``) has format
  ``junos``; its fields are read exactly like any RFC 5424 message.
* An unparseable TIMESTAMP gives ``timestamp: None``; the other fields are still read.
"""

from __future__ import annotations

import re
from typing import Any

from syslog_receiver.record import StructuredData, record
from syslog_receiver.timestamps import rfc3339

_HEADER = re.compile(r"1 (\S+) (\S+) (\S+) (\S+) (\S+)(?: |$)")
_SHORT_HEADER = re.compile(r"1 (\S+) (\S+) ([^\s\[]+?):? ([^\s\[]\S*) (?=\[)")
_SD_ID = re.compile(r'\[([^\s=\]"]+)')
_SD_PARAM = re.compile(r' +([^\s=\]"]+)="([^"\\]*(?:\\.[^"\\]*)*)"', re.S)
_SD_CLOSE = re.compile(r" *\]")
_UNESCAPE = re.compile(r'\\(["\\\]])')


def _nil(value: str) -> str | None:
    return None if value == "-" else value


def parse_sd(text: str, pos: int) -> tuple[StructuredData, int] | None:
    """Structured data starting at text[pos] == '['; (data, end) or None if malformed."""
    sd: StructuredData = {}
    n = len(text)
    while pos < n and text[pos] == "[":
        m = _SD_ID.match(text, pos)
        if m is None:
            return None
        params = sd.setdefault(m.group(1), {})
        pos = m.end()
        while (pm := _SD_PARAM.match(text, pos)) is not None:
            name, value = pm.group(1), pm.group(2)
            if "\\" in value:
                value = _UNESCAPE.sub(r"\1", value)
            old = params.get(name)
            if old is None:
                params[name] = value
            elif isinstance(old, list):
                old.append(value)
            else:
                params[name] = [old, value]
            pos = pm.end()
        cm = _SD_CLOSE.match(text, pos)
        if cm is None:
            return None
        pos = cm.end()
    return sd, pos


def _is_junos(sd: StructuredData) -> bool:
    for sd_id in sd:
        _, at, enterprise = sd_id.partition("@")
        if at and (enterprise == "2636" or enterprise.startswith("2636.")):
            return True
    return False


def parse_rfc5424(text: str, start: int, pri: int) -> dict[str, Any] | None:
    """Parse text[start:] (just after PRI, at VERSION); None if it is not RFC 5424."""
    m = _HEADER.match(text, start)
    if m is None or m.group(5).startswith("["):
        short = _SHORT_HEADER.match(text, start)
        if short is not None:
            ts, host, app, msgid = short.groups()
            return _rest(text, short.end(), pri, ts, host, app, None, msgid)
        if m is None:
            return None
    ts, host, app, procid, msgid = m.groups()
    if ts != "-" and not (ts[:4].isdigit() and ts[4:5] == "-"):
        return None  # "<190>1 packets were dropped ..." is free text, not a header
    return _rest(text, m.end(), pri, ts, host, app, _nil(procid), msgid)


def _rest(
    text: str,
    pos: int,
    pri: int,
    ts: str,
    host: str,
    app: str,
    procid: str | None,
    msgid: str,
) -> dict[str, Any]:
    """Read STRUCTURED-DATA and MSG from text[pos:] and build the record."""
    n = len(text)
    sd: StructuredData | None = None
    if pos >= n:
        message = ""
    elif text[pos] == "-" and (pos + 1 == n or text[pos + 1] == " "):
        message = text[pos + 2 :]
    elif text[pos] == "[":
        parsed = parse_sd(text, pos)
        if parsed is None:
            message = text[pos:]
        else:
            sd, end = parsed
            message = text[end + 1 :] if end < n and text[end] == " " else text[end:]
    else:
        message = text[pos:]  # no STRUCTURED-DATA field: keep everything as MSG
    fmt = "junos" if sd and _is_junos(sd) else "rfc5424"
    timestamp = None if ts == "-" else rfc3339(ts)
    return record(fmt, pri, timestamp, _nil(host), _nil(app), procid, _nil(msgid), sd, message)
