"""Remove secrets from config text before any of it is logged, diffed or served.

A router config holds the keys to the network: login hashes, SNMP communities, TACACS+/RADIUS
keys, IKE pre-shared keys, routing protocol keys. Cisco type 7 and Junos ``$9$`` values are
reversible, the others are crackable offline, so none may reach stdout (CloudWatch) or a
redacted read. Each secret *value* becomes :data:`REDACTED`; the line and everything around the
value stay, so a reader still sees which secret is configured and where.

Rules, per vendor (``"unknown"`` applies all of them, and the generic ones more broadly):

* every vendor: PEM private key blocks (``-----BEGIN ... PRIVATE KEY-----``: every body line;
  certificates are public and stay), crypt-style hashes anywhere (``$1$``, ``$5$``, ``$6$``,
  ``$8$``, ``$9$``, ...), and a generic safety net: whatever follows ``password``,
  ``secret``, ``passphrase``, ``pre-shared-key``, ``psk``, ``private-key``,
  ``authentication-key``, ``key-string``, ... is redacted unless a vendor rule already read
  it (``password 7 X`` keeps its 7). Unknown vendors also lose ``key``, ``community`` and
  ``token`` values.
* cisco-ios and eos: ``enable secret/password``, ``username ... secret/password`` (types 0, 5,
  7, 8, 9, ``sha512``), every ``password``/``secret`` (BGP ``neighbor X password``, ``ppp chap
  password``, IS-IS ``area-password``, line passwords), ``key [0|6|7] X`` (TACACS+/RADIUS keys,
  ``crypto isakmp key``, keyring ``pre-shared-key address A key X``; but not a ``key N`` index
  inside a ``key chain`` and not ``tunnel key``/``crypto key generate``), ``key-string``,
  ``authentication-key`` (OSPF, NTP), ``md5`` keys (``message-digest-key``), IKEv2
  ``pre-shared-key [local|remote]``, ``snmp-server community``, the community of
  ``snmp-server host``, SNMPv3 ``auth``/``priv`` passwords, ``wpa-psk``, HSRP/VRRP/GLBP text
  authentication, ``ip nhrp authentication``.
* junos, brace and ``set`` forms: ``encrypted-password``, ``authentication-key``,
  ``pre-shared-key [ascii-text|hexadecimal]``, ``secret``, ``password``, ``simple-password``,
  SNMPv3 ``privacy-key``/``authentication-password``..., quoted ``key "..."``, and SNMP
  community names (``community NAME {`` inside ``snmp``, ``set snmp community NAME``).
* yamaha: ``login password [encrypted]``, ``administrator password [encrypted]``,
  ``login user NAME [encrypted] PASS``, ``pp auth myname/username NAME PASS``, ``ipsec ike
  pre-shared-key``, ``ipsec ike xauth myname``, ``radius secret``, ``l2tp tunnel auth on``,
  ``sshd host key generate ...``, ``auth user``, SNMP communities and v3 passwords,
  ``mail server`` credentials.
* routeros: any ``...password=``, ``...secret=``, ``...key=``, ``passphrase=``, ``psk=``,
  ``...community=`` attribute (quoted values included), and ``name=`` inside ``/snmp
  community``; a value cut by a ``\\`` line continuation also loses its next line's first word.

All rules see the original line and the union of what they call secret is replaced (one
marker per run), then the line is redacted again until it no longer changes, so redaction is
idempotent. It keeps the number of lines: :func:`redact_some` redacts just the lines a diff
shows, using the rest as context, and the diff module compares unredacted lines but prints
their redacted twins. It is meant for normalised text (see ``normalise``), though raw text is
handled too. Only lines holding a rule's trigger words meet its pattern (found by ``str.find``
over the whole text), which keeps a 64 KiB config in the low milliseconds.

When in doubt it redacts: a hidden non-secret costs a reader some context, a shown secret
costs the network.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Final

from config_uploader.vendor import Vendor

REDACTED: Final = "<redacted>"

# ASCII case folding only: a rule's trigger words (below) must be found by str.lower().
_FLAGS = re.IGNORECASE | re.ASCII
# A value: a double-quoted string (to its closing quote or the end of the line) or one word;
# an earlier redaction counts as one value, so that redacting twice changes nothing.
_VAL = r"""(?:<redacted>|"(?:[^"\\]|\\.)*"?|'[^']*'?|\S+)"""
# Junos values stop before the ; { } [ ] of its syntax.
_JVAL = r"""(?:<redacted>|"(?:[^"\\]|\\.)*"?|[^\s;{}\[\]"]+)"""
# RouterOS attribute values: quoted, or up to the next space.
_RVAL = r"""(?:<redacted>|"(?:[^"\\]|\\.)*"?|[^\s"]+)"""
# Cisco/EOS encryption type markers that sit between a keyword and its value.
_TYPE = r"(?:\d{1,2}[a-z]?|sha512|sha256|md5|encrypted|hashed|nt-encrypted)"


