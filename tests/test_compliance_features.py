"""Per-feature verdicts on real-looking configs: missing and extra lines, order, required,
forbidden lines, the percentage, and the report line that carries them redacted and bounded."""

from __future__ import annotations

import json
import re
from pathlib import Path

import orjson

from config_uploader.compliance.features import check
from config_uploader.compliance.remediate import remediation
from config_uploader.compliance.report import compliance_fields, verdict_states
from config_uploader.compliance.rules import load_rules, parse_rules
from config_uploader.compliance.tree import Line, lines_of
from config_uploader.normalise import normalise
from config_uploader.redact import redact_lines

DATA = Path(__file__).parent / "data" / "configs"
PCI = Path(__file__).parent.parent / "deploy" / "compliance" / "pci.yaml"
CISCO = normalise((DATA / "cisco-ios" / "rtr1-confg").read_text(), "cisco-ios")

RULES = parse_rules(
    """
vendors:
  cisco-ios:
    - name: logging
      lines: ["logging host "]
      required: true
    - name: ntp
      lines: ["ntp server ", "ntp authenticate", "ntp trusted-key ", "ntp authentication-key "]
    - name: snmp
      lines: ["snmp-server community "]
      forbid: ['^snmp-server community public\\b']
    - name: vty
      lines: [["line vty ", "exec-timeout "], ["line vty ", "transport input "]]
    - name: acl
      sections: ["ip access-list extended VTY-IN"]
      ordered: true
    - name: archive
      sections: ["archive"]
      required: true
""",
    "test-rules.yaml",
)


def verdicts(desired: str, actual: str, vendor: str = "cisco-ios") -> dict[str, object]:
    result = check(RULES.features(vendor), lines_of(desired, vendor), lines_of(actual, vendor))
    return {v.feature.name: v for v in result.verdicts} | {"%": result.percent}


def test_identical_configs_are_compliant() -> None:
    found = verdicts(CISCO, CISCO)
    assert found["%"] == 100.0
    assert all(getattr(v, "compliant", True) for v in found.values())


def test_missing_and_extra_lines_per_feature() -> None:
    actual = (
        CISCO.replace("logging host 10.255.0.10\n", "")
        .replace(
            " exec-timeout 15 0\n password 7 104D000A0618VtyDc1",
            " exec-timeout 60 0\n password 7 104D000A0618VtyDc1",
        )
        .replace("snmp-server location", "snmp-server community public RO\nsnmp-server location")
    )
    found = verdicts(CISCO, actual)
    logging, vty, snmp = found["logging"], found["vty"], found["snmp"]
    assert [line.path for line in logging.missing] == [("logging host 10.255.0.10",)]
    assert logging.extra == ()
    assert [line.path for line in vty.missing] == [("line vty 0 4", "exec-timeout 15 0")]
    assert [line.path for line in vty.extra] == [("line vty 0 4", "exec-timeout 60 0")]
    assert [line.path for line in snmp.extra] == [("snmp-server community public RO",)]
    assert found["ntp"].compliant and found["acl"].compliant and found["archive"].compliant
    assert found["%"] == 50.0


def test_forbidden_lines_are_extra_even_when_desired() -> None:
    both = CISCO.replace(
        "snmp-server location", "snmp-server community public RO\nsnmp-server location"
    )
    snmp = verdicts(both, both)["snmp"]
    assert not snmp.compliant
    assert [line.text for line in snmp.extra] == ["snmp-server community public RO"]
    assert all("public" not in line.text for line in snmp.desired)


def test_order_matters_only_where_declared() -> None:
    swapped = CISCO.replace(
        " 10 permit tcp 10.255.0.0 0.0.0.255 any eq 22\n 20 deny   ip any any log",
        " 20 deny   ip any any log\n 10 permit tcp 10.255.0.0 0.0.0.255 any eq 22",
    )
    assert swapped != CISCO
    acl = verdicts(CISCO, swapped)["acl"]
    assert not acl.compliant and acl.missing and acl.extra
    ntp_swapped = CISCO.replace(
        "ntp authenticate\nntp trusted-key 1", "ntp trusted-key 1\nntp authenticate"
    )
    assert verdicts(CISCO, ntp_swapped)["ntp"].compliant  # unordered feature


