"""The sans-IO ingest core driven with bytes: an upload in, a naming, a version's metadata and
event lines out; never an exception but a counted refusal, whatever the bytes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.inventory import Inventory, InventoryRouter
from config_uploader import diff as diffing
from config_uploader.body import BodyError
from config_uploader.ingest import (
    Intended,
    Naming,
    Principal,
    Upload,
    as_vendor,
    change_diff,
    drift_diff,
    outcome_lines,
    prepare,
)
from config_uploader.naming import Namer
from config_uploader.vendor import VENDORS, Vendor, detect

DATA = Path(__file__).parent / "data" / "configs"
CISCO = (DATA / "cisco-ios" / "rtr1-confg").read_bytes()
NOW = 1_800_000_000.0


def upload(data: bytes, **kw: object) -> Upload:
    fields: dict[str, object] = {
        "data": data,
        "source_ip": "192.0.2.7",
        "via": "raw",
        "path": "",
        "filename": None,
        "router_hint": None,
        "received_at": NOW,
    }
    fields.update(kw)
    return Upload(**fields)  # type: ignore[arg-type]


def lines_of(raw: list[bytes]) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in raw]


NAMER = Namer(Inventory())


def test_prepare_a_sample_names_and_describes_it() -> None:
    prepared = prepare(upload(CISCO), detect, NAMER, NOW)
    assert prepared.router == "dc1-rtr1"
    assert prepared.vendor == "cisco-ios"
    assert prepared.meta.size == len(CISCO) and prepared.meta.version == ""
    assert "$9$nhEmQVczB7dqsO" in prepared.text.text  # normalised keeps secrets; never logged
    [received] = lines_of(prepared.lines)
    assert received["event"] == "config.received"
    assert received["identified_by"] == "config"
    assert received["time"] == "2027-01-15T08:00:00.000000Z"
    assert b"$9$" not in b"".join(prepared.lines)


def test_changed_lines_show_a_changed_secret_redacted() -> None:
    old = prepare(upload(CISCO), detect, NAMER, NOW)
    rotated = CISCO.replace(b"$9$nhEmQVczB7dqsO", b"$9$AAAAAAAAAAAAAA", 1)
    assert rotated != CISCO
    new = prepare(upload(rotated), detect, NAMER, NOW + 1)
    previous = dataclasses.replace(old.meta, version="00000001")
    meta = dataclasses.replace(new.meta, version="00000002")
    change = change_diff(previous, old.text, meta, new.text)
    assert change is not None
    out = outcome_lines(meta, True, previous, change, None, None, "", NOW + 1)
    [changed] = lines_of(out)
    assert changed["event"] == "config.changed" and changed["previous"] == "00000001"
    assert "enable secret 9 <redacted>" in str(changed["diff"])
    assert b"AAAAAAAAAAAAAA" not in b"".join(out) and b"nhEmQVczB7dqsO" not in b"".join(out)


def test_verdicts_in_sync_drift_no_desired_and_error() -> None:
    prepared = prepare(upload(CISCO), detect, NAMER, NOW)
    meta = dataclasses.replace(prepared.meta, version="00000001")
    same = Intended("desired/dc1-rtr1", prepared.text)
    other = Intended("desired/dc1-rtr1", diffing.Text("hostname dc1-rtr1\n"))
    for intended, event, drift in (
        (same, "config.in_sync", 0.0),
        (other, "config.drift", 1.0),
        (Intended(None, None), "config.drift", 1.0),
    ):
        verdict = intended.drift(prepared.text.text)
        text = drift_diff(intended, meta, prepared.text)
        out = lines_of(outcome_lines(meta, False, meta, None, intended, verdict, text, NOW))
        assert [line["event"] for line in out] == [
            "config.unchanged",
            event,
            "config.drift_metric",
        ]
        assert out[-1]["drift"] == drift
    failed = Intended(None, None, "AccessDenied")
    out = lines_of(outcome_lines(meta, False, meta, None, failed, None, "", NOW))
    assert [line["event"] for line in out] == ["config.unchanged", "config.desired_error"]


def test_naming_order_explicit_filename_config_address() -> None:
    text = "hostname from-config\n"

    def named(**kw: object) -> Naming:
        return NAMER(upload(b"x", **kw), text, "cisco-ios")

    assert named(router_hint="Explicit") == Naming("explicit", "explicit")
    assert named(path="dc1-rtr9-confg") == Naming("dc1-rtr9", "filename")
    assert named() == Naming("from-config", "config")
    assert NAMER(upload(b"x", source_ip="::ffff:192.0.2.9"), "", "unknown") == Naming(
        "192.0.2.9", "source_ip"
    )
    assert NAMER(upload(b"x", source_ip="::1"), "", "unknown").router == "0--1"


BOUND = Namer(
    Inventory(
        [InventoryRouter("edge-a", ("192.0.2.7",)), InventoryRouter("Edge-B", (), "$argon2id$x")],
        [("192.0.2.8", "edge-c")],
    )
)
ROUTER_B = Principal("Edge-B", "router", "Edge-B")
COLLECTOR = Principal("oxidized", "uploader")


def refusal(upload_: Upload, text: str = "") -> str:
    with pytest.raises(BodyError) as refused:
        BOUND(upload_, text, "cisco-ios")
    assert refused.value.reason == "identity"
    return refused.value.detail


def test_a_binding_beats_every_claim() -> None:
    # Bound by address: filed under edge-a whatever it claims, unless it names another router.
    assert BOUND(upload(b"x"), "", "unknown") == Naming("edge-a", "address")
    assert BOUND(upload(b"x", path="edge-a-config"), "", "cisco-ios") == Naming("edge-a", "address")
    unknown_host = BOUND(upload(b"x"), "hostname old-name\n", "cisco-ios")
    assert unknown_host == Naming("edge-a", "address", claimed="old-name")
    assert "claims edge-c" in refusal(upload(b"x", path="edge-c-config"))
    assert "claims edge-b" in refusal(upload(b"x"), "hostname edge-b\n")
    assert "claims someone" in refusal(upload(b"x", router_hint="someone"))
    # Bound by credential, from an address of no router.
    elsewhere = {"source_ip": "198.51.100.1", "principal": ROUTER_B}
    assert BOUND(upload(b"x", **elsewhere), "", "unknown") == Naming("edge-b", "credential")
    assert "claims edge-a" in refusal(upload(b"x", path="edge-a-config", **elsewhere))
    # A router's credential from another router's address.
    assert "used from the address of edge-a" in refusal(upload(b"x", principal=ROUTER_B))


def test_unbound_uploads_may_not_take_a_bound_name() -> None:
    stranger = {"source_ip": "198.51.100.1"}
    assert "bound to its own" in refusal(upload(b"x", path="edge-c-config", **stranger))
    assert "bound to its own" in refusal(upload(b"x", **stranger), "hostname edge-b\n")
    assert BOUND(upload(b"x", path="dc9-config", **stranger), "", "cisco-ios") == Naming(
        "dc9", "filename"
    )
    # A collector's credential (Oxidized) names the routers it collects.
    collected = upload(b"x", path="edge-c-config", principal=COLLECTOR, **stranger)
    assert BOUND(collected, "", "cisco-ios") == Naming("edge-c", "filename")


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"", "empty"), (b" \n\t\n", "empty"), (b"hostname a\x00b\n", "undecodable")],
)
def test_refusals(data: bytes, reason: str) -> None:
    with pytest.raises(BodyError) as refused:
        prepare(upload(data), detect, NAMER, NOW)
    assert refused.value.reason == reason


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=4096))
def test_prepare_never_raises_but_a_refusal(raw: bytes) -> None:
    try:
        prepared = prepare(upload(raw), detect, NAMER, NOW)
    except BodyError as exc:
        assert exc.reason in ("empty", "undecodable")
        return
    assert prepared.vendor in VENDORS
    assert "\r" not in prepared.text.text
    assert prepared.text.text == "" or prepared.text.text.endswith("\n")
    assert prepared.router


def test_stored_vendor_names_round_trip() -> None:
    kinds: list[Vendor] = list(VENDORS)
    assert [as_vendor(kind) for kind in kinds] == kinds
    assert as_vendor("something-else") == "unknown"
