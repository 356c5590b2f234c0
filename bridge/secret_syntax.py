"""How a secret's value is read after what announces it: the words of router syntax around it.

Between a keyword and its value stand words that say how the value is written (type markers:
``7``, ``sha512``, ``plaintext``...); after a keyword stand words that show it names a command,
not a secret (``key chain``); after a value, words that begin the next clause (``priv``,
``port``, ``RO``). A secret may be spelled like any of them, and a router takes it: so a
marker run that ends the statement, or is followed by the next clause, is itself the value.
The rules of :mod:`bridge.secrets` are built from these pieces.
"""

from __future__ import annotations

import re
from typing import Final

# A secret value: the text of an XML element (right after its ">", blanks and all: XML text
# holds no "<" outside a CDATA section), escaped-quoted, double-quoted, single-quoted, or one
# word (not a lone brace or bracket, nor the tag of a child element, and without a trailing
# ";"); an earlier redaction is one value, so redacting twice changes nothing.
VALUE: Final = (
    r"""(?:<redacted>|(?<=>)(?><!\[CDATA\[.*?(?:\]\]>|$)|[^<\s]+(?:\s+[^<\s]+)*)"""
    r"""|\\"(?:(?!\\").)*(?:\\")?|"(?:[^"\\]|\\.)*"?|'[^']*'?"""
    r"""|(?!(?<=>)<|[{}\[\]](?:[\s;]|$))[^\s;]+?(?=;?(?:\s|$)))"""
)
# Words between a keyword and its value that say how the value is written, not what it is.
MARKER_WORD: Final = (
    r"(?:\d{1,2}|encrypted|hashed|hash|sha512|sha256|sha-?1|md5|hmac-[\w-]+|sha|enc|ascii-text"
    r"|hexadecimal|hex|ascii|text|plaintext|cleartext|ciphertext|unencrypted|nt-encrypted|cipher"
    r"|irreversible-cipher|simple|local|remote|read-only|read-write|read|write|value|0x)"
)
# with the two-word markers, which name a level or an algorithm: never a secret themselves.
# Atomic, one way to read a word: a run of markers costs linear time to try.
MARKER: Final = (
    rf"(?>(?:level\s+\d+|type\s+(?:{MARKER_WORD}|[\w-]*(?:sha|md5|hmac|aes|des|cmac)[\w-]*)"
    rf"|{MARKER_WORD})(?![\w.-]))"
)
# The words a community may be announced with (``snmp-agent community read cipher X``,
# ``snmp community read-only X``): any other word after ``community`` is the community.
COMMUNITY_MARKER: Final = r"(?>(?:read-only|read-write|read|write|simple|cipher)(?![\w.-]))"


def markers(marker: str) -> str:
    """A run of ``marker`` words after a blank (``password=7`` is a value); possessive, so a
    marker never turns into the value by backtracking: :func:`run_as_value` decides that."""
    return rf"(?:(?<=\s)(?:{marker}\s+)*+)?+"


MARKERS: Final = markers(MARKER)


# Words after a keyword that show it introduces no value: commands that merely carry a keyword
# in their name (``key chain``, ``password encryption``); in log prose also English (``password
# changed for``). Only where more follows on the line: a last word is the value (``enable secret
# 9 NONE``). Config text and echoed commands get no English exemption: there a secret could be
# ``none`` (hypothesis found that).
COMMAND_WORDS: Final = (
    r"chain|generate|config-key|pubkey-chain|storage|zeroize|import|export|encrypt|decrypt"
    r"|encryption|format|minimum-length|min-length|maximum|change-type|prompt|recovery|policy"
    r"|history|complexity|exchange|lifetime|length|address|hostname|retry|aging|type|default"
)
PROSE_WORDS: Final = (
    r"for|is|was|were|has|have|had|changed|change|of|the|to|by|from|on|mismatch"
    r"|expired|failed|invalid|incorrect|accepted|rejected|required|not|none|with|and|or|in|at"
)

# Where a statement ends (a line, an echoed command, a ";"): a last word is the value.
END: Final = r"""[\s'"{\]]*(?:;|$)"""


def not_value(words: str) -> str:
    """Not one of ``words`` where more of the statement follows, nor an empty quoted string."""
    return rf"""(?!(?<=\s)(?:{words})(?![\w-])(?!{END})|""(?!\S)|''(?!\S))"""