def test_required_feature_absent_on_both_sides() -> None:
    without = CISCO.replace(
        "archive\n path http://10.255.0.80/upload/$h-config\n write-memory\n", ""
    )
    archive = verdicts(without, without)["archive"]
    assert archive.absent and not archive.compliant and not archive.missing


def test_no_features_for_the_vendor() -> None:
    result = check(RULES.features("yamaha"), [], [Line(("x",))])
    assert result.percent is None and result.compliant


# PAN-OS fixtures in its three forms, and the features each lacks
PANOS_FIXTURES = (
    ("dc2-pa1.xml", {"idle-timeout"}),
    ("dc2-pa2.set", {"idle-timeout"}),
    ("dc2-pa3.conf", set()),
)


def test_the_pci_rules_on_the_fixtures_judge_what_they_see() -> None:
    rules = load_rules(str(PCI))
    cisco = lines_of(CISCO, "cisco-ios")
    assert check(rules.features("cisco-ios"), cisco, cisco).percent == 100.0
    telnet = lines_of(
        CISCO.replace("transport input ssh", "transport input ssh telnet"), "cisco-ios"
    )
    result = check(rules.features("cisco-ios"), cisco, telnet)
    assert {v.feature.name for v in result.failing()} == {"ssh"}
    assert result.percent == 87.5
    junos_text = normalise((DATA / "junos" / "mx1.set").read_text(), "junos")
    junos = lines_of(junos_text, "junos")
    failing = {v.feature.name for v in check(rules.features("junos"), junos, junos).failing()}
    assert failing == {"idle-timeout", "banner"}  # the fixture has neither: required
    # PAN-OS: XML, set and brace forms judged alike
    for name, absent in PANOS_FIXTURES:
        text = normalise((DATA / "panos" / name).read_text(), "panos")
        panos = lines_of(text, "panos")
        result = check(rules.features("panos"), panos, panos)
        assert {v.feature.name for v in result.failing()} == absent, name
        telnet = re.sub(r"disable-telnet( |>)yes", r"disable-telnet\1no", text)
        result = check(rules.features("panos"), panos, lines_of(telnet, "panos"))
        assert {v.feature.name for v in result.failing()} == absent | {"ssh"}, name


def test_report_is_redacted_and_bounded() -> None:
    secrets = json.loads((DATA / "secrets.json").read_text())["cisco-ios/rtr1-confg"]
    desired = lines_of(CISCO, "cisco-ios")
    result = check(RULES.features("cisco-ios"), desired, [])  # everything missing
    fix = remediation("cisco-ios", *result.scope(desired, []))

    def redact(lines: object) -> list[str]:
        return redact_lines(list(lines), "cisco-ios")  # type: ignore[call-overload]

    fields = compliance_fields(result, redact, fix, 16000)
    text = orjson.dumps(fields).decode()
    assert not [secret for secret in secrets if secret in text]
    ntp = next(f for f in fields["features"] if f["name"] == "ntp")
    assert ntp["missing_lines"] == 4 and "ntp authenticate" in ntp["missing"]
    assert fields["remediation"]["engine"] == "hier_config"
    assert fields["percent"] == 0.0 and fields["compliant"] is False
    small = compliance_fields(result, redact, fix, 900)
    assert len(orjson.dumps(small)) <= 900
    assert all("missing" not in f for f in small["features"])
    tiny = compliance_fields(result, redact, fix, 300)
    assert len(orjson.dumps(tiny)) <= 300 and tiny["features_truncated"] is True
    names = ("logging", "ntp", "snmp", "vty", "acl", "archive")
    assert verdict_states(result) == dict.fromkeys(names, False)


def test_regular_expressions_keep_their_own_groups() -> None:
    rules = parse_rules(
        """
vendors:
  cisco-ios:
    - name: odd
      regex: ['(?P<w>ntp) (\\w+)', '(logging) \\1']
      forbid: ['(?P<w>telnet)', '(x)\\1']
""",
        "groups.yaml",
    )
    lines = lines_of(
        "ntp server 10.0.0.1\nlogging logging\ntelnet\nxx\nlogging host\n", "cisco-ios"
    )
    (verdict,) = check(rules.features("cisco-ios"), [], lines).verdicts
    assert [line.text for line in verdict.extra] == [
        "ntp server 10.0.0.1",
        "logging logging",
        "telnet",
        "xx",
    ]
