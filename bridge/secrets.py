"""Secrets in router text, found without knowing the vendor: the fail-closed layer.

A router config or an echoed command holds keys to the network, and whatever reaches stdout is
kept in CloudWatch Logs for a year. Vendor rules (``config_uploader/vendors``) know exact
syntax, but a line their tables did not foresee, or a config detected as the wrong family,
must not leak. So this layer runs on every line, whatever the vendor, and redacts by shape:

* the value after any secret-like keyword: a word ending in ``password``, ``passwd``,
  ``secret``, ``key``, ``psk``, ``passphrase``, ``token`` (``server-key``, ``auth-pwd``,
  ``psksecret``, ``private-key``, ``key-string``, ``pre-shared-key``...), a ``pass``/``pwd``
  component, ``community`` (not BGP communities), ``phash``, PAN-OS ``authpwd``/``privpwd``,
  ``snmp-community-string`` and ``passcode``; separated by blanks, ``=``, ``:`` or an XML
  ``>``; type markers in between stay readable (``7``, ``sha512``, ``ENC``, ``ascii-text``,
  ``ciphertext``, ``hmac-sha2-256``...);
* FortiOS ``ENC`` values, PAN-OS ``-AQ==`` values and ``LUFRPT`` API keys, crypt-style hashes
  anywhere (``$1$ $5$ $6$ $8$ $9$ $sha512$``...), Cisco type 7 strings, the password of URL
  userinfo (``scp://user:PASSWORD@host``), PEM private key blocks;
* SNMP ``auth``/``priv`` passwords, the community of ``snmp-server host`` lines, and text
  authentication of HSRP/VRRP/GLBP/NHRP: secrets that no keyword announces;
* a keyword's value in brackets, as FortiOS logs a change (``cfgattr="psksecret[old->new]"``).

A value is a double-quoted string (escapes honoured), an escaped-quoted one (``\\"...\\"``
as RouterOS scripts write), a single-quoted one, or a word (a trailing ``;`` stays). Each value
becomes :data:`REDACTED`; the keyword and the line around it stay, so a reader still sees which
secret is configured, and a diff still shows that it changed. When unsure this layer redacts:
a hidden word costs a reader some context, a shown secret costs the network.

Plain functions over strings: the syslog receiver uses :func:`might_hold_secret` on a whole
datagram as a cheap gate and :func:`redact_message` behind it; the config uploader adds its
vendor rules to :data:`RULES` and uses the same span machinery.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Final

import ahocorasick_rs

REDACTED: Final = "<redacted>"

Span = tuple[int, int]

# ASCII case folding only: trigger words are found with str.lower() on ASCII text.
FLAGS: Final = re.IGNORECASE | re.ASCII


@dataclass(frozen=True, slots=True)
class Rule:
    """A pattern whose ``v*`` groups are secrets.

    ``triggers``: lower-case words, one of which every match holds, so that the many lines
    without any skip the pattern. ``unless``: where it fully matches the line's parent (the
    last unindented line at or above it in a config; empty in a log message), a newline and
    the line, this rule leaves the line alone. ``section``: the rule applies only below a
    section line (RouterOS ``/path``, FortiOS ``config ...``) that this pattern matches at
    its start.
    """

    pattern: re.Pattern[str]
    triggers: tuple[str, ...]
    unless: re.Pattern[str] | None = None
    section: re.Pattern[str] | None = None


def rule(
    pattern: str,
    *triggers: str,
    unless: str | None = None,
    section: str | None = None,
    flags: int = FLAGS,
) -> Rule:
    """A :class:`Rule` from pattern text (case-insensitive unless ``flags`` say otherwise)."""
    return Rule(
        re.compile(pattern, flags),
        triggers,
        re.compile(unless, FLAGS) if unless else None,
        re.compile(section, FLAGS) if section else None,
    )


# A secret value: escaped-quoted, double-quoted, single-quoted, or one word (not a lone brace
# or bracket, and without a trailing ";"); an earlier redaction is one value, so redacting twice
# changes nothing.
VALUE: Final = (
    r"""(?:<redacted>|\\"(?:(?!\\").)*(?:\\")?|"(?:[^"\\]|\\.)*"?|'[^']*'?"""
    r"""|(?![{}\[\]](?:[\s;]|$))[^\s;]+?(?=;?(?:\s|$)))"""
)
# Words between a keyword and its value that say how the value is written, not what it is;
# possessive, so a marker never turns into the value when no value follows it.
MARKERS: Final = (
    r"(?:(?:\d{1,2}|level\s+\d+|type\s+\S+|encrypted|hashed|hash|sha512|sha256|sha-?1|md5"
    r"|hmac-[\w-]+|sha|enc|ascii-text|hexadecimal|hex|ascii|text|plaintext|cleartext"
    r"|ciphertext|unencrypted|nt-encrypted|cipher|irreversible-cipher|simple|local|remote"
    r"|read-only|read-write|read|write|value|0x)\s+)*+"
)
# Words after a keyword that show it introduces no value: commands that merely carry a keyword
# in their name (``key chain``, ``password encryption``); in log prose also English (``password
# changed for``). Only where more follows on the line: a last word is the value (``enable secret
# 9 NONE``). Config text and echoed commands get no English exemption: there a secret could be
# ``none`` (hypothesis found that).
_COMMAND_WORDS: Final = (
    r"chain|generate|config-key|pubkey-chain|storage|zeroize|import|export|encrypt|decrypt"
    r"|encryption|format|minimum-length|min-length|maximum|change-type|prompt|recovery|policy"
    r"|history|complexity|exchange|lifetime|length|address|hostname|retry|aging|type|default"
)
_PROSE_WORDS: Final = (
    r"for|is|was|were|has|have|had|changed|change|of|the|to|by|from|on|mismatch"
    r"|expired|failed|invalid|incorrect|accepted|rejected|required|not|none|with|and|or|in|at"
)


def _not_value(words: str) -> str:
    return r"(?!(?:" + words + r")(?![\w-])(?=[ \t]*[^\s;])|\"\"(?!\S)|''(?!\S))"


_SEPARATOR: Final = r"""["']?(?:\s*[=:>]\s*|\s+)"""
# Names that end like a keyword but introduce no secret.
_NOT_KEYWORD: Final = r"(?!(?:no-?password|trusted-key|key-?id|auto-key|manual-key)(?![\w.-]))"
# Public keys are never secrets, and not a reason to look closer (sshd logs "accepted
# publickey for ..." all day): a "key" that ends one of these words is no keyword.
_PUBLIC_KEYS: Final = ("publickey", "public-key", "pubkey", "hostkey", "sshkey", "ssh-key")
_KEY: Final = "key" + "".join(f"(?<!{re.escape(word)})" for word in _PUBLIC_KEYS)
_KEYWORD: Final = (
    # where a token starts, and only if a keyword is in it: the cheap test comes first
    r"(?<![\w.$=-])(?=[\w.-]*?(?:pass|pwd|secret|key|psk|token|phash))(?<!tunnel )"
    + _NOT_KEYWORD
    + r"(?:(?:[a-z0-9]+[-_])+pass(?![\w.-])|(?:[a-z0-9]+[-_])*"
    r"(?:[a-z0-9]*(?:password|passwd|passphrase|secret|" + _KEY + r"|psk|token)|pwd|phash"
    r"|key-?string|password-encrypt)(?![\w.-]))"
)
# The words one of which every keyword holds: the keyword rules' triggers.
_KEYWORD_WORDS: Final = ("pass", "pwd", "secret", "key", "psk", "token", "phash")
_COMMUNITY: Final = (
    r"(?<![\w.$=-])(?!snmp-community\b)(?:(?!send-|bgp-|large-|ext)[a-z0-9]+[-_])*"
    r"community(?:-name)?(?![\w.-])"
)
# BGP communities are routing policy, not secrets.
_NOT_COMMUNITY: Final = (
    r"(?!(?:\d+:\d+|no-export|no-advertise|internet|local-as|additive|gshut)(?![\w:-])"
    r"|\S+\s+members\b)"
)


def _generic_rules(not_value: str) -> tuple[Rule, ...]:
    """The vendor-independent rules, with ``not_value`` telling a value from a word."""
    return (
        rule(
            _KEYWORD + _SEPARATOR + MARKERS + not_value + r"(?P<v>" + VALUE + ")",
            *_KEYWORD_WORDS,
            # the index of a key in a key chain (or a Junos block), the key an NTP server is to use
            unless=r"(?:key chain\b.*|.*\{\s*)\n\s*key\s+\d+\s*\{?\s*"
            r"|.*\n.*(?<![\w-])(?:server|peer)\s.*\bkey\s+\d{1,5}\b[^=]*",
        ),
        rule(
            _COMMUNITY
            + _SEPARATOR
            + MARKERS
            + not_value
            + _NOT_COMMUNITY
            + r"(?P<v>"
            + VALUE
            + ")",
            "communit",
        ),
        rule(
            r"(?<![\w=-])md5\s+(?!\d+\s+key\b)"
            + MARKERS
            + r"(?!key-string\b|key-chain\b|key\b)(?P<v>"
            + VALUE
            + ")",
            "md5",
        ),
        rule(r"(?<![\w-])ENC\s(?P<v>" + VALUE + ")", "enc ", flags=re.ASCII),
        rule(
            r"(?<![\w$])(?P<v>\$(?:1|2[abxy]?|5|6|7|8|9|y|gy|sha1|sha256|sha512|apr1|md5)\$[^\s\"';]+)",
            "$",
        ),
        rule(r"(?<![\w-])7\s+(?P<v>[01]\d(?:[0-9a-f]{2}){3,})(?![\w])", "7 "),
        # the password runs to the "@" even through a "/" (unencoded, it is still the secret)
        rule(r"[a-z][a-z0-9+.-]*://[^\s/@:]*:(?P<v>[^\s@]*)@", "://"),
        rule(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----(?P<v>.+)", "private key"),
        rule(
            r"(?<![\w-])auth\s+(?:md5|sha\S*)\s+(?!(?:auth|priv)-pass\b)(?P<v>" + VALUE + ")",
            "auth",
        ),
        rule(
            r"(?<![\w-])priv\s+(?:(?:3?des\S*|aes\S*)(?:\s+\d+)?\s+)?"
            r"(?!(?:auth|priv)-pass\b|\S+\s+priv-pass\b|(?:localizedkey|read|write|notify|context"
            r"|access|match)\b)(?P<v>" + VALUE + ")",
            "priv",
        ),
        rule(
            r"(?<![\w-])snmp-server\s+host\s+\S+(?:\s+(?:vrf|use-vrf|udp-port)\s+\S+)*"
            r"(?:\s+(?:informs|traps))?(?:\s+version\s+(?:1|2c|3)(?:\s+(?:auth|noauth|priv))?)?\s+"
            r"(?!community\b|version\b|informs\b|traps\b|vrf\b|\d+\.\d+\.\d+\.\d+)(?P<v>"
            + VALUE
            + ")",
            "snmp-server host",
        ),
        rule(
            r"(?<![\w-])(?:(?:standby|vrrp|glbp)(?:\s+\d+)?\s+authentication(?:\s+text)?"
            r"|nhrp\s+authentication|authentication\s+text)\s+(?!md5\b|text\b)(?P<v>" + VALUE + ")",
            "authentication",
        ),
        # A "...key" whose value is announced by another "key" (PAN-OS "pre-shared-key key X"):
        # the keyword rule takes that word for the value and cannot see past it.
        rule(
            r"key(?<=[\w-]key)\s+key\s+" + MARKERS + not_value + r"(?P<v>" + VALUE + ")",
            "key",
        ),
        # Names no ending above announces: PAN-OS SNMP "authpwd"/"privpwd" and
        # "snmp-community-string", GlobalProtect's "passcode".
        rule(
            r"(?<![\w.$=-])(?:authpwd|privpwd|(?:[a-z0-9]+-)*community-string|passcode)(?![\w.-])"
            + _SEPARATOR
            + MARKERS
            + not_value
            + r"(?P<v>"
            + VALUE
            + ")",
            "pwd",
            "community-string",
            "passcode",
        ),
        # PAN-OS values encrypted with the master key ("-AQ==" and base64), wherever they
        # stand, and its API keys (that shape base64-encoded again: "LUFRPT...").
        rule(r"(?<![\w+/=-])(?P<v>-AQ==[A-Za-z0-9+/=]*)", "-aq==", flags=re.ASCII),
        rule(r"(?<![\w+/])(?P<v>LUFRPT[A-Za-z0-9+/=]+)", "lufrpt", flags=re.ASCII),
        # FortiOS config-change logs: cfgattr="name[x]psksecret[old->new]status[up]"; the value
        # runs to the "]" that ends the attribute (a next "name[", a quote, a blank or the end)
        rule(
            r"(?<![\w.-])[\w.-]*?(?:pass|pwd|secret|" + _KEY + r"|psk|token|phash)[\w.-]*\[(?!\*\])"
            r"(?P<v>.*?)\](?=[\w.-]+\[|[\"'\s]|$)",
            *_KEYWORD_WORDS,
        ),
    )


RULES: Final = _generic_rules(_not_value(_COMMAND_WORDS))
"""The vendor-independent rules: every line of every config, every echoed command."""
PROSE_RULES: Final = _generic_rules(_not_value(_COMMAND_WORDS + "|" + _PROSE_WORDS))
"""The same rules for log prose, where ``password changed for user`` holds no secret."""
# A log message that echoes a typed command (Cisco ``logged command:``, Junos ``command '...'``,
# ``UI_CMDLINE_READ_LINE``, ``UI_CFGAUDIT_*``, a PAN-OS CSV ``...,CONFIG,...`` log): config
# text, so the strict rules.
_ECHO: Final = re.compile(r"command\b|cmdline|cfgaudit|cfglog|,config,", FLAGS)

_PEM_BEGIN: Final = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----", FLAGS)
_PEM_END: Final = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----", FLAGS)
_ASCII_LOWER: Final = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def lower(text: str) -> str:
    """``text`` with ASCII letters lowered (what the rules' ASCII case folding sees)."""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


# Each trigger word with its rule; a rule woken by two words is matched twice, harmlessly.
_TRIGGERED: Final = tuple((word, each) for each in RULES for word in each.triggers)
_PROSE_TRIGGERED: Final = tuple((word, each) for each in PROSE_RULES for word in each.triggers)


_TRIGGER_WORDS: Final = sorted({word for each in RULES for word in each.triggers})
# One pass of an Aho-Corasick automaton finds them all (some 0.5 us for a syslog message, a
# third of what one regular expression of the same words takes). Leftmost-longest, so where
# a public key is written its own word is found and hides the "key" inside it; no trigger
# word starts within one, so nothing else is hidden.
_FINDER: Final = ahocorasick_rs.BytesAhoCorasick(
    [word.encode() for word in (*_TRIGGER_WORDS, *_PUBLIC_KEYS)],
    matchkind=ahocorasick_rs.MATCHKIND_LEFTMOST_LONGEST,
)


def might_hold_secret(text: str | bytes) -> bool:
    """False when no rule of :data:`RULES` can match ``text``: the cheap test before redacting.

    Looks for the rules' trigger words in the lowered text (ASCII letters only, as the rules
    fold case). Bytes are taken as they are: the syslog receiver tests a whole datagram, whose
    message and structured data are pieces of its text.
    """
    low = text.lower() if isinstance(text, bytes) else lower(text).encode("utf-8", "surrogatepass")
    found = _FINDER.find_matches_as_indexes(low)  # (word index, start, end), public keys last
    return bool(found) and min(found)[0] < len(_TRIGGER_WORDS)


def spans(rules: Iterable[Rule], line: str, parent: str = "") -> list[Span]:
    """Where in ``line`` the ``v*`` groups of ``rules`` match: the secret values.

    ``parent`` is the last unindented line at or above ``line`` in a config (see :class:`Rule`).
    """
    found: list[Span] = []
    for each in rules:
        pattern = each.pattern
        mine = [
            match.span(name)
            for match in pattern.finditer(line)
            for name in pattern.groupindex
            if name[0] == "v" and match.start(name) < match.end(name)
        ]
        if mine and (each.unless is None or not each.unless.fullmatch(parent + "\n" + line)):
            found += mine
    return found


def render(line: str, found: list[Span]) -> str:
    """``line`` with the union of ``found`` replaced, each run by one :data:`REDACTED`."""
    out: list[str] = []
    pos = -1
    for start, end in sorted(found):
        if start <= pos or (pos >= 0 and not line[pos:start].strip()):
            # overlaps the run just written or is apart by blanks only: one value, one marker
            pos = max(pos, end)
            continue
        out.append(line[max(pos, 0) : start])
        out.append(REDACTED)
        pos = end
    out.append(line[max(pos, 0) :])
    return "".join(out)


_MAX_ROUNDS: Final = 8


def settle(
    line: str, rules: Sequence[Rule], found: list[Span] | None = None, parent: str = ""
) -> str:
    """``line`` redacted by ``rules``, again and again until it no longer changes.

    ``found`` is :func:`spans` of the line if the caller has it. One rule's view of a
    redacted line can differ from all rules' view of the original (a keyword whose value
    another rule took); settling makes redacting twice change nothing.
    """
    for _ in range(_MAX_ROUNDS):
        found = spans(rules, line, parent) if found is None else found
        if not found:
            break
        new = render(line, found)
        if new == line:
            break
        line, found = new, None
    return line


def redact_line(line: str) -> str:
    """``line`` of config text with every secret the vendor-independent rules find replaced.

    Only the rules whose trigger words the line holds are matched: most lines that pass
    :func:`might_hold_secret` wake one or two of them.
    """
    return _redact(line, _TRIGGERED)


def redact_message(text: str) -> str:
    """A log message with its secrets replaced: as :func:`redact_line` for an echoed command,
    and with English words after a keyword read as prose otherwise."""
    return _redact(text, _TRIGGERED if _ECHO.search(text) else _PROSE_TRIGGERED)


def _redact(line: str, triggered: tuple[tuple[str, Rule], ...]) -> str:
    low = lower(line)
    woken = [rule for word, rule in triggered if word in low]
    return settle(line, woken) if woken else line


def private_key_lines(lines: Sequence[str], text: str | None = None) -> dict[int, str]:
    """Every line of every PEM private key block, redacted, by index.

    ``text`` is ``"\\n".join(lines)`` (possibly with one more newline) if the caller has it.
    Certificates are public and stay; a key's BEGIN and END markers stay too.
    """
    if text is None:
        text = "\n".join(lines)
    at = text.find("-----")
    if at < 0:
        return {}
    starts = [0, *accumulate(len(line) + 1 for line in lines)]
    out: dict[int, str] = {}
    while at >= 0:
        k = bisect_right(starts, at) - 1
        if _PEM_BEGIN.search(lines[k]):
            out[k], going_on = _pem_begin(lines[k])
            while going_on and k + 1 < len(lines):
                k += 1
                out[k], going_on = _pem_body(lines[k])
        at = text.find("-----", starts[k + 1]) if k + 1 < len(lines) else -1
    return out


def _pem_begin(line: str) -> tuple[str, bool]:
    """Keep the BEGIN marker, redact what follows it; True if the block goes on."""
    begin = _PEM_BEGIN.search(line)
    assert begin is not None
    head, rest = line[: begin.end()], line[begin.end() :]
    end = _PEM_END.search(rest)
    if end:
        body = REDACTED if rest[: end.start()].strip() else rest[: end.start()]
        return head + body + rest[end.start() :], False
    return head + (REDACTED if rest.strip() else rest), True


def _pem_body(line: str) -> tuple[str, bool]:
    """A line inside a private key: only an END marker (and what follows it) survives."""
    end = _PEM_END.search(line)
    if end is None:
        return _blank_out(line), True
    return _blank_out(line[: end.start()]) + line[end.start() :], False


def _blank_out(text: str) -> str:
    stripped = text.lstrip()
    if not stripped:
        return text
    return text[: len(text) - len(stripped)] + REDACTED