@dataclass(frozen=True, slots=True)
class _Rule:
    """A pattern whose ``v*`` groups are secrets, and words one of which every match holds
    (lower case), so that the many lines without them skip the pattern."""

    pattern: re.Pattern[str]
    triggers: tuple[str, ...]


def _rule(pattern: str, *triggers: str) -> _Rule:
    return _Rule(re.compile(pattern, _FLAGS), triggers)


_COMMON: Final = (_rule(r"(?P<v>\$(?:1|2[abxy]?|5|6|7|8|9|y|sha1|apr1|md5)\$[^\s\"';]+)", "$"),)

_CISCO: Final = (
    _rule(
        r"(?<!\w)(?:password|secret)(?! encryption\b)(?: level \d+)?(?: " + _TYPE + r")? (?P<v>.+)",
        "password",
        "secret",
    ),
    _rule(
        r"^(?!\s*ntp (?:server|peer) ).*?(?<![\w-])(?<!tunnel )(?<!crypto )key"
        r"(?! chain\b| generate\b| config-key\b| pubkey-chain\b| storage\b| zeroize\b"
        r"| import\b| export\b| encrypt\b| decrypt\b)(?: [0-7])? (?P<v>" + _VAL + ")",
        "key ",
    ),
    _rule(r"(?<![\w-])key-string(?: [0-7])? (?P<v>.+)", "key-string "),
    _rule(
        r"(?<![\w-])authentication-key(?: \d+)?(?: md5)?(?: [0-7])? (?P<v>" + _VAL + ")",
        "authentication-key ",
    ),
    _rule(r"(?<![\w-])md5(?! key-string\b| key-chain\b)(?: [0-7])? (?P<v>" + _VAL + ")", "md5 "),
    _rule(
        r"(?<![\w-])pre-shared-key(?! address\b| hostname\b)(?: local| remote)?(?: [0-7])? "
        r"(?P<v>" + _VAL + ")",
        "pre-shared-key ",
    ),
    _rule(r"^snmp-server community (?P<v>" + _VAL + ")", "snmp-server community "),
    _rule(
        r"^snmp-server host \S+(?: vrf \S+)?(?: informs| traps)?"
        r"(?: version (?:1|2c|3(?: auth| noauth| priv)?))? (?P<v>" + _VAL + ")",
        "snmp-server host ",
    ),
    _rule(r"(?<![\w-])auth (?:md5|sha\S*) (?P<v>" + _VAL + ")", "auth "),
    _rule(r"(?<![\w-])priv (?:3des|des\S*|aes(?: \d+)?) (?P<v>" + _VAL + ")", "priv "),
    _rule(r"(?<![\w-])wpa-psk (?:ascii|hex)(?: [0-7])? (?P<v>" + _VAL + ")", "wpa-psk "),
    _rule(
        r"(?<![\w-])(?:standby|vrrp|glbp)(?: \d+)? authentication(?! md5\b)(?: text)? "
        r"(?P<v>" + _VAL + ")",
        " authentication ",
    ),
    _rule(r"(?<![\w-])nhrp authentication (?P<v>" + _VAL + ")", "nhrp authentication "),
)

