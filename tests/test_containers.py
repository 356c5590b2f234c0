"""The image and the compose file, run for real with podman.

Each daemon runs from the image as on Fargate: read-only root, the image's non-root user,
every capability dropped, no new privileges, an init process, on the host's loopback. Real
clients talk to it (util-linux logger over UDP and TCP, chronyd as an NTP client, curl for
uploads and health), and the image's own HEALTHCHECK is run. Then docker-compose.yml comes up
with podman-compose, and the simulated routers' syslog (UDP and TCP), NTP queries and
authenticated uploads must show in the daemons' output before it is torn down.

Images are built once per run and reused (tests/podman.py); the first build on a machine takes
a few minutes, later runs only rebuild what changed.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import podman
from tests.artefacts import ROOT
from tests.ntp_peers import Chronyd, chronyd_client_offset
from tests.peers import peer
from tests.procs import healthz

pytestmark = pytest.mark.timeout(1800)  # a first build; a cached run takes about a minute

Line = dict[str, Any]
CREDENTIALS = f"router:{secrets.token_urlsafe(12)}"


@pytest.fixture(scope="module")
def image() -> str:
    podman.have_podman_stack()
    return podman.project_image()


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(what: str, check: Callable[[], Any], timeout: float) -> Any:
    """Poll ``check`` until it returns something true; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.5)


