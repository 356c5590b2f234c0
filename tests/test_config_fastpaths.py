"""The fast paths of the upload pipeline against plain statements of the same rules.

``normalise`` and ``detect`` work on whole texts with combined regular expressions, and
``unified_diff`` finds the common head and tail on the texts before it compares lines; each is
checked here against a line-by-line reference (the earlier implementation, kept as the spec) on
generated configs built from the very lines the rules are about.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config_uploader import diff as diffing
from config_uploader import normalise as normalising
from config_uploader import vendor as vendors
from config_uploader.normalise import decode, normalise
from config_uploader.redact import private_key_lines, redact_some
from config_uploader.vendor import VENDORS, Vendor, detect
from config_uploader.vendors import PROFILES, Profile

DATA = Path(__file__).parent / "data" / "configs"
SAMPLES = sorted(DATA.glob("*/*"))


# -- the references ------------------------------------------------------------------------


def used(vendor: Vendor) -> list[Profile]:
    """The profiles that normalise a config of ``vendor``: its own, or all if unknown."""
    return [PROFILES[vendor]] if vendor in PROFILES else list(PROFILES.values())


def reference_normalise(text: str, vendor: Vendor) -> str:
    """normalise() as a loop over lines: the statement the fast version must equal."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if any(p.continued_lines for p in used(vendor)) and "\\" in text:
        text = re.sub(r"\\[ \t]*\n[ \t]*", "", text)
    lines = [line.rstrip() for line in text.split("\n")]
    start = 0
    while start < len(lines) and not lines[start]:
        start += 1
    if start < len(lines) and normalising.ECHO.fullmatch(lines[start]):
        start += 1
    volatile = [re.compile(line) for p in used(vendor) for line in p.volatile]
    kept = [line for line in lines[start:] if not any(v.fullmatch(line) for v in volatile)]
    for p in used(vendor):
        for pattern, replacement in p.rewrites:
            for i, line in enumerate(kept):
                if found := re.fullmatch(pattern, line):
                    kept[i] = found.expand(replacement)
    first, last = 0, len(kept)
    while first < last and not kept[first]:
        first += 1
    while last > first and not kept[last - 1]:
        last -= 1
    return "\n".join(kept[first:last]) + "\n" if last > first else ""


def reference_detect(text: str) -> Vendor:
    """detect() with each pattern tried on each line start, in registry order."""
    lines = text[: vendors.SCAN_CHARS].split("\n")
    for line in lines[: vendors.HEAD_LINES]:
        for kind, profile in PROFILES.items():
            if any(re.match(pattern, line) for pattern in profile.decisive):
                return kind
    seen: set[tuple[Vendor, int]] = set()
    for line in lines:
        for kind, profile in PROFILES.items():
            hit = next((j for j, p in enumerate(profile.hints) if re.match(p, line)), None)
            if hit is not None:
                seen.add((kind, hit))
                break
    scores = {kind: sum(1 for k, _ in seen if k == kind) for kind in PROFILES}
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    return best if top >= 2 and top > second else "unknown"


# -- generated configs ---------------------------------------------------------------------

# Lines the rules are about (volatile lines, echoes, banners, hints), near misses, and noise.
LINES = [
    "show config",
    "show running-config",
    "rtr1# show running-config",
    "[admin@ccr1] > /export",
    "/export terse",
    "# Reporting Date: Nov 30 16:35:23 2026",
    "# Reporting Date:",
    "#Reporting Date: x",
    "Building configuration...",
    "Building configuration",
    "Current configuration : 9876 bytes",
    "Current configuration: 12 bytes",
    "Current configuration : many bytes",
    "! Last configuration change at 16:35:23 UTC Mon Nov 30 2026 by netops",
    "!Last configuration change at x",
    "! NVRAM config last updated at 16:35:25 UTC",
    "! No configuration change since last restart",
    "! Startup-config last modified at Nov 30",
    "ntp clock-period 17179869",
    "ntp clock-period x",
    "## Last commit: 2026-11-30 16:35:23 UTC by netops",
    "## Last changed: 2026-11-30",
    "## Last seen: x",
    "# nov/30/2026 16:35:23 by RouterOS 7.16.1",
    "# 2026-12-01 03:00:00 by RouterOS 7.16.1",
    "# 2026-12-01 03:00 by RouterOS 7.16.1",
    "# RTX1210 Rev.14.01.42 (Tue Dec  6 14:25:33 2022)",
    "! device: dc1-leaf1 (DCS-7050SX3-48YC8, EOS-4.30.5M)",
    "version 17.9",
    "version 21.4R3.15;",
    "set version 21.4R3.15",
    "hostname rtr1",
    "interface GigabitEthernet0/1",
    "interface Ethernet1",
    "interface Management1",
    " description uplink",
    "ip lan1 address 192.168.0.1/24",
    "pp select 1",
    "ip cef",
    "ip cef ",
    "line vty 0 4",
    "control-plane",
    "management api http-commands",
    "username admin role network-admin secret sha512 $6$x",
    "enable secret sha512 $6$y",
    "system {",
    "    host-name mx1;",
    "set system host-name mx1",
    "/interface bridge",
    "/ip address",
    "add address=10.0.0.1/24 interface=ether1",
    "set [ find default-name=ether1 ] name=wan",
    "add name=\\",
    "    wan2 comment=x",
    "# software id = 7KQ9-XM2P",
    "!",
    "end",
    "",
    " ",
    "\t",
    "trailing blanks  ",
    "tab and form feed\t\x0c",
    "nbsp\u00a0",
    "ideographic\u3000",
    "x\x1c",
]
line = st.one_of(st.sampled_from(LINES), st.text(st.characters(codec="utf-8"), max_size=30))
ending = st.sampled_from(["\n", "\r\n", "\r", "\n\n", " \n"])
config = st.lists(st.tuples(line, ending), max_size=40).map(
    lambda parts: "".join(text + end for text, end in parts)
)


