"""Secrets spelled like syntax: the words a redactor is tempted to read as "not the value".

A router takes ``plaintext``, ``encrypted``, ``address``, ``RO`` or ``none`` as a password or a
community, and a redactor that reads such a word as a type marker, a command or English shows
the secret. :data:`WORDS` fills the secret slots (``{s}``, ``{q}``) of line templates, as
written, in capitals and in mixed case; :func:`kept` tells which slot's secret a redacted line
still shows, even where the template's own text holds the same word.
"""

from __future__ import annotations

import re
from string import Formatter

from hypothesis import strategies as st

from bridge.secret_syntax import COMMAND_WORDS, PROSE_WORDS
from bridge.secrets import REDACTED

# Words that say how a value is written (type markers), ...
MARKER_WORDS = [
    "0", "5", "6", "7", "8", "9", "15", "level", "type", "encrypted", "hashed", "hash", "sha",
    "sha1", "sha-1", "sha256", "sha512", "md5", "hmac-sha2-256", "hmac-sha1", "enc",
    "ascii-text", "hexadecimal", "hex", "ascii", "text", "plaintext", "cleartext", "ciphertext",
    "unencrypted", "nt-encrypted", "cipher", "irreversible-cipher", "simple", "local", "remote",
    "read-only", "read-write", "read", "write", "value", "0x",
]  # fmt: skip
# ... words that begin the next clause of some family's command, and keywords ...
CLAUSE_WORDS = [
    "auth", "priv", "localizedkey", "engineid", "aes", "des", "3des", "aes-128", "ro", "rw",
    "view", "group", "authorization", "clients", "port", "vrf", "version", "informs", "traps",
    "prefer", "privilege", "role", "pbkdf2", "members", "additive", "internet", "no-export",
    "password", "secret", "key", "key-string", "auth-pass", "priv-pass", "community", "none",
]  # fmt: skip
# ... and what the redactor exempts as command words and as English in log prose.
WORDS = tuple(
    sorted({*MARKER_WORDS, *CLAUSE_WORDS, *COMMAND_WORDS.split("|"), *PROSE_WORDS.split("|")})
)


def cased(words: tuple[str, ...] = WORDS) -> list[str]:
    """Each word as written, in capitals and capitalised."""
    return sorted({form for word in words for form in (word, word.upper(), word.title())})


@st.composite
def syntax_secrets(draw: st.DrawFn) -> str:
    """A word of :data:`WORDS`, each letter in either case."""
    word = draw(st.sampled_from(WORDS))
    upper = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    return "".join(c.upper() if up else c for c, up in zip(word, upper, strict=True))


def kept(template: str, values: dict[str, str], redacted: str) -> list[str]:
    """The slots of ``template`` whose value ``redacted`` still shows.

    The template's own words may stay, so a value that they also hold may appear as often as
    they hold it; and it may not stand in the slot's place (after the word before the slot,
    or before the word after it) more often than the template's own words do.
    """
    parts = list(Formatter().parse(template))
    fixed = "\0".join(literal for literal, *_ in parts)
    marked = redacted.replace(REDACTED, "\0")
    shown: list[str] = []
    for k, (literal, field, _, _) in enumerate(parts):
        if field is None:
            continue
        value = values[field]
        before = re.search(r"\S+\s*\S*$|$", literal)
        after = re.match(r"\s*\S*", parts[k + 1][0] if k + 1 < len(parts) else "")
        assert before is not None and after is not None
        in_place = [
            (r"(?<!\S)" if before.group() else "^") + re.escape(before.group() + value),
            re.escape(value + after.group()) + (r"(?![\w-])" if after.group() else "$"),
        ]
        if marked.count(value) > fixed.count(value) or any(
            len(re.findall(each, marked)) > len(re.findall(each, fixed)) for each in in_place
        ):
            shown.append(field)
    return shown