def curl(*args: str) -> int:
    """curl's HTTP status for a request (0 when nothing answered)."""
    result = subprocess.run(
        [peer("curl", "curl"), "--silent", "--output", "/dev/null", "--write-out", "%{http_code}",
         "--max-time", "10", *args],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    return int(result.stdout or 0)


def logger(*args: str) -> None:
    subprocess.run([peer("logger", "bsdutils"), *args], check=True, timeout=10, capture_output=True)


# -- each daemon from the image ------------------------------------------------------------


class Container:
    """A daemon from the image, hardened as in the task definitions, on the host's loopback."""

    def __init__(self, image: str, command: str, env: dict[str, str]) -> None:
        self.name = f"edge-bridge-test-{command}-{os.getpid()}-{secrets.token_hex(3)}"
        podman.podman(
            "run", "--detach", f"--name={self.name}", "--network=host",
            "--read-only", "--tmpfs=/tmp", "--cap-drop=ALL",
            "--security-opt=no-new-privileges", "--init",
            *(f"--env={key}={value}" for key, value in env.items()),
            image, command,
        )  # fmt: skip
        self.command = command

    def lines(self) -> list[Line]:
        return podman.logs(self.name)

    def wait_for(self, what: str, match: Callable[[Line], bool], timeout: float = 30) -> Line:
        return wait_until(
            f"{self.name}: {what}",
            lambda: next((line for line in self.lines() if match(line)), None),
            timeout,
        )

    def exec(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [peer("podman", "podman"), "exec", self.name, *args],
            capture_output=True, text=True, timeout=60, env=podman.env(), check=False,
        )  # fmt: skip

    def check_hardening(self) -> None:
        """What the kernel says about the running daemon, not what was asked for."""
        top = podman.podman("top", self.name, "user", "capeff", "args").splitlines()[1:]
        assert len(top) == 2, f"{self.name}: the init process and the daemon, nothing else: {top}"
        for row in top:  # the init process and the daemon
            user, caps = row.split()[:2]
            assert (user, caps) == ("edge-bridge", "none"), f"{self.name}: {row}"
        ids = self.exec("id", "-u", "-n").stdout, self.exec("id", "-u").stdout
        assert [i.strip() for i in ids] == ["edge-bridge", "10001"], ids
        written = self.exec("sh", "-c", "echo x > /opt/edge-bridge/tampered")
        assert written.returncode != 0 and "Read-only" in written.stderr, written
        assert self.exec("sh", "-c", "echo x > /tmp/scratch").returncode == 0, "/tmp is a tmpfs"

    def healthcheck(self) -> None:
        """The image's HEALTHCHECK (edge-bridge healthcheck with this container's URL)."""
        result = subprocess.run(
            [peer("podman", "podman"), "healthcheck", "run", self.name],
            capture_output=True, text=True, timeout=60, env=podman.env(), check=False,
        )  # fmt: skip
        assert result.returncode == 0, f"{self.name}: {result.stdout}{result.stderr}"

    def stop(self) -> None:
        """SIGTERM: the runner drains and exits 0 well within the stop timeout."""
        podman.podman("stop", "--time=20", self.name, timeout=60)
        code = podman.podman("inspect", "--format={{.State.ExitCode}}", self.name).strip()
        assert code == "0", f"{self.name} exited {code}: {self.lines()[-5:]}"
        assert any(line.get("event") == "stopped" for line in self.lines())

    def remove(self) -> None:
        podman.podman("rm", "--force", self.name, check=False)


@pytest.fixture
def containers() -> Iterator[list[Container]]:
    started: list[Container] = []
    try:
        yield started
    finally:
        for container in started:
            container.remove()


def test_each_daemon_runs_from_the_image_hardened_and_serves_real_clients(
    image: str, chronyd: Chronyd, containers: list[Container]
) -> None:
    syslog_port, syslog_health = free_port(socket.SOCK_DGRAM), free_port()
    ntp_port, ntp_health = free_port(socket.SOCK_DGRAM), free_port()
    config_port = free_port()

    def daemon(command: str, health: int, **env: str) -> Container:
        env["EDGE_BRIDGE_HEALTHCHECK_URL"] = f"http://127.0.0.1:{health}/healthz"
        container = Container(image, command, env)
        containers.append(container)
        return container

    syslog = daemon(
        "syslog",
        syslog_health,
        EDGE_BRIDGE_UDP=f"127.0.0.1:{syslog_port}",
        EDGE_BRIDGE_TCP=f"127.0.0.1:{syslog_port}",
        EDGE_BRIDGE_HEALTH=f"127.0.0.1:{syslog_health}",
    )
    ntp = daemon(
        "ntp",
        ntp_health,
        EDGE_BRIDGE_LISTEN=f"127.0.0.1:{ntp_port}",
        EDGE_BRIDGE_HEALTH=f"127.0.0.1:{ntp_health}",
        EDGE_BRIDGE_UPSTREAM=f"127.0.0.1:{chronyd.port}",
        EDGE_BRIDGE_POLL="1",
    )
    config = daemon(
        "config",
        config_port,
        EDGE_BRIDGE_LISTEN=f"127.0.0.1:{config_port}",
        EDGE_BRIDGE_STORE="/tmp/store",
        EDGE_BRIDGE_BASIC_AUTH=CREDENTIALS,
    )
    for container in containers:
        started = f"{container.command}.started"
        container.wait_for(started, lambda x, s=started: x.get("event") == s)
        container.check_hardening()
    for port in (syslog_health, ntp_health, config_port):  # NTP: once synchronised
        wait_until(f"healthz on {port}", lambda p=port: healthz(p)[0] == 200, timeout=60)
        assert curl(f"http://127.0.0.1:{port}/healthz") == 200
    for container in containers:
        container.healthcheck()

    # syslog: util-linux logger over UDP and over TCP (octet counting)
    token = secrets.token_hex(6)
    logger("-n", "127.0.0.1", "-P", str(syslog_port), "-d", "--rfc5424", "-t", "netops",
           f"udp {token}")  # fmt: skip
    logger("-n", "127.0.0.1", "-P", str(syslog_port), "-T", "--octet-count", "-t", "netops",
           f"tcp {token}")  # fmt: skip
    for transport in ("udp", "tcp"):
        line = syslog.wait_for(
            f"{transport} message",
            lambda x, t=transport: (
                x.get("event") == "syslog" and x.get("message") == f"{t} {token}"
            ),
        )
        assert line["transport"] == transport and line["source_ip"] == "127.0.0.1"

    # NTP: chronyd as a client measures the proxy's time against this machine's clock
    assert abs(chronyd_client_offset(ntp_port)) < 0.5

    # config: curl uploads a config; without the credentials it is refused
    running = Path(ROOT / "deploy" / "desired" / "rtr-sim-1.cfg")
    url = f"http://127.0.0.1:{config_port}/upload/rtr-image-1-config"
    assert curl("--upload-file", str(running), url) == 401
    assert curl("--user", CREDENTIALS, "--upload-file", str(running), url) in (200, 201)
    received = config.wait_for("upload", lambda x: x.get("event") == "config.received")
    assert received["router"] == "rtr-image-1"
    everything = json.dumps([c.lines() for c in containers])
    assert CREDENTIALS.split(":")[1] not in everything, "the password reached stdout"

    for container in (syslog, ntp, config):
        container.stop()


# -- the compose file ----------------------------------------------------------------------


class Compose:
    """docker-compose.yml under podman-compose, as its own project with its own ports."""

    def __init__(self, env: dict[str, str]) -> None:
        self.project = f"edge-bridge-test-{os.getpid()}-{secrets.token_hex(3)}"
        self.env = {**podman.env(), **env}

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [peer("podman-compose", "podman-compose"), "--project-name", self.project,
             "--file", str(ROOT / "docker-compose.yml"), *args],
            capture_output=True, text=True, timeout=timeout, env=self.env, cwd=ROOT, check=False,
        )  # fmt: skip

    def container(self, service: str) -> str:
        names = podman.podman(
            "ps", "--all", "--format={{.Names}}",
            f"--filter=label=io.podman.compose.project={self.project}",
            f"--filter=label=com.docker.compose.service={service}",
        ).split()  # fmt: skip
        assert len(names) == 1, f"{service}: {names}"
        return names[0]

    def lines(self, service: str) -> list[Line]:
        return podman.logs(self.container(service))

    def left(self) -> list[str]:
        return podman.podman(
            "ps", "--all", "--format={{.Names}}",
            f"--filter=label=io.podman.compose.project={self.project}",
        ).split()  # fmt: skip

    def down(self) -> None:
        result = self.run("down", "--volumes", timeout=180)
        for name in self.left():  # whatever down left behind
            podman.podman("rm", "--force", name, check=False)
        assert result.returncode == 0, result.stderr[-2000:]


