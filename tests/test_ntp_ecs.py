"""``--upstream ecs-metadata``: the task metadata document read sans-IO, and the proxy against a
local stand-in for the ECS endpoint serving the documented JSON in each state."""

from __future__ import annotations

import datetime
import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ntp_proxy.ecs import HOST_REFID, sample_from_task_metadata, task_metadata_url
from ntp_proxy.exchange import InvalidReply
from tests.ntp_peers import Chronyd, ask, chronyd_client_offset, health
from tests.procs import Daemon, run_command

NOW = 1_800_000_000.0


def task_document(status: str = "SYNCHRONIZED", bound_ms: float = 0.5, age: float = 10.0) -> bytes:
    """A Fargate ``/task`` document, trimmed to what the proxy reads and a little around it."""
    measured = datetime.datetime.fromtimestamp(time.time() - age, datetime.UTC)
    return json.dumps(
        {
            "Cluster": "arn:aws:ecs:eu-west-1:111122223333:cluster/edge",
            "TaskARN": "arn:aws:ecs:eu-west-1:111122223333:task/edge/0123456789abcdef",
            "Family": "edge-ntp",
            "LaunchType": "FARGATE",
            "ClockDrift": {
                "ClockErrorBound": bound_ms,
                "ReferenceTimestamp": measured.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "ClockSynchronizationStatus": status,
            },
        }
    ).encode()


def read(body: bytes, now: float | None = None) -> Any:
    try:
        return sample_from_task_metadata(body, now or time.time(), max_error=0.1)
    except InvalidReply as exc:
        return exc.reason


def test_synchronized_document_vouches_for_the_task_clock() -> None:
    sample = read(task_document(bound_ms=0.5458, age=100.0))
    assert sample.offset == 0.0 and sample.stratum == 4 and sample.refid == HOST_REFID
    # the bound in seconds, grown by 15 ppm over the ~100 s since ECS measured it
    assert sample.root_dispersion == pytest.approx(0.0005458 + 15e-6 * 100, abs=2e-5)
    assert sample.root_distance >= 0.0005458


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (task_document("NOT_SYNCHRONIZED"), "not_synchronised"),
        (task_document(bound_ms=150.0), "error_bound"),
        (task_document(bound_ms=0.5, age=10_000.0), "error_bound"),  # 150 ms after 10 000 s
        (task_document(bound_ms=float("nan")), "metadata"),  # NaN is not JSON
        (task_document(bound_ms=-1.0), "error_bound"),
        (b'{"Cluster": "x"}', "metadata"),  # no ClockDrift: EC2 launch type, older platform
        (b'{"ClockDrift": {"ClockErrorBound": "x"}}', "metadata"),
        # the agent omits empty fields (omitempty): a status without a bound vouches for nothing
        (
            b'{"ClockDrift": {"ReferenceTimestamp": "2026-12-01T10:00:00Z", '
            b'"ClockSynchronizationStatus": "SYNCHRONIZED"}}',
            "metadata",
        ),
        (b'{"ClockDrift": []}', "metadata"),
        (b"<html>", "metadata"),
        (b"", "metadata"),
    ],
)
def test_documents_that_cannot_vouch(body: bytes, reason: str) -> None:
    assert read(body) == reason


def test_the_endpoint_comes_from_the_environment() -> None:
    url = task_metadata_url({"ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/abc/"})
    assert url == "http://169.254.170.2/v4/abc/task"
    with pytest.raises(ValueError, match="ECS_CONTAINER_METADATA_URI_V4"):
        task_metadata_url({})
    result = run_command(["ntp", "--upstream", "ecs-metadata"])
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "ECS_CONTAINER_METADATA_URI_V4" in result.stderr


class MetadataStandIn:
    """The ECS agent's task metadata endpoint on loopback: ``state`` is what it serves now."""

    def __init__(self) -> None:
        self.state = "SYNCHRONIZED"
        self.bound_ms = 0.5
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if stand_in.state == "down" or self.path != "/v4/task-1/task":
                    self.send_error(503 if stand_in.state == "down" else 404)
                    return
                body = task_document(stand_in.state, stand_in.bound_ms)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v4/task-1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> MetadataStandIn:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def metadata() -> Iterator[MetadataStandIn]:
    with MetadataStandIn() as stand_in:
        yield stand_in


def ecs_proxy(metadata: MetadataStandIn, *upstreams: str) -> Daemon:
    return Daemon.start(
        [
            "ntp", "--listen", "127.0.0.1:0", "--health", "127.0.0.1:0", "--poll", "0.5",
            *(arg for upstream in upstreams for arg in ("--upstream", upstream)),
        ],
        env={"ECS_CONTAINER_METADATA_URI_V4": metadata.url},
    )  # fmt: skip


def wait_health(daemon: Daemon, status: int, timeout: float = 8.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        code, body = health(daemon)
        if code == status or time.monotonic() > deadline:
            assert code == status, body
            return body
        time.sleep(0.1)


def test_ecs_metadata_alone_in_each_state(metadata: MetadataStandIn) -> None:
    with ecs_proxy(metadata, "ecs-metadata") as daemon:
        daemon.wait_for(lambda line: line["event"] == "ntp.synchronised")
        wait_health(daemon, 200)
        stats = ask(daemon)
        assert (stats.leap, stats.stratum) == (0, 5) and abs(stats.offset) < 0.005
        assert stats.root_dispersion >= 0.0005  # never less than ECS's error bound
        assert abs(chronyd_client_offset(daemon.address("ntp", "listen")[1])) < 0.001

        metadata.state = "NOT_SYNCHRONIZED"
        event = daemon.wait_for(lambda line: line["event"] == "ntp.unsynchronised")
        assert event["reason"] == "ecs-metadata: not_synchronised"
        assert daemon.events("ntp.metadata_refused")[0]["reason"] == "not_synchronised"
        wait_health(daemon, 503)
        assert (ask(daemon).leap, ask(daemon).stratum) == (3, 16)

        metadata.state = "SYNCHRONIZED"
        daemon.wait_for(lambda line: line["event"] == "ntp.synchronised", nth=1)
        metadata.bound_ms = 250.0  # above --max-error-bound (100 ms)
        event = daemon.wait_for(lambda line: line["event"] == "ntp.unsynchronised", nth=1)
        assert event["reason"] == "ecs-metadata: error_bound"

        metadata.bound_ms = 0.5
        daemon.wait_for(lambda line: line["event"] == "ntp.synchronised", nth=2)
        metadata.state = "down"  # the holdover is two polls and a timeout, then unsynchronised
        event = daemon.wait_for(lambda line: line["event"] == "ntp.unsynchronised", nth=2)
        assert event["reason"] == "holdover expired"
        body = wait_health(daemon, 503)
        assert body["counters"]["upstream_errors"] >= 1 and ask(daemon).leap == 3
        assert daemon.stop() == 0 and daemon.stderr == ""


def test_ecs_metadata_as_the_check_beside_an_ntp_upstream(
    metadata: MetadataStandIn, chronyd: Chronyd
) -> None:
    with ecs_proxy(metadata, f"127.0.0.1:{chronyd.port}", "ecs-metadata") as daemon:
        event = daemon.wait_for(lambda line: line["event"] == "ntp.synchronised")
        assert event["upstream"] == f"127.0.0.1:{chronyd.port}"  # preferred, and they agree
        assert ask(daemon).stratum == 2
        metadata.state = "NOT_SYNCHRONIZED"  # the NTP upstream still stands on its own
        time.sleep(1.5)
        assert health(daemon)[0] == 200 and not daemon.events("ntp.unsynchronised")
