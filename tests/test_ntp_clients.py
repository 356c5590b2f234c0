"""Per-router time evidence: the client table with plain bytes, and ``ntp.clients`` from the
proxy answering real clients (ntplib, chronyd) and hand-made requests."""

from __future__ import annotations

import socket
import time
from typing import Any

from bridge.guard import RouterNames
from ntp_proxy.clients import ClientTable, router_metrics
from ntp_proxy.packet import Packet, encode, to_ntp
from tests.ntp_peers import Chronyd, ask, chronyd_client_offset, proxy, synchronised

NOW = 1_800_000_000.0


def request(
    leap: int = 0, stratum: int = 3, transmit: float | None = NOW, refid: bytes = b"\x0a\0\0\x05"
) -> bytes:
    tx = to_ntp(transmit) if transmit is not None else 0x1234_5678_9ABC_DEF0
    return encode(
        Packet(
            leap=leap,
            mode=3,
            stratum=stratum,
            poll=6,
            root_dispersion=0.01,
            refid=refid,
            transmit=tx,
        )
    )


def test_summary_fields_and_clock_error() -> None:
    table = ClientTable(RouterNames([("10.0.0.1", "rtr1")]), silence=100.0)
    table.observe("10.0.0.1", request(transmit=NOW - 2.5), NOW, 7)
    table.observe("10.0.0.1", request(transmit=NOW + 0.003), NOW + 1, None)
    table.observe("10.9.9.9", request(leap=3, stratum=0, transmit=None), NOW + 2, None)
    routers = table.summary(NOW + 3, served_stratum=2)
    rtr1 = routers["rtr1"]
    assert rtr1["requests"] == 2 and rtr1["source_ip"] == "10.0.0.1"
    assert rtr1["clock_error"] == round(0.003 - 1, 6)  # its clock is 1 s behind the proxy's
    assert (rtr1["leap"], rtr1["stratum"], rtr1["refid"]) == (0, 3, "10.0.0.5")
    assert rtr1["synchronised"] and rtr1["synchronised_to_proxy"]
    assert rtr1["poll"] == 6 and abs(rtr1["root_dispersion"] - 0.01) < 1e-4
    unnamed = routers["10.9.9.9"]
    assert not unnamed["synchronised"] and unnamed["clock_error"] is None  # a random transmit
    assert router_metrics(rtr1) == {
        "requests": 2.0,
        "synchronised": 1.0,
        "clock_error_seconds": -0.997,
    }
    # requests count per interval; the next summary starts again
    assert table.summary(NOW + 4, 2)["rtr1"]["requests"] == 0
    assert table.summary(NOW + 4, 2)["rtr1"]["requests_total"] == 2


def test_table_is_bounded() -> None:
    table = ClientTable(RouterNames([]), silence=100.0, max_clients=10)
    for i in range(1000):
        table.observe(f"10.1.{i // 256}.{i % 256}", request(), NOW + i, None)
    routers = table.summary(NOW + 1000, 2)
    assert len(routers) == 10 and "10.1.3.231" in routers  # the most recent kept


def test_warnings_for_named_routers_once_each() -> None:
    table = ClientTable(RouterNames([("10.0.0.1", "rtr1"), ("10.0.0.2", "rtr2")]), silence=60.0)
    table.observe("10.0.0.1", request(), NOW, None)
    table.observe("10.0.0.2", request(), NOW, None)
    table.observe("10.9.9.9", request(), NOW, None)  # unnamed: never warned about
    assert table.warnings(NOW + 10) == []
    table.observe("10.0.0.2", request(leap=3, stratum=16), NOW + 20, None)
    warnings = table.warnings(NOW + 30)
    assert [(w.event, w.fields["router"]) for w in warnings] == [
        ("ntp.client_unsynchronised", "rtr2")
    ]
    assert warnings[0].fields["leap"] == 3
    silent = table.warnings(NOW + 70)
    assert [(w.event, w.fields["router"]) for w in silent] == [("ntp.client_silent", "rtr1")]
    assert table.warnings(NOW + 75) == []  # once
    table.observe("10.0.0.1", request(), NOW + 80, None)  # rtr1 asks again, rtr2 is quiet
    assert [w.fields["router"] for w in table.warnings(NOW + 81)] == ["rtr2"]
    assert [w.fields["router"] for w in table.warnings(NOW + 200)] == ["rtr1"]


def test_ntp_clients_lines_from_real_clients(chronyd: Chronyd) -> None:
    with proxy(
        "--upstream", f"127.0.0.1:{chronyd.port}", "--router", "127.0.0.1=rtr-lab",
        "--metrics-interval", "1", "--client-silence", "2",
    ) as daemon:  # fmt: skip
        synchronised(daemon)
        ask(daemon)
        assert abs(chronyd_client_offset(daemon.address("ntp", "listen")[1])) < 0.001
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(1)
            sock.sendto(request(stratum=3, transmit=time.time()), daemon.address("ntp", "listen"))
            sock.recv(100)

        def proof(d: dict[str, Any]) -> bool:
            entry = d.get("routers", {}).get("rtr-lab", {})
            return d["event"] == "ntp.clients" and entry.get("synchronised_to_proxy") is True

        line = daemon.wait_for(proof, timeout=5)
        rtr = line["routers"]["rtr-lab"]
        assert rtr["source_ip"] == "127.0.0.1" and rtr["stratum"] == 3  # the last, made here
        assert rtr["requests_total"] >= 3  # ntplib, chronyd's burst and the request made here
        assert abs(rtr["clock_error"]) < 0.01 and rtr["authenticated_key"] is None
        emf = daemon.wait_for(lambda d: d["event"] == "ntp.router_metrics")
        assert emf["router"] == "rtr-lab" and emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [
            ["router"]
        ]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(1)
            sock.sendto(
                request(leap=3, stratum=16, transmit=time.time()), daemon.address("ntp", "listen")
            )
            sock.recv(100)
        warning = daemon.wait_for(lambda d: d["event"] == "ntp.client_unsynchronised", timeout=5)
        assert warning["router"] == "rtr-lab" and warning["level"] == "warning"
        silent = daemon.wait_for(lambda d: d["event"] == "ntp.client_silent", timeout=8)
        assert silent["router"] == "rtr-lab" and silent["source_ip"] == "127.0.0.1"


def test_sntp_clients_are_judged_by_their_measured_clock() -> None:
    table = ClientTable(RouterNames([]), silence=100.0)
    table.observe("10.0.0.1", request(leap=3, stratum=0, transmit=NOW + 0.2), NOW, None)
    table.observe("10.0.0.2", request(leap=0, stratum=0, transmit=NOW - 5.0), NOW, None)
    table.observe("10.0.0.3", request(leap=0, stratum=0, transmit=None), NOW, None)
    routers = table.summary(NOW, served_stratum=2)
    assert routers["10.0.0.1"]["synchronised"] is True  # ntpdate's LI=3 claims nothing
    assert routers["10.0.0.1"]["synchronised_to_proxy"] is True
    assert routers["10.0.0.2"]["synchronised"] is False  # five seconds off
    assert routers["10.0.0.3"]["synchronised"] is None  # a random transmit: no evidence