@settings(max_examples=1500, deadline=None)
@given(text=config, vendor=st.sampled_from(VENDORS))
def test_fast_normalise_equals_the_line_by_line_rules(text: str, vendor: Vendor) -> None:
    assert normalise(text, vendor) == reference_normalise(text, vendor)


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(st.sampled_from(LINES), min_size=300, max_size=600))
def test_fast_normalise_with_many_volatile_lines(parts: list[str]) -> None:
    text = "\n".join(parts)
    for vendor in VENDORS:
        assert normalise(text, vendor) == reference_normalise(text, vendor)


@settings(max_examples=300, deadline=None)
@given(text=config, vendor=st.sampled_from(VENDORS))
def test_normalised_lines_are_the_split_text(text: str, vendor: Vendor) -> None:
    lines = normalising.normalise_lines(text, vendor)
    assert diffing.Text(normalise(text, vendor)).lines == lines
    assert normalising.joined(lines) == normalise(text, vendor)


@settings(max_examples=300, deadline=None)
@given(text=st.text(), vendor=st.sampled_from(VENDORS))
def test_fast_normalise_equals_the_rules_on_any_text(text: str, vendor: Vendor) -> None:
    assert normalise(text, vendor) == reference_normalise(text, vendor)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: str(p.relative_to(DATA)))
def test_fast_paths_agree_on_the_samples(path: Path) -> None:
    text = decode(path.read_bytes())[0]
    assert detect(text) == reference_detect(text)
    for vendor in VENDORS:
        assert normalise(text, vendor) == reference_normalise(text, vendor)


@settings(max_examples=1500, deadline=None)
@given(text=config)
def test_fast_detect_equals_pattern_by_pattern(text: str) -> None:
    assert detect(text) == reference_detect(text)


def test_combined_patterns_keep_alternations_whole() -> None:
    # The first literal goes before the group only where that cannot change the match.
    assert vendors._alternative("x", "ab") == "a(?P<x>b)"
    assert vendors._alternative("x", "a|b") == "(?P<x>a|b)"
    assert vendors._alternative("x", " {4}host") == "(?P<x> {4}host)"
    assert vendors._alternative("x", "(?:set )?version") == "(?P<x>(?:set )?version)"
    assert vendors._top_level_bar("a[|]b") is False
    assert vendors._top_level_bar("a[]|]b") is False
    assert vendors._top_level_bar(r"a\|b") is False
    assert vendors._top_level_bar("(a|b)|c") is True


# -- diffs -----------------------------------------------------------------------------------

small_config = st.lists(st.sampled_from(["a", "b", "c", "!", "key 7 X", ""]), max_size=30).map(
    "\n".join
)


@settings(max_examples=1500, deadline=None)
@given(old=small_config, new=small_config, newline=st.booleans())
def test_known_equal_lines_are_a_lower_bound(old: str, new: str, newline: bool) -> None:
    if newline:
        old, new = old + "\n", new + "\n"
    a, b = diffing._lines(old), diffing._lines(new)
    head, tail = diffing._equal_lines(old, new)
    assert a[:head] == b[:head]
    assert tail == 0 or a[-tail:] == b[-tail:]
    assert diffing._opcodes(a, b, (head, tail)) == diffing._opcodes(a, b)


@settings(max_examples=500, deadline=None)
@given(old=st.text(), new=st.text(), vendor=st.sampled_from(VENDORS))
def test_diff_of_texts_equals_diff_of_prepared_texts(old: str, new: str, vendor: Vendor) -> None:
    expected = diffing.unified_diff(old, new, vendor)
    assert diffing.unified_diff(diffing.Text(old), diffing.Text(new), vendor) == expected
    if old == new or diffing._lines(old) == diffing._lines(new):
        assert expected == ""


