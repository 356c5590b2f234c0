"""Secrets in router text, found without knowing the vendor: the fail-closed layer.

A router config or an echoed command holds keys to the network, and whatever reaches stdout is
kept in CloudWatch Logs for a year. Vendor rules (``config_uploader/vendors``) know exact
syntax, but a line their tables did not foresee, or a config detected as the wrong family,
must not leak. So this layer runs on every line, whatever the vendor, and redacts by shape:

* the value after any secret-like keyword: a word ending in ``password``, ``passwd``,
  ``secret``, ``key``, ``psk``, ``passphrase``, ``token``, or in one of them and ``-value``
  (``server-key``, ``auth-pwd``, Junos ``plain-text-password-value``,
  ``psksecret``, ``private-key``, ``key-string``, ``pre-shared-key``...), a ``pass``/``pwd``
  component, ``community`` (not BGP communities), ``phash``, PAN-OS ``authpwd``/``privpwd``,
  ``snmp-community-string`` and ``passcode``; separated by blanks, ``=``, ``:`` or an XML
  ``>``; type markers in between stay readable (``7``, ``sha512``, ``ENC``, ``ascii-text``,
  ``ciphertext``, ``hmac-sha2-256``...);
* FortiOS ``ENC`` values, PAN-OS ``-AQ==`` values and ``LUFRPT`` API keys, crypt-style hashes
  anywhere (``$1$ $5$ $6$ $8$ $9$ $sha512$``...), Cisco type 7 strings, the password of URL
  userinfo (``scp://user:PASSWORD@host``), PEM private key blocks (the lines inside one:
  :mod:`bridge.private_keys`);
* SNMP ``auth``/``priv`` passwords, the community of ``snmp-server host`` lines, text
  authentication of HSRP/VRRP/GLBP/NHRP, and the value of a PAN-OS HTTP server profile's
  custom header on its name's line: secrets that no keyword announces;
* FortiOS config-change logs: a keyword's value in brackets (``cfgattr="psksecret[old->new]"``)
  and, where ``cfgattr`` names a secret, its ``cfgold=``/``cfgnew=`` values.

A value is a double-quoted string (escapes honoured), an escaped-quoted one (``\\"...\\"``
as RouterOS scripts write), a single-quoted one, an XML element's text, or a word (a trailing
``;`` stays; on a line that opens with an XML element it ends at a ``<``); how it is
told from the words around it (type markers, command words, the next clause) is
:mod:`bridge.secret_syntax`. Each value becomes :data:`REDACTED`; the keyword and the line
around it stay, so a reader still sees which secret is configured, and a diff still shows
that it changed. When unsure this layer redacts: a hidden word costs a reader some context, a
shown secret costs the network.

Plain functions over strings: the syslog receiver tests its datagrams for the rules' trigger
words first (:mod:`bridge.trigger_words`) and uses :func:`redact_message` behind that test;
the config uploader adds its vendor rules to :data:`RULES` and uses the same span machinery.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from bridge.secret_syntax import (
    CLAUSE,
    COMMAND_WORDS,
    COMMUNITY_MARKER,
    END,
    HEADER_NAME,
    MARKERS,
    PROSE_WORDS,
    SEPARATOR,
    THEN_VALUE,
    VALUE,
    XML_LINE,
    after_keyword,
    before_markup,
    not_value,
    run_as_value,
    to_value,
)

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
    its start. ``after``: the rule applies only to a line right below one that this pattern
    matches at its start (a value written on the line after its name). Sections and the line
    above are a config's: a log message has neither, so the generic rules use neither.
    """

    pattern: re.Pattern[str]
    triggers: tuple[str, ...]
    unless: re.Pattern[str] | None = None
    section: re.Pattern[str] | None = None
    after: re.Pattern[str] | None = None


def rule(
    pattern: str,
    *triggers: str,
    unless: str | None = None,
    section: str | None = None,
    after: str | None = None,
    flags: int = FLAGS,
) -> Rule:
    """A :class:`Rule` from pattern text (case-insensitive unless ``flags`` say otherwise)."""
    return Rule(
        re.compile(pattern, flags),
        triggers,
        re.compile(unless, FLAGS) if unless else None,
        re.compile(section, FLAGS) if section else None,
        re.compile(after, FLAGS) if after else None,
    )


