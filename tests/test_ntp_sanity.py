"""Sanity limits end to end: an upstream three hours off is refused, a falseticker among real
chronyd upstreams is outvoted, and a RATE kiss-o'-death slows the polls; chronyd as the client
says what time routers would get."""

from __future__ import annotations

import time
from pathlib import Path

from tests.ntp_peers import (
    Chronyd,
    FakeUpstream,
    ask,
    chronyd_client_offset,
    free_udp_port,
    health,
    proxy,
    synchronised,
)

THREE_HOURS = 3 * 3600.0


def test_upstream_three_hours_off_is_rejected() -> None:
    with (
        FakeUpstream(skew=THREE_HOURS) as fake,
        proxy("--upstream", f"127.0.0.1:{fake.port}") as daemon,
    ):
        warning = daemon.wait_for(lambda line: line["event"] == "ntp.offset_rejected")
        assert warning["level"] == "warning" and warning["limit"] == 1.0
        assert abs(warning["offset"] - THREE_HOURS) < 1
        time.sleep(1.0)
        status, body = health(daemon)
        assert status == 503 and body["counters"]["offset_rejected"] >= 2
        stats = ask(daemon)
        assert (stats.leap, stats.stratum) == (3, 16) and abs(stats.offset) < 1
        assert not daemon.events("ntp.synchronised")

    with (  # a laptop whose clock is far off: --max-offset 0 takes the upstream's word
        FakeUpstream(skew=THREE_HOURS) as fake,
        proxy("--upstream", f"127.0.0.1:{fake.port}", "--max-offset", "0") as daemon,
    ):
        synchronised(daemon)
        assert abs(ask(daemon).offset - THREE_HOURS) < 1


def test_a_preferred_falseticker_is_outvoted(chronyd: Chronyd, tmp_path: Path) -> None:
    second = Chronyd(tmp_path / "second", free_udp_port()).start()
    try:
        with (
            FakeUpstream(skew=0.25) as liar,  # within --max-offset: only agreement catches it
            proxy(
                "--upstream",
                f"127.0.0.1:{liar.port}",
                "--upstream",
                f"127.0.0.1:{chronyd.port}",
                "--upstream",
                f"127.0.0.1:{second.port}",
            ) as daemon,
        ):
            event = synchronised(daemon)
            assert event["upstream"] == f"127.0.0.1:{chronyd.port}"
            falseticker = daemon.wait_for(lambda line: line["event"] == "ntp.falseticker")
            assert falseticker["upstream"] == f"127.0.0.1:{liar.port}"
            assert falseticker["level"] == "warning"
            assert abs(chronyd_client_offset(daemon.address("ntp", "listen")[1])) < 0.001
            status, body = health(daemon)
            assert status == 200 and body["counters"]["falsetickers"] == 1
            assert not daemon.events("ntp.upstream_switched")[1:]  # never to the liar
    finally:
        second.stop()


def test_rate_kiss_o_death_slows_the_polls() -> None:
    with (
        FakeUpstream(kiss=b"RATE") as fake,
        proxy("--upstream", f"127.0.0.1:{fake.port}", "--poll", "0.2") as daemon,
    ):
        daemon.wait_for(lambda line: line["event"] == "ntp.upstream_kiss", nth=2, timeout=15)
        kisses = daemon.events("ntp.upstream_kiss")
        assert [k["skipped_polls"] for k in kisses[:3]] == [1, 2, 4]
        assert kisses[0]["code"] == "RATE" and kisses[0]["level"] == "warning"
        requests = fake.requests
        time.sleep(1.0)  # 5 polls at 0.2 s: 8 are now skipped
        assert fake.requests - requests <= 1
        kissed = health(daemon)[1]["counters"]["upstream_kisses"]
        assert fake.requests - 1 <= kissed <= fake.requests  # one may be on its way