def to_value(marker: str, exempt: str) -> str:
    """From a keyword's separator to its value: markers, or else a word that is no value.

    After a marker no word is exempt: ``key 7 address`` is no command ``key address``.
    """
    return rf"(?>(?<=\s)(?:{marker}(?:\s+|$))++|{not_value(exempt)})" if exempt else markers(marker)


# Between a keyword and its value: "=", ":", blanks, or the ">" of an XML element and the tags
# of any child elements on the line (``<pre-shared-key><key>X``, Junos ``<ascii-text>``).
SEPARATOR: Final = r"""["']?(?:\s*(?:=>?|:|>(?:<[A-Za-z_][\w.:-]*>)*+)\s*|\s+)"""

# A keyword as configs spell it (``password``, ``auth-pass``, ``server-key``), not a value
# that merely ends like one (``NtpHmacKey``).
NAMED_KEYWORD: Final = (
    r"(?:[a-z0-9]+-)*(?:password|passwd|passphrase|secret|key|psk|token|pass|pwd|community)"
)
# Words that begin the next clause after a secret in some family's syntax: ``priv`` after an
# SNMP auth password, ``port`` after a TACACS+ secret, ``privilege`` after an ASA password.
CLAUSE: Final = (
    r"auth|priv|localizedkey|engineid|ro|rw|view|group|authorization|clients|access|context"
    r"|notify|port|vrf|timeout|privilege|role|version|single-connection|routing-instance"
    r"|source-address|pbkdf2|prefer|ipv6"
)


def run_as_value(marker: str, last: str, clause: str, commands: bool) -> str:
    """The run of ``marker`` words (ending in a ``last``) that is itself the value: group ``vr``.

    A secret may be spelled like a marker (``auth-pass plaintext ASCII priv ...``: the password
    is ``ASCII``) or, with ``commands``, like a command word (``crypto isakmp key address
    address 10.0.0.2``). Where such a run ends the line or is followed by a word that begins
    another clause, no value followed it, so the run was the value: all of it goes, as it
    cannot be told which of its words was the secret. A lookahead: a value after the run is
    still looked for.
    """
    starts_clause = rf"(?!{marker}(?:\s|$))(?:{NAMED_KEYWORD}|{clause}|{COMMAND_WORDS})(?![\w.-])"
    after_marker = rf"(?={END}|\s+{starts_clause})"
    run = rf"(?:{marker}\s+)*{last}{after_marker}"
    if commands:
        run += rf"|(?:{COMMAND_WORDS})(?![\w-])(?=\s+{starts_clause})"
    return rf"(?:(?<=\s)(?=(?P<vr>{run})))?"


# The value after a word that no keyword ends, in a lookahead: a word taken for a value (``auth
# sha priv priv aes 128 X``) still announces its own.
THEN_VALUE: Final = r"(?=(?P<v>" + VALUE + "))"


def after_keyword(exempt: str) -> str:
    """From a keyword's separator on: the markers that are the value, or the value after them
    (``exempt`` words are no value where more follows)."""
    return (
        run_as_value(MARKER, MARKER_WORD, CLAUSE, commands=True)
        + rf"(?:{to_value(MARKER, exempt)}(?P<v>{VALUE}))?"
    )


# The name of a custom HTTP header or URL parameter (PAN-OS HTTP server profiles) whose value
# may be a credential (``Authorization: Splunk <token>``): any but a media type's or a client's
# name, which are never secrets.
HEADER_NAME: Final = (
    r"(?!(?:content-type|content-encoding|accept|accept-encoding|user-agent)(?![\w-]))"
    r"[^\s{};\"'<>]+"
)


# A line that opens with an XML element. Its text and attribute values hold no "<" (XML writes
# "&lt;"), so a value read as running on past one ran into markup: it ends there, and the
# closing tag stays (``<phash>X</phash>``, ``key=LUFRPT...</url-format>``).
XML_LINE: Final = re.compile(r"\s*<[A-Za-z_][\w.:-]*(?:\s[^<>]*)?/?>")


def before_markup(line: str, span: tuple[int, int]) -> tuple[int, int]:
    """``span`` up to the first "<" after its start; empty where it starts with a tag (the
    ``>`` of a closing tag announces no value). An earlier redaction and a CDATA section,
    whose text may hold a "<", stay whole."""
    start, end = span
    if line.startswith(("<redacted>", "<![CDATA["), start):
        return span
    cut = line.find("<", start, end)
    return span if cut < 0 else (start, cut)