# Names that end like a keyword but introduce no secret, and a FortiOS cfgattr="password",
# which names the attribute whose values stand apart (the cfgattr rules below).
_NOT_KEYWORD: Final = (
    r"(?<!cfgattr=[\"'])"
    r"(?!(?:no-?password|trusted-key|key-?id|auto-key|manual-key|config-key)(?![\w.-]))"
)
# Public keys are never secrets, and not a reason to look closer (sshd logs "accepted
# publickey for ..." all day): a "key" that ends one of these words is no keyword.
PUBLIC_KEYS: Final = ("publickey", "public-key", "pubkey", "hostkey", "sshkey", "ssh-key")
_KEY: Final = "key" + "".join(f"(?<!{re.escape(word)})" for word in PUBLIC_KEYS)
_KEYWORD: Final = (
    # where a token starts, and only if a keyword is in it: the cheap test comes first
    r"(?<![\w.$=-])(?=[\w.-]*?(?:pass|pwd|secret|key|psk|token|phash))(?<!tunnel )"
    + _NOT_KEYWORD
    + r"(?:(?:[a-z0-9]+[-_])+pass(?![\w.-])|(?:[a-z0-9]+[-_])*"
    r"(?:[a-z0-9]*(?:password|passwd|passphrase|secret|" + _KEY + r"|psk|token)(?:-value)?"
    r"|pwd|phash|key-?string|password-encrypt)(?![\w.-]))"
)
# The words one of which every keyword holds: the keyword rules' triggers.
_KEYWORD_WORDS: Final = ("pass", "pwd", "secret", "key", "psk", "token", "phash")
_COMMUNITY: Final = (
    r"(?<![\w.$=-])(?!snmp-community\b)(?:(?!send-|bgp-|large-|ext)[a-z0-9]+[-_])*"
    r"community(?:-name)?(?![\w.-])"
)
# BGP communities are routing policy, not secrets; their well-known names only where a
# route map sets them (``trap-community=internet`` is an SNMP community).
_NOT_COMMUNITY: Final = (
    r"(?!\d+:\d+(?![\w:-])|\S+\s+members\b|(?<=set community )"
    r"(?:no-export|no-advertise|internet|local-as|additive|gshut)(?![\w:-]))"
)


# A word that holds a keyword's word, and a name made of such a word (FortiOS ``psksecret``),
# read possessively: one way to read a long name, so it costs linear time.
_SECRET_WORD: Final = r"(?:pass|pwd|secret|" + _KEY + r"|psk|token|phash)"
_SECRET_NAME: Final = r"(?=[\w.-]*?" + _SECRET_WORD + r")[\w.-]*+"


# A cipher named before an SNMP privacy password (``priv aes 128 X``, NX-OS ``priv aes-128 X``).
_CIPHER: Final = r"(?:3?des\S*|aes\S*)(?:\s+\d+)?"


# Crypt-style hash prefixes ($1$, $6$, $sha512$...): each is its own trigger word, so that a
# "$" in a log line (a Windows machine account, a shell prompt) wakes nothing.
_CRYPT_IDS: Final = (
    "1", "2", "2a", "2b", "2x", "2y", "5", "6", "7", "8", "9", "y", "gy", "sha1", "sha256",
    "sha512", "apr1", "md5",
)  # fmt: skip
# A Cisco type 7 string's start: "7", blanks, the first digit of its salt (0 or 1). A bare
# "7 " would wake the redactor on a third of published log lines ("Mar  7", ":27 ").
_BLANKS: Final = " \t\n\r\x0b\x0c"  # what \s is under re.ASCII
_TYPE7_STARTS: Final = tuple(
    f"7{blank}{then}" for blank in _BLANKS for then in ("0", "1", *_BLANKS)
)