_JUNOS: Final = (
    _rule(
        r"(?<![\w-])(?:encrypted-password|authentication-key(?: \d+)?+(?: type \S+)?+(?: value)?+"
        r"|hello-authentication-key|pre-shared-key (?:ascii-text|hexadecimal)|pre-shared-key"
        r"|shared-secret|secret|authentication-password|privacy-password|privacy-key"
        r"|community-name|simple-password|password)(?! format\b| minimum-| maximum-"
        r"| change-type\b) (?P<v>" + _JVAL + ")",
        "password ",
        "key ",
        "secret ",
        "community-name ",
    ),
    _rule(r"""(?<![\w-])key (?P<v>"(?:[^"\\]|\\.)*"?)""", "key "),
    _rule(r"(?<![\w-])snmp community (?P<v>" + _JVAL + ")", "snmp community "),
)
_JUNOS_SNMP_COMMUNITY: Final = _rule(
    r"^\s*(?:inactive: )?community (?P<v>" + _JVAL + ")", "community "
)

_YAMAHA: Final = (
    _rule(r"^\s*(?:login|administrator) password(?: encrypted)? (?P<v>.+)", "password "),
    _rule(r"^\s*login user \S+(?: encrypted)? (?P<v>.+)", "login user "),
    _rule(
        r"^\s*pp auth (?:myname|username) \S+ (?P<v>\S+)(?:.*? myname \S+ (?P<v2>\S+))?",
        "pp auth ",
    ),
    _rule(r"^\s*ipsec ike xauth myname \S+ \S+ (?P<v>.+)", "xauth myname "),
    _rule(r"^\s*ipsec ike pre-shared-key \S+(?: text| hex)? (?P<v>.+)", "pre-shared-key "),
    _rule(r"^\s*radius secret (?P<v>.+)", "radius secret "),
    _rule(r"^\s*l2tp tunnel auth on (?P<v>.+)", "l2tp tunnel auth on "),
    _rule(r"^\s*sshd host key generate (?P<v>.+)", "sshd host key generate "),
    _rule(r"^\s*auth user \d+ \S+ (?P<v>\S+)", "auth user "),
    _rule(
        r"^\s*snmp(?:v2c)? (?:community (?:read-only|read-write)|trap community) (?P<v>.+)",
        "community ",
    ),
    _rule(r"^\s*snmp(?:v2c)? (?:trap )?host \S+(?: (?:1|2c|trap|inform))* (?P<v>\S+)", "host "),
    _rule(
        r"^\s*snmpv3 usm user .*?(?:md5|sha\S*) (?P<v>\S+)(?: \S+ (?P<v2>\S+))?",
        "snmpv3 usm user ",
    ),
    _rule(r"^\s*mail server .*?(?:smtp-auth|pop3|apop) \S+ (?P<v>\S+)", "mail server "),
)

_ROUTEROS: Final = (
    _rule(
        r"(?<![\w-])(?:[\w-]*-)?(?:password|secret|key|passphrase|psk|community)=(?P<v>"
        + _RVAL
        + ")",
        "password=",
        "secret=",
        "key=",
        "passphrase=",
        "psk=",
        "community=",
    ),
)
_ROUTEROS_SNMP_NAME: Final = _rule(r"(?<![\w-])name=(?P<v>" + _RVAL + ")", "name=")

_NET_KEYWORDS: Final = (
    r"password|passwd|secret|passphrase|pre-?shared-?key|psk|psk-key|private-key|auth-key"
    r"|authentication-key|key-string|shared-key|api-key"
)
_NET_TRIGGERS: Final = (
    "pass",
    "secret",
    "psk",
    "shared",
    "private-key",
    "auth-key",
    "authentication-key",
    "key-string",
    "api-key",
)
_NET_VALUE: Final = (
    r"(?!(?:encryption|format|minimum|maximum|min-length|change-type|prompt|recovery)\b)"
    r"(?P<v>[^\s{}\[\];].*)"
)
_NET: Final = _rule(
    r"(?<![A-Za-z0-9_])(?:" + _NET_KEYWORDS + r")(?:\s*[=:]\s*|\s+)" + _NET_VALUE,
    *_NET_TRIGGERS,
)
# RouterOS writes attribute=value: a keyword followed by a blank is a value, not a key.
_NET_ROUTEROS: Final = _rule(
    r"(?<![A-Za-z0-9_])(?:" + _NET_KEYWORDS + r")\s*[=:]\s*" + _NET_VALUE, *_NET_TRIGGERS
)
# Junos values end at its ; { } syntax.
_NET_JUNOS: Final = _rule(
    r"(?<![A-Za-z0-9_])(?:" + _NET_KEYWORDS + r")\s+" + _NET_VALUE.replace(".*", "[^;{}]*"),
    *_NET_TRIGGERS,
)
_NET_UNKNOWN: Final = _rule(
    r"(?<![A-Za-z0-9_])(?:"
    + _NET_KEYWORDS
    + r"|key|community|token)(?:\s*[=:]\s*|\s+)"
    + _NET_VALUE,
    *_NET_TRIGGERS,
    "key",
    "communit",
    "token",
)