def test_compose_simulation_comes_up_and_the_routers_get_through() -> None:
    podman.have_podman_stack()
    ports = {
        "SYSLOG_PORT": free_port(),
        "NTP_PORT": free_port(socket.SOCK_DGRAM),
        "CONFIG_PORT": free_port(),
        "SYSLOG_HEALTH_PORT": free_port(),
        "NTP_HEALTH_PORT": free_port(),
    }
    compose = Compose(
        {
            "EDGE_BRIDGE_IMAGE": podman.project_image(),
            "UPSTREAM_NTP_IMAGE": podman.upstream_image(),
            **{name: str(port) for name, port in ports.items()},
        }
    )
    started = compose.run("up", "--detach", "--no-build")
    try:
        assert started.returncode == 0, started.stderr[-3000:]
        # podman-compose 1.0.3 neither runs health checks nor waits for service_healthy: poll
        for name in ("SYSLOG_HEALTH_PORT", "NTP_HEALTH_PORT", "CONFIG_PORT"):
            wait_until(name, lambda p=ports[name]: healthz(p)[0] == 200, timeout=180)

        def syslog_from(router: str, transport: str) -> Callable[[], bool]:
            return lambda: any(
                x.get("event") == "syslog"
                and x.get("hostname") == router
                and x.get("transport") == transport
                for x in compose.lines("syslog")
            )

        wait_until("rtr-sim-1 over UDP", syslog_from("rtr-sim-1", "udp"), timeout=60)
        wait_until("rtr-sim-2 over TCP", syslog_from("rtr-sim-2", "tcp"), timeout=60)
        # NTP: the proxy answered the router's queries (its counters), and the router was
        # content with the answers (its own line)
        wait_until(
            "NTP replies",
            lambda: healthz(ports["NTP_HEALTH_PORT"])[1].get("counters", {}).get("replies", 0),
            timeout=60,
        )
        wait_until(
            "an NTP answer the router accepts",
            lambda: any(
                x.get("event") == "simulate.ntp" and x.get("ok") for x in compose.lines("router")
            ),
            timeout=60,
        )
        # uploads: authenticated, received and compared with the desired config
        received = wait_until(
            "an upload",
            lambda: [
                x
                for x in compose.lines("config")
                if x.get("event") == "config.received" and x.get("router") == "rtr-sim-1"
            ],
            timeout=90,
        )
        assert received
        wait_until(
            "a verdict on the desired config",
            lambda: any(
                x.get("event") in ("config.in_sync", "config.drift")
                for x in compose.lines("config")
            ),
            timeout=30,
        )
        url = f"http://127.0.0.1:{ports['CONFIG_PORT']}/upload/intruder-config"
        assert curl("--upload-file", str(ROOT / "README.md"), url) == 401
        for service in ("syslog", "ntp", "config", "router", "router-tcp", "upstream-ntp"):
            state = podman.podman(
                "inspect", "--format={{.State.Status}}", compose.container(service)
            )
            assert state.strip() == "running", f"{service}: {state}"
    finally:
        compose.down()
    assert compose.left() == [], "down removes every container"
