"""Diffs: difflib's format, secrets shown as changed but never shown, and pieces that fit one
stdout line each and join back into the whole diff."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.output import envelope, fit
from config_uploader import diff as diffing
from config_uploader.diff import unified_diff
from config_uploader.normalise import decode, normalise
from config_uploader.vendor import VENDORS, Vendor, detect

DATA = Path(__file__).parent / "data" / "configs"
SECRETS: dict[str, list[str]] = {
    name: values
    for name, values in json.loads((DATA / "secrets.json").read_text()).items()
    if not name.startswith("_")
}


def normalised(name: str) -> tuple[str, Vendor]:
    text = decode((DATA / name).read_bytes())[0]
    vendor = detect(text)
    return normalise(text, vendor), vendor


def reference(old: str, new: str, fromfile: str = "previous", tofile: str = "current") -> str:
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), fromfile, tofile, lineterm="", n=3
    )
    text = "\n".join(lines)
    return text + "\n" if text else ""


def test_changed_secret_shows_as_changed_but_redacted() -> None:
    old, vendor = normalised("cisco-ios/rtr1-confg")
    new = old.replace("PlainIbgpPwDc1", "RotatedIbgpPw").replace("Core LAN", "Core LAN v2")
    diff = unified_diff(old, new, vendor, fromfile="dc1-rtr1/1", tofile="dc1-rtr1/2")
    assert diff.startswith("--- dc1-rtr1/1\n+++ dc1-rtr1/2\n@@ ")
    assert "- neighbor 10.255.255.2 password <redacted>\n" in diff
    assert "+ neighbor 10.255.255.2 password <redacted>\n" in diff
    assert "- description Core LAN\n+ description Core LAN v2\n" in diff
    assert "PlainIbgpPwDc1" not in diff and "RotatedIbgpPw" not in diff
    # context lines are redacted too
    assert " neighbor 169.254.10.1 password 7 <redacted>\n" in diff


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_whole_config_diffs_carry_no_secret(name: str) -> None:
    text, vendor = normalised(name)
    first_upload = unified_diff("", text, vendor)
    gone = unified_diff(text, "", vendor)
    rotated = text
    for secret in SECRETS[name]:
        rotated = rotated.replace(secret, secret[:-2] + "Zq")
    rotation = unified_diff(text, rotated, vendor)
    assert rotation  # the secrets changed, so the diff says so
    for diff in (first_upload, gone, rotation):
        for secret in SECRETS[name]:
            assert secret not in diff
            assert secret[:-2] + "Zq" not in diff
    added = [line for line in first_upload.split("\n")[3:] if line.startswith("+")]
    assert len(added) == text.count("\n")


def test_equal_texts_have_no_diff() -> None:
    text, vendor = normalised("junos/mx1_juniper.conf")
    assert unified_diff(text, text, vendor) == ""
    assert unified_diff("", "", vendor) == ""


def test_same_format_as_difflib_when_nothing_is_secret() -> None:
    old = "".join(f"line {i}\n" for i in range(40))
    new = old.replace("line 3\n", "").replace("line 20\n", "line twenty\n") + "line 40\n"
    assert unified_diff(old, new, "unknown") == reference(old, new)


def patched(old: list[str], diff: str) -> list[str]:
    """``old`` with a unified diff applied, checking each hunk against its header."""
    lines = diff.split("\n")[:-1]
    assert lines[:2] == ["--- previous", "+++ current"]
    out: list[str] = []
    pos, i = 0, 2
    while i < len(lines):
        header = re.fullmatch(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", lines[i])
        assert header, lines[i]
        start, count = int(header[1]), int(header[2] or 1)
        new_count = int(header[4] or 1)
        begin = start - 1 if count else start
        out += old[pos:begin]
        pos = begin
        i += 1
        seen_old = seen_new = 0
        while i < len(lines) and not lines[i].startswith("@@"):
            tag, text = lines[i][0], lines[i][1:]
            if tag in " -":
                assert old[pos] == text
                pos += 1
                seen_old += 1
            if tag in " +":
                out.append(text)
                seen_new += 1
            i += 1
        assert (seen_old, seen_new) == (count, new_count)
    return out + old[pos:]


@settings(max_examples=500, deadline=None)
@given(
    old=st.lists(st.sampled_from(["a", "b", "c", "!", "end", " x", ""]), max_size=30),
    new=st.lists(st.sampled_from(["a", "b", "c", "!", "end", " x", "d", ""]), max_size=30),
    context=st.integers(min_value=0, max_value=4),
)
def test_applying_the_diff_gives_the_new_text(old: list[str], new: list[str], context: int) -> None:
    a = "".join(line + "\n" for line in old)
    b = "".join(line + "\n" for line in new)
    diff = unified_diff(a, b, "cisco-ios", context=context)
    assert (diff == "") == (old == new)
    if diff:
        assert patched(old, diff) == new


def test_huge_rewrites_skip_the_matcher_but_stay_a_diff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diffing, "MAX_MATCH_WORK", 100)
    old = "".join(f"old {i}\n" for i in range(50))
    new = "head\n" + "".join(f"new {i}\n" for i in range(60))
    diff = unified_diff(old, new, "unknown")
    assert diff.startswith("--- previous\n+++ current\n@@ -1,50 +1,61 @@\n")
    assert diff.count("\n-old ") == 50 and diff.count("\n+new ") == 60


def test_a_big_diff_is_spread_over_lines_that_each_fit() -> None:
    old, vendor = normalised("cisco-ios/rtr1-confg")
    diff = unified_diff("", old * 16, vendor)
    record = envelope("config.changed", "info", 0.0, {"router": "dc1-rtr1", "diff": diff})
    lines = [orjson.loads(line) for line in fit(record, split="diff")]
    assert len(lines) >= 6 and "".join(line["diff"] for line in lines) == diff
    for n, line in enumerate(lines, 1):
        assert (line["part"], line["parts"], line["router"]) == (n, len(lines), "dc1-rtr1")
        assert line["diff"].endswith("\n")  # cut at line ends when lines fit


def lines_of(text: str) -> list[str]:
    return text.split("\n")[:-1] if text.endswith("\n") else text.split("\n") if text else []


@settings(max_examples=300, deadline=None)
@given(old=st.text(), new=st.text(), vendor=st.sampled_from(VENDORS))
def test_diff_of_any_texts_never_raises(old: str, new: str, vendor: Vendor) -> None:
    diff = unified_diff(old, new, vendor)
    # Equal when their lines are: a final newline ends the last line ("" has no line, "\n" one
    # empty line, "x" and "x\n" the same one).
    assert (diff == "") == (lines_of(old) == lines_of(new))
    assert diff == "" or diff.startswith("--- previous\n+++ current\n@@ -")