def _generic_rules(prose: bool) -> tuple[Rule, ...]:
    """The vendor-independent rules; in ``prose`` English words after a keyword are no value."""
    exempt = COMMAND_WORDS + "|" + PROSE_WORDS if prose else COMMAND_WORDS
    return (
        rule(
            _KEYWORD + SEPARATOR + after_keyword(exempt),
            *_KEYWORD_WORDS,
            # the index of a key in a key chain (or a Junos block), the key an NTP server is to use
            unless=r"(?:key chain\b.*|.*\{\s*)\n\s*key\s+\d+\s*\{?\s*"
            r"|.*\n.*(?<![\w-])(?:server|peer)\s.*\bkey\s+\d{1,5}\b[^=]*",
        ),
        rule(
            _COMMUNITY
            + SEPARATOR
            + run_as_value(COMMUNITY_MARKER, COMMUNITY_MARKER, CLAUSE + r"|\d+", commands=False)
            + rf"(?:{to_value(COMMUNITY_MARKER, PROSE_WORDS if prose else '')}"
            + rf"{_NOT_COMMUNITY}(?P<v>{VALUE}))?",
            "communit",
        ),
        rule(
            r"(?<![\w=-])md5\s+(?!\d+\s+key\b)"
            + MARKERS
            + not_value("key-string|key-chain|key")
            + THEN_VALUE,
            "md5",
        ),
        rule(r"(?<![\w-])ENC\s" + THEN_VALUE, "enc ", flags=re.ASCII),
        rule(
            r"(?<![\w$])(?P<v>\$(?:" + "|".join(_CRYPT_IDS) + r")\$[^\s\"';]+)",
            *(f"${crypt}$" for crypt in _CRYPT_IDS),
        ),
        rule(r"(?<![\w-])7\s+(?P<v>[01]\d(?:[0-9a-f]{2}){3,})(?![\w])", *_TYPE7_STARTS),
        # the password runs to the last "@" even through a "/" or an "@" (unencoded, it is
        # still the secret)
        rule(r"(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*://[^\s/@:]*:(?P<v>\S*)@", "://"),
        rule(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----(?P<v>.+)", "private key"),
        rule(
            r"(?<![\w-])auth\s+(?:md5|sha\S*)\s+(?!(?:auth|priv)-pass\s+(?:plain|cipher)text\b)"
            + THEN_VALUE,
            "auth",
        ),
        rule(
            # "priv aes-128 localizedkey": the cipher, or the password of an NX-OS user: both go
            r"(?<![\w-])priv\s+(?:(?P<v2>" + _CIPHER + r"\s+localizedkey)(?=" + END + ")"
            r"|(?:" + _CIPHER + r"\s+(?!localizedkey\b))?"
            r"(?!(?:auth|priv)-pass\s+(?:plain|cipher)text\b|\S+\s+priv-pass\b"
            r"|(?:localizedkey|read|write|notify|context|access|match)(?![\w-])(?!" + END + ")"
            r"(?!\s+localizedkey\b))" + THEN_VALUE + ")",
            "priv",
        ),
        rule(
            # after "version 2c" comes the community, whatever it is called
            r"(?<![\w-])snmp-server\s+host\s+\S+(?:\s+(?:vrf|use-vrf|udp-port)\s+\S+)*"
            r"(?:\s+(?:informs|traps))?(?:\s+version\s+(?:1|2c|3(?:\s+(?:auth|noauth|priv))?)\s+"
            r"|\s+(?!\d+\.\d+\.\d+\.\d+)"
            + not_value("community|version|informs|traps|vrf")
            + ")"
            + THEN_VALUE,
            "snmp-server host",
        ),
        rule(
            r"(?<![\w-])(?:(?:standby|vrrp|glbp)(?:\s+\d+)?\s+authentication(?:\s+text)?"
            r"|nhrp\s+authentication|authentication\s+text)\s+"
            + not_value("md5|text")
            + THEN_VALUE,
            "authentication",
        ),
        # A keyword whose value is announced by another keyword (PAN-OS "pre-shared-key key X",
        # Junos "pre-shared-key plain-text-password-value X"): the rule above takes the second
        # keyword for the value and cannot see past it. Both go: when unsure, redact.
        rule(_KEYWORD + r"\s+" + _KEYWORD + SEPARATOR + after_keyword(exempt), *_KEYWORD_WORDS),
        # Names no ending above announces: PAN-OS SNMP "authpwd"/"privpwd" and
        # "snmp-community-string", GlobalProtect's "passcode".
        rule(
            r"(?<![\w.$=-])(?:authpwd|privpwd|(?:[a-z0-9]+-)*community-string|passcode)(?![\w.-])"
            + SEPARATOR
            + after_keyword(exempt),
            "pwd",
            "community-string",
            "passcode",
        ),
        # PAN-OS HTTP server profiles: a custom header's (or URL parameter's) value, which no
        # keyword announces, where one line holds name and value: set form (headers NAME value
        # V), braces as a CONFIG log flattens them (NAME { value V; }), XML on one line. The
        # PAN-OS profile reads the value on the line below its name.
        rule(
            r"(?:(?<![\w-])(?:headers|params)\s+[\"']?" + HEADER_NAME + r"[\"']?\s+value\s+"
            r"|(?<![^\s{};,])[\"']?" + HEADER_NAME + r"[\"']?\s+\{\s*value\s+"
            r"|<entry\s+name=[\"']" + HEADER_NAME + r"[\"']>\s*<value>)(?P<v>" + VALUE + ")",
            "value",
        ),
        # PAN-OS values encrypted with the master key ("-AQ==" and base64), wherever they
        # stand, and its API keys (that shape base64-encoded again: "LUFRPT...").
        rule(r"(?<![\w+/=-])(?P<v>-AQ==[A-Za-z0-9+/=]*)", "-aq==", flags=re.ASCII),
        rule(r"(?<![\w+/])(?P<v>LUFRPT[A-Za-z0-9+/=]+)", "lufrpt", flags=re.ASCII),
        # FortiOS config-change logs: cfgattr="name[x]psksecret[old->new]status[up]"; the value
        # runs to the "]" that ends the attribute (a next "name[", a quote, a blank or the end)
        rule(
            r"(?<![\w.-])" + _SECRET_NAME + r"\[(?!\*\])(?P<v>.*?)\](?=[\w.-]+\[|[\"'\s]|$)",
            *_KEYWORD_WORDS,
        ),
        # ... or with the values apart (cfgattr="password" cfgold="..." cfgnew="...", a shape
        # no Fortinet log reference shows, but log tools write): where cfgattr names a secret,
        # the old and new values go wherever they stand, and so does the field right after a
        # bare secret name, whatever it is called.
        rule(
            r"^(?=.*?(?<![\w.-])cfgattr=(?:\"[^\"]*?|'[^']*?|[^\s\"'=]*?)"
            + _SECRET_WORD
            + ")"
            + "".join(
                rf"(?=(?:.*?(?<![\w.-])(?:cfg)?{age}(?:[-_]?val(?:ue)?)?=(?P<v{age}>{VALUE}))?)"
                for age in ("old", "new")
            )
            + rf"(?=(?:.*?(?<![\w.-])cfgattr=(?P<q>[\"']?){_SECRET_NAME}(?P=q)\s+(?:[\w.-]+=)?"
            rf"(?P<vnext>{VALUE}))?)",
            # its own word: a line with a keyword's (sshd's "password") skips its passes
            "cfgattr",
        ),
    )


RULES: Final = _generic_rules(prose=False)
"""The vendor-independent rules: every line of every config, every echoed command."""
PROSE_RULES: Final = _generic_rules(prose=True)
"""The same rules for log prose, where ``password changed for user`` holds no secret."""
# A log message that echoes a typed command (Cisco ``logged command:``, Junos ``command '...'``,
# ``UI_CMDLINE_READ_LINE``, ``UI_CFGAUDIT_*``, a PAN-OS CSV ``...,CONFIG,...`` log): config
# text, so the strict rules.
_ECHO: Final = re.compile(r"command\b|cmdline|cfgaudit|cfglog|,config,", FLAGS)

_ASCII_LOWER: Final = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def lower(text: str) -> str:
    """``text`` with ASCII letters lowered (what the rules' ASCII case folding sees)."""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


# Each trigger word with its rule; a rule woken by two words is matched twice, harmlessly.
_TRIGGERED: Final = tuple((word, each) for each in RULES for word in each.triggers)
_PROSE_TRIGGERED: Final = tuple((word, each) for each in PROSE_RULES for word in each.triggers)


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
    if found and XML_LINE.match(line):
        cut = (before_markup(line, span) for span in found)
        found = [(start, end) for start, end in cut if start < end]
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

    Only the rules whose trigger words the line holds are matched: most lines that hold any
    wake one or two of them.
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