_PEM_BEGIN: Final = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----", _FLAGS)
_PEM_END: Final = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----", _FLAGS)
_KEY_INDEX: Final = re.compile(r"\s+key \d+")
_QUOTED: Final = re.compile(r'"(?:[^"\\]|\\.)*"?')
_FIRST_WORD: Final = re.compile(r"\s*(\S+)")


Span = tuple[int, int]


def _spans(rules: Iterable[_Rule], line: str, matched: list[Span] | None = None) -> list[Span]:
    """Where in ``line`` the ``v*`` groups of the rules match: the secret values. The whole
    matches are appended to ``matched`` if given."""
    found: list[Span] = []
    for rule in rules:
        pattern = rule.pattern
        for match in pattern.finditer(line):
            if matched is not None:
                matched.append(match.span())
            for name in pattern.groupindex:
                if name[0] == "v" and match.start(name) < match.end(name):
                    found.append(match.span(name))
    return found


def _inside(at: int, spans: Iterable[Span]) -> bool:
    return any(start <= at < end for start, end in spans)


def _render(line: str, spans: list[Span]) -> str:
    """``line`` with the union of ``spans`` replaced, each run by one :data:`REDACTED`."""
    out: list[str] = []
    pos = -1
    for start, end in sorted(spans):
        if start <= pos or (pos >= 0 and not line[pos:start].strip()):
            # overlaps the run just written or is apart by blanks only: one value, one marker
            pos = max(pos, end)
            continue
        out.append(line[max(pos, 0) : start])
        out.append(REDACTED)
        pos = end
    out.append(line[max(pos, 0) :])
    return "".join(out)


@dataclass(frozen=True, slots=True)
class _Profile:
    rules: tuple[_Rule, ...]
    net: _Rule
    cisco: bool = False
    junos: bool = False
    routeros: bool = False

    def words(self) -> dict[str, tuple[_Rule, ...]]:
        """Each trigger word with the rules it wakes."""
        rules = (*self.rules, self.net)
        if self.junos:
            rules += (_JUNOS_SNMP_COMMUNITY,)
        if self.routeros:
            rules += (_ROUTEROS_SNMP_NAME,)
        words: dict[str, tuple[_Rule, ...]] = {}
        for rule in rules:
            for word in rule.triggers:
                words[word] = (*words.get(word, ()), rule)
        return words


_PROFILES: Final[dict[Vendor, _Profile]] = {
    "cisco-ios": _Profile(_CISCO + _COMMON, _NET, cisco=True),
    "eos": _Profile(_CISCO + _COMMON, _NET, cisco=True),
    "junos": _Profile(_JUNOS + _COMMON, _NET_JUNOS, junos=True),
    "yamaha": _Profile(_YAMAHA + _COMMON, _NET),
    "routeros": _Profile(_ROUTEROS + _COMMON, _NET_ROUTEROS, routeros=True),
    "unknown": _Profile(
        _YAMAHA + _ROUTEROS + _JUNOS + _CISCO + _COMMON,
        _NET_UNKNOWN,
        cisco=True,
        junos=True,
        routeros=True,
    ),
}
_WORDS: Final = {vendor: profile.words() for vendor, profile in _PROFILES.items()}
_WORDS_OF: Final = {id(profile): _WORDS[vendor] for vendor, profile in _PROFILES.items()}
_ASCII_LOWER: Final = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def redact(text: str, vendor: Vendor) -> str:
    """``text`` with every secret value replaced by :data:`REDACTED`, line for line."""
    return "\n".join(redact_lines(text.split("\n"), vendor))


def redact_lines(lines: Sequence[str], vendor: Vendor, *, _prefilter: bool = True) -> list[str]:
    """Redact a sequence of lines (without their line ends); the result has the same length.

    ``_prefilter=False`` matches every rule against every line, where normally only lines
    holding one of a rule's trigger words are (the tests check that both agree).
    """
    out = list(lines)
    for k, line in _redacted(lines, vendor, None, _prefilter).items():
        out[k] = line
    return out