def reference_opcodes(a: list[str], b: list[str]) -> list[diffing.Opcode]:
    """The common head and tail cut off, difflib on what is left."""
    from difflib import SequenceMatcher

    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    mid_a, mid_b = a[head : len(a) - tail], b[head : len(b) - tail]
    codes: list[diffing.Opcode] = [("equal", 0, head, 0, head)] if head else []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, mid_a, mid_b, False).get_opcodes():
        codes.append((tag, i1 + head, i2 + head, j1 + head, j2 + head))
    if tail:
        codes.append(("equal", len(a) - tail, len(a), len(b) - tail, len(b)))
    return codes


@settings(max_examples=1500, deadline=None)
@given(old=small_config, new=small_config)
def test_opcodes_equal_difflib_after_trimming(old: str, new: str) -> None:
    a, b = diffing._lines(old), diffing._lines(new)
    assert diffing._opcodes(a, b, diffing._equal_lines(old, new)) == reference_opcodes(a, b)


def test_same_chars_in_chunks() -> None:
    x = "a" * 10_000 + "b" + "c" * 5000
    y = "a" * 10_000 + "d" + "c" * 5000
    assert diffing._same_chars(x, y, len(x), 0) == 10_000
    assert diffing._same_chars(x, y, len(x), -1) == 5000
    assert diffing._same_chars(x, x, len(x), 0) == len(x)
    assert diffing._same_chars(x, y, 7, 0) == 7


def test_redact_some_with_known_private_keys() -> None:
    lines = [
        "crypto key",
        "-----BEGIN RSA PRIVATE KEY-----",
        "MIIEpAIBAAKCAQEA",
        "-----END RSA PRIVATE KEY-----",
        "username a password 0 hunter2",
    ]
    keys = private_key_lines(lines, "\n".join(lines) + "\n")
    assert keys == private_key_lines(lines)
    assert redact_some(lines, "cisco-ios", range(5), keys) == redact_some(
        lines, "cisco-ios", range(5)
    )
    assert "MIIE" not in str(redact_some(lines, "cisco-ios", [2], keys))


# -- the desired config is read again only when it may have changed -------------------------


async def test_desired_dir_answers_known_content_without_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config_uploader import desired as desired_module

    path = tmp_path / "rtr1.conf"
    path.write_bytes(b"hostname rtr1\n")
    source = desired_module.DesiredDir(tmp_path, 1024)
    # Just written: too recent to be named by its timestamps, so read every time.
    first = await source.get("rtr1")
    assert first is not None and first.data == b"hostname rtr1\n" and first.tag is None
    monkeypatch.setattr(desired_module, "RACY_SECONDS", -1.0)
    found = await source.get("rtr1")
    assert found is not None and found.data == b"hostname rtr1\n" and found.tag is not None
    same = await source.get("rtr1", found.tag)
    assert same is not None and same.data is None and same.tag == found.tag
    assert same.location == str(path)
    # Rewritten in place with the same size: ctime and mtime move (a clock tick later: within
    # one tick is the racy case that RACY_SECONDS covers), so it is read again.
    await asyncio.sleep(0.05)
    path.write_bytes(b"hostname rtr2\n")
    changed = await source.get("rtr1", found.tag)
    assert changed is not None and changed.data == b"hostname rtr2\n"
    # Replaced by another file (a git checkout): a new inode.
    (tmp_path / "new").write_bytes(b"hostname rtr3\n")
    (tmp_path / "new").replace(path)
    assert (await source.get("rtr1", changed.tag)).data == b"hostname rtr3\n"  # type: ignore[union-attr]
    path.unlink()
    assert await source.get("rtr1", changed.tag) is None


def test_detection_remembered_per_head_and_bounded() -> None:
    from config_uploader.ingest import DETECT_CHARS
    from config_uploader.pipeline import DETECTED_HEADS, VendorMemo

    memo = VendorMemo()
    heads = [decode(path.read_bytes())[0][:DETECT_CHARS] for path in SAMPLES]
    for _ in range(2):
        assert [memo(head) for head in heads] == [detect(head) for head in heads]
    for n in range(DETECTED_HEADS + 10):
        memo(f"hostname r{n}\n")
    assert len(memo) == DETECTED_HEADS


def test_text_cache_counts_each_text_as_it_was_put_and_evicts_the_oldest() -> None:
    from config_uploader.diff import Text
    from config_uploader.histories import TextCache

    texts = {f"r{n}": Text(f"hostname r{n}\nsnmp-server community c{n} RO\n") for n in range(4)}
    plain = texts["r1"].size
    first = texts["r0"]
    first.redacted(range(2))  # a first upload's diff redacts every line; it is put after that
    assert first.size > plain
    cache = TextCache(first.size + 2 * plain)
    for router, text in texts.items():
        cache.put(router, 1, text)
        text.redacted([1])  # growth after put is not counted, so it cannot unbalance the sum
    assert [cache.get(r, 1) is not None for r in texts] == [False, True, True, True]
    cache.put("r2", 2, first)  # a new version replaces the router's entry
    assert cache.get("r2", 1) is None and cache.get("r2", 2) is first
    assert cache.get("r1", 1) is texts["r1"] and cache.get("r3", 1) is texts["r3"]
