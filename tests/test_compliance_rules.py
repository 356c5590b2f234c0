"""The --compliance rules file: good files read, every mistake named with its place."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from config_uploader.compliance.rules import RulesError, load_rules, parse_rules
from config_uploader.vendor import VENDORS

PCI = Path(__file__).parent.parent / "deploy" / "compliance" / "pci.yaml"

GOOD = """
vendors:
  cisco-ios:
    - name: ntp
      requirement: "10.6.2"
      lines: ["ntp server ", "ntp authenticate"]
      required: true
    - name: ssh
      lines: [["line vty ", "transport input "]]
      regex: ['^ip ssh version \\d$']
      forbid: ['\\btelnet\\b']
    - name: acl
      sections: ["ip access-list extended VTY-IN"]
      ordered: true
  eos:
    - name: ntp
      lines: "ntp server "
"""


def test_good_rules() -> None:
    rules = parse_rules(GOOD, "good.yaml", VENDORS)
    ntp, ssh, acl = rules.features("cisco-ios")
    assert (ntp.name, ntp.requirement, ntp.required, ntp.ordered) == ("ntp", "10.6.2", True, False)
    assert ntp.selects(("ntp server 10.0.0.1",)) and not ntp.selects(("ntp master",))
    assert ssh.selects(("line vty 0 4", "transport input ssh"))
    assert not ssh.selects(("line vty 0 4",))
    assert not ssh.selects(("transport input ssh",))
    assert ssh.selects(("ip ssh version 2",)) and not ssh.selects(("ip ssh version 22",))
    assert ssh.forbids("transport input telnet ssh")
    assert acl.ordered and acl.selects(("ip access-list extended VTY-IN", "10 permit tcp any"))
    assert acl.selects(("ip access-list extended VTY-IN",))
    assert [f.name for f in rules.features("eos")] == ["ntp"]
    assert rules.features("yamaha") == ()
    assert rules.source == "good.yaml"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("vendors: [", r"bad\.yaml: line \d+ invalid YAML"),
        ("- a\n- b\n", "expected a mapping with a 'vendors' key"),
        ("vendors: {}\n", "'vendors' must map"),
        ("vendors:\n  cisco-ios: {}\n", r"vendors\.cisco-ios: expected a list of features"),
        ("vendors:\n  cisco: [{name: a, lines: [x]}]\n", "unknown vendor"),
        ("vendors:\n  junos: [{name: a, line: [x]}]\n", r"junos\[0\].*unknown key 'line'"),
        ("vendors:\n  junos: [{lines: [x]}]\n", "'name' must be a non-empty string"),
        ("vendors:\n  junos: [{name: a}]\n", r"\(a\): no lines, sections, regex or forbid"),
        ("vendors:\n  junos: [{name: a, regex: ['(']}]\n", r"\(a\)\.regex: bad regular"),
        ("vendors:\n  junos: [{name: a, forbid: ['[']}]\n", r"\(a\)\.forbid: bad regular"),
        ("vendors:\n  junos: [{name: a, lines: [[]]}]\n", r"\(a\)\.lines: expected a non-empty"),
        ("vendors:\n  junos: [{name: a, lines: [3]}]\n", r"\(a\)\.lines: expected a non-empty"),
        ("vendors:\n  junos: [{name: a, lines: x, ordered: yes please}]\n", "'ordered' must"),
        ("vendors:\n  junos: [{name: a, lines: {x: 1}}]\n", "'lines' must be a list"),
        (
            "vendors:\n  junos: [{name: a, lines: x}, {name: a, lines: y}]\n",
            "feature 'a' declared twice",
        ),
    ],
)
def test_mistakes_are_named(text: str, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        parse_rules(text, "bad.yaml", VENDORS)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(str(tmp_path / "missing.yaml"))
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(str(tmp_path))
    binary = tmp_path / "rules.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(RulesError, match="not UTF-8"):
        load_rules(str(binary))


def test_the_shipped_pci_rules_cover_every_vendor() -> None:
    rules = load_rules(str(PCI), VENDORS)
    named = set(VENDORS) - {"unknown"}
    assert set(rules.vendors) == named
    for vendor in named:
        names = {feature.name for feature in rules.features(vendor)}
        assert {"logging", "ntp-server", "snmp", "ssh"} <= names, vendor
        assert all(feature.requirement for feature in rules.features(vendor))


_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12))
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
_KEYS = st.sampled_from(
    ["name", "lines", "sections", "regex", "forbid", "ordered", "required", "requirement", "x"]
)


@given(
    st.dictionaries(
        st.sampled_from(["cisco-ios", "junos", "yamaha", "nope"]),
        st.lists(st.dictionaries(_KEYS, _VALUES, max_size=5), max_size=3),
        max_size=3,
    )
)
def test_any_structure_reads_or_fails_clearly(vendors: dict[str, object]) -> None:
    text = yaml.safe_dump({"vendors": vendors})
    try:
        rules = parse_rules(text, "fuzz.yaml", VENDORS)
    except RulesError as exc:
        assert str(exc).startswith("fuzz.yaml:")
    else:
        assert set(rules.vendors) <= set(VENDORS)


@given(st.text(max_size=300))
def test_any_text_reads_or_fails_clearly(text: str) -> None:
    try:
        parse_rules(text, "fuzz.yaml", VENDORS)
    except RulesError as exc:
        assert str(exc).startswith("fuzz.yaml:")
