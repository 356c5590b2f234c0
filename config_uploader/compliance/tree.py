"""A config as the ordered lines that compliance rules look at, each with its section path.

Rules name lines by their place in the hierarchy (``line vty 0 4`` then ``transport input
ssh``), so every line is read with the headers of the sections it sits in. How a vendor writes
sections differs, and each is read its own way:

* Cisco IOS, EOS, Yamaha (and unknown vendors): by indentation; comment lines (``!`` or ``#``)
  are skipped; a Cisco ``banner motd ^C ... ^C`` (or EOS's ``banner login`` ... ``EOF``) is one
  section whose body lines are its children, since banner text is not indented.
* Junos: as ``set`` commands, one flat line each, whether uploaded in that form or in braces
  (``system { ntp { server 10.0.0.1; } }`` becomes ``set system ntp server 10.0.0.1``), so one
  rule fits both forms; ``#`` and ``/* */`` comments are skipped.
* RouterOS: a ``/ip service`` line opens a section and the ``set``/``add`` lines below it are
  its children; ``#`` comments are skipped.
* PAN-OS: as ``set`` commands too, whether uploaded as XML (``<deviceconfig><system>
  <hostname>fw1</hostname>`` becomes ``set deviceconfig system hostname fw1``), in the CLI's
  brace form (``config { ... }``, read as Junos braces) or in ``set`` form; a list of members
  is one line per member in all three; ``!`` comments (Oxidized's system info) are skipped.

Input is normalised text (see ``normalise``); the cost is one pass over its lines.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from html import unescape
from typing import Final

Path = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Line:
    path: Path
    """The stripped texts of the section headers above the line, then its own."""

    @property
    def text(self) -> str:
        return self.path[-1]

    @property
    def depth(self) -> int:
        return len(self.path) - 1


_COMMENT: Final = {"cisco-ios": "!", "eos": "!", "yamaha": "#", "routeros": "#", "junos": "#"}
# Cisco: "banner motd ^C" or "banner motd #text#"; EOS: "banner login" alone, closed by EOF.
_BANNER: Final = re.compile(r"banner\s+\S+\s*(.*)")


def lines_of(text: str, vendor: str) -> list[Line]:
    """The lines of ``text`` in order, each with its section path."""
    raw = text.splitlines()
    if vendor == "junos":
        return [Line((line,)) for line in junos_set_lines(raw)]
    if vendor == "routeros":
        return list(_slash_sections(raw))
    if vendor == "panos":
        return [Line((line,)) for line in panos_set_lines(raw)]
    return list(_indented(raw, _COMMENT.get(vendor, "!#")))


def render(lines: Iterable[Line]) -> list[str]:
    """Config text for ``lines``: each under its section headers (written once per run), one
    space of indentation per level, as routers accept it back (banner text as written)."""
    out: list[str] = []
    above: Path = ()
    for line in lines:
        shared = 0
        while shared < min(len(above), line.depth) and above[shared] == line.path[shared]:
            shared += 1
        verbatim = line.path[0].startswith("banner ")
        out.extend(
            line.path[level] if verbatim and level else " " * level + line.path[level]
            for level in range(shared, line.depth + 1)
        )
        above = line.path
    return out


def difference(these: Sequence[Line], those: Sequence[Line]) -> tuple[Line, ...]:
    """The lines of ``these`` beyond ``those`` (multiset difference, in ``these``'s order)."""
    spare = Counter(line.path for line in those)
    out: list[Line] = []
    for line in these:
        if spare[line.path] > 0:
            spare[line.path] -= 1
        else:
            out.append(line)
    return tuple(out)


def _indented(raw: list[str], comment: str) -> Iterator[Line]:
    stack: list[tuple[int, str]] = []
    banner_end: str | None = None
    for text in raw:
        stripped = text.strip()
        if banner_end is not None:  # inside a banner: every line is body, kept as written
            if stripped == banner_end or (banner_end != "EOF" and stripped.endswith(banner_end)):
                banner_end = None
            yield Line((stack[0][1], text.rstrip()))
            continue
        if not stripped or stripped[0] in comment:
            continue
        indent = len(text) - len(text.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = (*(header for _, header in stack), stripped)
        stack.append((indent, stripped))
        yield Line(path)
        if indent == 0 and (banner := _BANNER.fullmatch(stripped)):
            banner_end = _banner_end(banner.group(1))


def _banner_end(rest: str) -> str | None:
    """What closes a banner whose header ends in ``rest``; None when it closes on its line."""
    if not rest:
        return "EOF"
    delimiter = "^C" if rest.startswith("^C") else rest[0]
    return None if delimiter in rest[len(delimiter) :] else delimiter


def _slash_sections(raw: list[str]) -> Iterator[Line]:
    header: str | None = None
    for text in raw:
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("/"):
            header = stripped
            yield Line((header,))
        elif header is None:
            yield Line((stripped,))
        else:
            yield Line((header, stripped))


_JUNOS_COMMENT: Final = re.compile(r"\s*(?:##.*|/\*.*?\*/)\s*$")


def junos_set_lines(raw: list[str]) -> list[str]:
    """Junos lines as ``set`` commands: brace form flattened, ``set`` form kept."""
    out: list[str] = []
    stack: list[str] = []
    in_comment = False
    for text in raw:
        line = _JUNOS_COMMENT.sub("", text).strip()
        if in_comment:
            in_comment = "*/" not in line
            continue
        if line.startswith("/*"):
            in_comment = "*/" not in line
            continue
        if not line or line.startswith("#"):
            continue
        if line.startswith(("set ", "delete ", "deactivate ", "activate ")):
            out.append(line)
        elif line.endswith("{"):
            stack.append(line[:-1].strip())
        elif line.startswith("}"):
            if stack:
                stack.pop()
        else:
            words = line.rstrip(";").strip()
            if "[" in words and words.endswith("]"):
                head, _, values = words.partition("[")
                # "authentication-order [ tacplus radius ];" is one set line per value.
                for value in values.rstrip("]").split():
                    out.append(" ".join(["set", *stack, *head.split(), value]))
            else:
                out.append(" ".join(["set", *stack, words]))
    return out


# PAN-OS XML as the firewall writes it, one element per line: an opening tag, a closing one, an
# empty element, or a leaf with its text (closed on the line, or a value running over lines).
_XML_ELEMENT: Final = re.compile(
    r"<(?P<close>/)?(?P<tag>[\w.:-]+)(?P<attrs>[^>]*?)(?P<empty>/)?>(?P<text>[^<]*)(?P<end></)?"
)
_ENTRY_NAME: Final = re.compile(r"""\bname=(["'])(.*?)\1""")
# Above the set form's first word: an API response's wrapper, the root, and on a firewall with
# one virtual system the device itself and that system, which the set form leaves out.
_PANOS_ABOVE: Final = re.compile(
    r"(?:(?:response|result|config) )*(?:devices localhost\.localdomain )?(?:vsys vsys1 )?"
)


def panos_set_lines(raw: list[str]) -> list[str]:
    """PAN-OS lines as ``set`` commands: XML and braces flattened, ``set`` form kept, one per
    member."""
    raw = [text for text in raw if not text.lstrip().startswith("!")]
    if any(text.strip() == "config {" for text in raw[:10]):
        return [_set_form(line.removeprefix("set ")) for line in junos_set_lines(raw)]
    out: list[str] = []
    stack: list[str] = []
    value_end: str | None = None  # the closing tag of a value running over lines
    for text in raw:
        line = text.strip()
        if value_end is not None:
            value_end = None if value_end in line else value_end
            continue
        if line.startswith("set "):
            out.extend(_one_per_member(line))
            continue
        element = _XML_ELEMENT.match(line)
        if element is None or line.startswith(("<?", "<!")):
            continue  # a declaration, a comment, or the text of a set-form value over lines
        if element["close"]:
            del stack[-1:]
            continue
        tag, value = element["tag"], unescape(element["text"]).strip()
        name = _ENTRY_NAME.search(element["attrs"]) if tag == "entry" else None
        word = _quoted(name.group(2)) if name else tag
        if element["empty"]:
            out.append(_set_line(stack, word))
        elif element["end"]:
            out.append(
                _set_line(stack, _quoted(value) if tag == "member" else f"{word} {_quoted(value)}")
            )
        elif value:  # its first line, opening a quote as the set form does
            out.append(_set_line(stack, f'{word} "{value}'))
            value_end = f"</{tag}>"
        else:
            stack.append(word)
    return out


def _set_line(stack: list[str], last: str) -> str:
    return _set_form(" ".join([*stack, last]))


def _set_form(path: str) -> str:
    """``set`` and ``path`` without what the set form leaves out above its first word."""
    above = _PANOS_ABOVE.match(path)
    return "set " + path[above.end() if above else 0 :]


def _quoted(value: str) -> str:
    """A value as the set form writes it: in double quotes when it holds a blank."""
    return f'"{value}"' if not value or any(c.isspace() for c in value) else value


def _one_per_member(line: str) -> list[str]:
    """``set ... application [ ssl ssh ]`` as one line per member."""
    head, bracket, members = line.partition(" [ ")
    if not bracket or not members.endswith("]"):
        return [line]
    return [f"{head} {member}" for member in members[:-1].split()]