def redact_some(
    lines: Sequence[str],
    vendor: Vendor,
    indexes: Iterable[int],
    private_keys: dict[int, str] | None = None,
) -> dict[int, str]:
    """The redacted form of just the lines at ``indexes`` (context is still read from all).

    A diff shows a few lines of a long config: redacting only those keeps an upload cheap.
    ``private_keys`` is :func:`private_key_lines` of ``lines`` when the caller has it already
    (finding them scans the whole text, which costs more than the rest).
    """
    wanted = sorted({k for k in indexes if 0 <= k < len(lines)})
    changed = _redacted(lines, vendor, wanted, True, private_keys)
    return {k: changed.get(k, lines[k]) for k in wanted}


def _hits(
    lines: Sequence[str], indexes: Sequence[int], words: Iterable[str]
) -> dict[int, set[str]]:
    """For each line (of those at ``indexes``) holding any of ``words``, ASCII
    case-insensitively, the words it holds.

    One ``str.find`` sweep per word over the joined text: a few hundred microseconds for 64 KiB,
    where a regular expression per line costs milliseconds.
    """
    chosen = [lines[k] for k in indexes]
    text = "\n".join(chosen)
    low = text.lower() if text.isascii() else text.translate(_ASCII_LOWER)
    starts = [0, *accumulate(len(line) + 1 for line in chosen)]
    found: dict[int, set[str]] = {}
    for word in words:
        at = low.find(word)
        while at >= 0:
            i = bisect_right(starts, at) - 1
            found.setdefault(indexes[i], set()).add(word)
            at = low.find(word, starts[i + 1])
    return found


