"""Configs read as lines with their section paths, for every vendor's way of nesting."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config_uploader.compliance.tree import (
    Line,
    difference,
    junos_set_lines,
    lines_of,
    panos_set_lines,
    render,
)
from config_uploader.normalise import normalise
from config_uploader.vendor import VENDORS

DATA = Path(__file__).parent / "data" / "configs"


def paths(text: str, vendor: str) -> list[tuple[str, ...]]:
    return [line.path for line in lines_of(text, vendor)]


def test_cisco_sections_comments_and_banner() -> None:
    text = normalise((DATA / "cisco-ios" / "rtr1-confg").read_text(), "cisco-ios")
    found = paths(text, "cisco-ios")
    assert ("line vty 0 4", "transport input ssh") in found
    assert ("line vty 5 15", "transport input ssh") in found
    assert ("key chain OSPF-KEYS", "key 1", "key-string 7 02050D48080F1B3B") in found
    assert ("banner motd ^C", "Authorized access only. All sessions are logged.") in found
    assert ("banner motd ^C", "^C") in found
    assert ("line con 0",) in found  # the banner ended at its delimiter
    assert not any(path[-1].startswith("!") for path in found)


def test_banner_forms() -> None:
    one_line = paths("banner login #Keep out#\nline vty 0 4\n", "cisco-ios")
    assert one_line == [("banner login #Keep out#",), ("line vty 0 4",)]
    eos = paths("banner login\nAuthorized only\n  indented\nEOF\nntp authenticate\n", "eos")
    assert eos == [
        ("banner login",),
        ("banner login", "Authorized only"),
        ("banner login", "  indented"),
        ("banner login", "EOF"),
        ("ntp authenticate",),
    ]
    assert render(lines_of("banner motd ^C\n  hi\n^C\n", "cisco-ios")) == [
        "banner motd ^C",
        "  hi",
        "^C",
    ]


def test_junos_brace_and_set_forms_agree() -> None:
    brace = """## Last commit: 2026-11-30 16:35:23 UTC by netops
system {
    host-name dc1-mx1;
    authentication-order [ tacplus radius password ];
    /* a comment */
    ntp {
        server 10.255.0.123 key 1;
        trusted-key 1;
    }
    login {
        message "Authorized access only";
    }
}
snmp {
    community SnmpRo { authorization read-only; }
}
"""
    sets = """set system host-name dc1-mx1
set system authentication-order tacplus
set system authentication-order radius
set system authentication-order password
set system ntp server 10.255.0.123 key 1
set system ntp trusted-key 1
set system login message "Authorized access only"
"""
    flat = junos_set_lines(brace.splitlines())
    assert flat[: len(sets.splitlines())] == sets.splitlines()
    assert paths(sets, "junos") == [(line,) for line in sets.splitlines()]


def test_panos_xml_and_set_forms_agree() -> None:
    xml = """<?xml version="1.0"?>
<response status="success"><result>
<config version="11.1.0" urldb="paloaltonetworks">
  <devices>
    <entry name="localhost.localdomain">
      <deviceconfig>
        <system>
          <type>
            <static/>
          </type>
          <hostname>dc2-pa1</hostname>
          <login-banner>Authorised access &amp; logged</login-banner>
          <ntp-servers>
            <primary-ntp-server>
              <ntp-server-address>10.20.0.123</ntp-server-address>
            </primary-ntp-server>
          </ntp-servers>
        </system>
      </deviceconfig>
      <vsys>
        <entry name="vsys1">
          <rulebase>
            <security>
              <rules>
                <entry name="dc2 to aws" uuid="4f0c2a6e-8b1d-4e3a-9c5f-2d7b6a1e0c93">
                  <application>
                    <member>ssl</member>
                    <member>ssh</member>
                  </application>
                  <description>two
lines</description>
                  <action>allow</action>
                </entry>
              </rules>
            </security>
          </rulebase>
        </entry>
      </vsys>
    </entry>
  </devices>
</config>
</result></response>
"""
    sets = """set deviceconfig system type static
set deviceconfig system hostname dc2-pa1
set deviceconfig system login-banner "Authorised access & logged"
set deviceconfig system ntp-servers primary-ntp-server ntp-server-address 10.20.0.123
set rulebase security rules "dc2 to aws" application [ ssl ssh ]
set rulebase security rules "dc2 to aws" description "two
lines"
set rulebase security rules "dc2 to aws" action allow
"""
    brace = """! model: PA-3220
config {
  devices {
    localhost.localdomain {
      deviceconfig {
        system {
          type {
            static;
          }
          hostname dc2-pa1;
          login-banner "Authorised access & logged";
          ntp-servers {
            primary-ntp-server {
              ntp-server-address 10.20.0.123;
            }
          }
        }
      }
      vsys {
        vsys1 {
          rulebase {
            security {
              rules {
                "dc2 to aws" {
                  application [ ssl ssh ];
                  action allow;
                }
              }
            }
          }
        }
      }
    }
  }
}
"""
    flat = panos_set_lines(xml.splitlines())
    assert flat == panos_set_lines(sets.splitlines())
    assert panos_set_lines(brace.splitlines()) == flat[:6] + flat[7:]  # no description
    assert flat[4:6] == [
        'set rulebase security rules "dc2 to aws" application ssl',
        'set rulebase security rules "dc2 to aws" application ssh',
    ]
    assert paths(xml, "panos") == [(line,) for line in flat]


def test_routeros_slash_sections() -> None:
    text = normalise((DATA / "routeros" / "ccr1.rsc").read_text(), "routeros")
    found = paths(text, "routeros")
    assert ("/system ntp client servers", "add address=10.255.0.123") in found
    assert ("/snmp community", "set [ find default=yes ] disabled=yes") in found
    assert all(not path[-1].startswith("#") for path in found)


def test_yamaha_sections_by_indentation() -> None:
    text = normalise((DATA / "yamaha" / "rtx1210.txt").read_text(), "yamaha")
    found = paths(text, "yamaha")
    assert ("pp select 1", "pp auth accept pap chap") in found
    assert ("tunnel select 1", "ipsec tunnel 101", "ipsec ike version 1 2") in found
    assert ("syslog host 10.255.1.1",) in found


def test_render_writes_each_header_once() -> None:
    lines = [
        Line(("line vty 0 4", "exec-timeout 15 0")),
        Line(("line vty 0 4", "transport input ssh")),
        Line(("ntp authenticate",)),
        Line(("a", "b", "c")),
    ]
    assert render(lines) == [
        "line vty 0 4",
        " exec-timeout 15 0",
        " transport input ssh",
        "ntp authenticate",
        "a",
        " b",
        "  c",
    ]


def test_difference_is_a_multiset_difference() -> None:
    a = [Line(("x",)), Line(("x",)), Line(("y",))]
    b = [Line(("x",))]
    assert difference(a, b) == (Line(("x",)), Line(("y",)))
    assert difference(b, a) == ()


@pytest.mark.parametrize("vendor", VENDORS)
@given(text=st.text(max_size=400))
def test_any_text_reads_and_renders(vendor: str, text: str) -> None:
    lines = lines_of(text, vendor)
    assert all(line.path and all(isinstance(part, str) for part in line.path) for line in lines)
    render(lines)


@given(text=st.text(alphabet='<>/="! {};[]\nabcentrym', max_size=400))
def test_any_panos_markup_flattens_to_set_lines(text: str) -> None:
    # XML, braces and set lines cut anywhere: read without error, every line a set command
    assert all(line.startswith("set ") for line in panos_set_lines(text.splitlines()))