class _Context:
    """What a line means depends on lines above it; found lazily, lines visited in order."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = lines
        self.seen = 0
        self.last_parent = ""  # Cisco: the last unindented line
        self.last_section = ""  # RouterOS: the last /path line
        self.snmp: frozenset[int] | None = None  # Junos: lines inside snmp { }

    def _advance(self, k: int) -> None:
        for line in self.lines[self.seen : k + 1]:
            first = line[:1]
            if first == "/":
                self.last_section = line
            if first not in ("", " ", "\t"):
                self.last_parent = line
        self.seen = max(self.seen, k + 1)

    def parent(self, k: int) -> str:
        self._advance(k)
        return self.last_parent

    def section(self, k: int) -> str:
        self._advance(k)
        return self.last_section

    def in_snmp(self, k: int) -> bool:
        if self.snmp is None:
            self.snmp = _junos_snmp_lines(self.lines)
        return k in self.snmp


_MAX_CONTINUATION: Final = 1000


def _continued(lines: Sequence[str], wanted: Sequence[int]) -> list[int]:
    """``wanted`` plus the lines a wanted line continues (RouterOS ``\\`` line ends)."""
    extra: set[int] = set(wanted)
    for k in wanted:
        j = k
        while j > 0 and k - j < _MAX_CONTINUATION and lines[j - 1].endswith("\\"):
            j -= 1
            extra.add(j)
    return sorted(extra)


def _redacted(
    lines: Sequence[str],
    vendor: Vendor,
    wanted: Sequence[int] | None,
    prefilter: bool,
    private_keys: dict[int, str] | None = None,
) -> dict[int, str]:
    """The lines (of ``wanted``, else all) that redaction changes, by index.

    Every rule of the vendor is matched against the original line and the union of what they
    call secret is replaced, so no rule can hide a value from another. The generic safety net
    adds what it finds away from those values (so ``password 7 <redacted>`` keeps its type).
    """
    profile = _PROFILES[vendor]
    words = _WORDS[vendor]
    indexes: Sequence[int] = range(len(lines)) if wanted is None else wanted
    if profile.routeros and wanted is not None:
        indexes = _continued(lines, wanted)
    if prefilter:
        hits = _hits(lines, indexes, words)
    else:
        every = set(words)
        hits = {k: every for k in indexes}
    # every private key, wherever it starts
    changed = dict(private_keys) if private_keys is not None else private_key_lines(lines)
    context = _Context(lines)
    done = -1  # lines up to this one are finished (continuations)
    for k in sorted(hits):
        if k <= done or k in changed:
            continue
        line = lines[k]
        rules, net = _woken(line, hits[k], profile, context, k)
        spans = _line_spans(line, rules, net)
        if spans:
            changed[k] = _settle(line, spans, rules, net)
        # RouterOS: a value cut by a "\" continuation goes on with the next line's first word.
        while profile.routeros and k + 1 < len(lines) and line.endswith("\\"):
            if not any(end == len(line) for _, end in spans):
                break
            k += 1
            line = lines[k]
            first = _FIRST_WORD.match(line)
            rules, net = _woken(line, hits.get(k, ()), profile, context, k)
            spans = [first.span(1)] if first else []
            spans += _line_spans(line, rules, net)
            if spans:
                changed[k] = _settle(line, spans, rules, net)
            done = k
    if wanted is not None:
        keep = set(wanted)
        return {k: line for k, line in changed.items() if k in keep}
    return changed


def _woken(
    line: str, found: Iterable[str], profile: _Profile, context: _Context, k: int
) -> tuple[list[_Rule], _Rule | None]:
    """The rules that the trigger words ``found`` in line ``k`` wake, and the safety net."""
    words = _WORDS_OF[id(profile)]
    woken = {id(rule): rule for word in found for rule in words[word]}
    net = woken.pop(id(profile.net), None)
    if id(_JUNOS_SNMP_COMMUNITY) in woken and not context.in_snmp(k):
        del woken[id(_JUNOS_SNMP_COMMUNITY)]
    if id(_ROUTEROS_SNMP_NAME) in woken and not _is_snmp_section(context.section(k)):
        del woken[id(_ROUTEROS_SNMP_NAME)]
    if profile.cisco and _KEY_INDEX.fullmatch(line) and context.parent(k)[:9] == "key chain":
        woken.clear()  # a key chain's key index is no key
    return list(woken.values()), net


def _line_spans(line: str, rules: Iterable[_Rule], net: _Rule | None) -> list[Span]:
    """The secret spans of ``line``: every rule's, and the net's away from what they read."""
    matched: list[Span] = []
    spans = _spans(rules, line, matched)
    if net is not None:
        # What a vendor rule has read (``password 7 X``: the 7 is a type) is not the net's.
        spans += [span for span in _spans((net,), line) if not _inside(span[0], matched)]
    return spans


_MAX_ROUNDS: Final = 8


def _settle(line: str, spans: list[Span], rules: list[_Rule], net: _Rule | None) -> str:
    """Render ``spans``, then redact the result again until it stays as it is.

    One rule's view of the redacted line can differ from all rules' view of the original
    (the net sees a keyword whose value another rule took); settling makes redacting an
    already redacted text change nothing. A redaction adds no trigger word, so the rules
    woken by the original line are all that can match.
    """
    new = _render(line, spans)
    for _ in range(_MAX_ROUNDS):
        again = _line_spans(new, rules, net)
        newer = _render(new, again) if again else new
        if newer == new:
            break
        new = newer
    return new


def _is_snmp_section(section: str) -> bool:
    return section[:15].lower() == "/snmp community"


def _junos_snmp_lines(lines: Sequence[str]) -> frozenset[int]:
    """The lines of a Junos brace config that sit inside an ``snmp { }`` block."""
    inside: set[int] = set()
    stack: list[str] = []
    for k, line in enumerate(lines):
        if "snmp" in stack:
            inside.add(k)
        if "{" in line or "}" in line:
            _junos_blocks(line, stack)
    return frozenset(inside)


def private_key_lines(lines: Sequence[str], text: str | None = None) -> dict[int, str]:
    """Every line of every private key block, redacted, by index.

    ``text`` is ``"\\n".join(lines)`` (possibly with one more newline) if the caller has it.
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


def _junos_blocks(line: str, stack: list[str]) -> None:
    """Track the open ``{`` blocks of a Junos brace config (quoted text ignored)."""
    if "{" not in line and "}" not in line:
        return
    bare = _QUOTED.sub('""', line)
    name = next((w for w in bare.split() if w not in ("inactive:", "protect:")), "")
    for ch in bare:
        if ch == "{":
            stack.append(name)
        elif ch == "}" and stack:
            stack.pop()
