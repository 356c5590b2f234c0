"""A small simulated fleet against the three daemons, run once and shared by the report tests.

Three routers, each as a person would set one up, all on loopback:

* ``rtr-good`` (127.0.0.1) is ``edge-bridge simulate-router``: it logs, asks the NTP proxy
  for time and uploads its config, which matches the desired one;
* ``rtr-drift`` (127.0.0.2) logs through a real rsyslog relay bound to that address, and its
  config, uploaded with curl, has three changes the desired config lacks (one rotates the SNMP
  community, so a secret sits in the drift diff, and the PCI rules' SNMP feature fails);
* ``rtr-quiet`` (127.0.0.3) sends two messages at the start, then stops logging; its config
  matches.

The three daemons run as three processes, as three tasks would, with a real chronyd upstream;
their stdout is kept in one file each, which is what the report reads.
"""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from bridge.log_evidence import epoch
from bridge.simulate import cisco_line, router_config
from tests.ntp_peers import Chronyd, free_udp_port
from tests.peers import peer
from tests.procs import ROOT, Daemon

ROUTERS = {"127.0.0.1": "rtr-good", "127.0.0.2": "rtr-drift", "127.0.0.3": "rtr-quiet"}
SIMULATED_SECONDS = 7.0
MAX_SILENCE = "4s"  # rtr-quiet is silent for longer than this by the period's end

RSYSLOG_CONF = """\
global(workDirectory="{dir}")
module(load="imfile")
input(type="imfile" File="{dir}/in.log" Tag="bgpd:" Facility="local3" Severity="notice"
      freshStartTail="off")
action(type="omfwd" target="127.0.0.1" port="{udp}" protocol="udp" address="127.0.0.2"
       template="RSYSLOG_SyslogProtocol23Format")
"""


@dataclass
class FleetRun:
    workdir: Path
    outputs: list[Path]  # one file of JSON lines per daemon
    until: str  # the period's end: after the last message of the routers that kept logging
    secrets: list[str]  # strings from the routers' configs that must never be shown


def secrets_of(name: str) -> list[str]:
    """The secret values router_config derives from the name (see bridge/simulate/upload.py)."""
    token = random.Random(name).getrandbits(64)
    return [
        f"{token:016x}",  # inside the enable and user secret hashes
        f"0822455D0A16{token % 10**6:06d}",  # BGP neighbour password
        f"045802150C2E{token % 10**8:08d}",  # TACACS key
        *(f"sim{(token + r // 2) % 10**8:08d}" for r in range(4)),  # SNMP communities
    ]


def desired_dir(workdir: Path) -> Path:
    desired = workdir / "desired"
    desired.mkdir()
    for name in ROUTERS.values():
        (desired / f"{name}.cfg").write_text(config_of(name, 0))
    return desired


def config_of(name: str, revision: int) -> str:
    return router_config(name, revision, time.time(), "127.0.0.1:514", "127.0.0.1:123")


def upload(url: str, body: str) -> None:
    subprocess.run(
        [
            peer("curl", "curl"),
            "-sSf",
            "-X",
            "PUT",
            "--data-binary",
            "@-",
            "-H",
            "Content-Type: text/plain",
            url,
        ],
        input=body.encode(),
        check=True,
        timeout=10,
        capture_output=True,
    )


def run_fleet(workdir: Path) -> FleetRun:
    rsyslogd = peer("rsyslogd", "rsyslog")
    named = ",".join(f"{ip}={name}" for ip, name in ROUTERS.items())
    upstream = Chronyd(workdir / "chronyd", free_udp_port()).start()
    syslog = Daemon.start(
        ["syslog", "--udp", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--health", "127.0.0.1:0"],
        env={"EDGE_BRIDGE_ROUTER": named, "EDGE_BRIDGE_METRICS_INTERVAL": "1"},
    )
    ntp = Daemon.start(
        ["ntp", "--listen", "127.0.0.1:0", "--health", "127.0.0.1:0", "--poll", "0.5",
         "--upstream", f"127.0.0.1:{upstream.port}"],
        env={"EDGE_BRIDGE_ROUTER": named, "EDGE_BRIDGE_METRICS_INTERVAL": "1"},
    )  # fmt: skip
    config = Daemon.start(
        ["config", "--listen", "127.0.0.1:0", "--store", str(workdir / "store"),
         "--desired", str(desired_dir(workdir)),
         "--compliance", str(ROOT / "deploy" / "compliance" / "pci.yaml")],
        env={"EDGE_BRIDGE_METRICS_INTERVAL": "1"},
    )  # fmt: skip
    relay: subprocess.Popen[bytes] | None = None
    daemons = (syslog, ntp, config)
    try:
        udp_host, udp_port = syslog.address("syslog", "udp")
        config_host, config_port = config.address("config", "listen")
        base = f"http://{config_host}:{config_port}/upload"
        ntp_host, ntp_port = ntp.address("ntp", "listen")

        # rtr-quiet: two messages now, then silence; its config is the desired one
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as quiet:
            quiet.bind(("127.0.0.3", 0))
            for seq in (1, 2):
                line = cisco_line("rtr-quiet", seq, time.time(), 5, "SYS-5-RESTART", "up")
                quiet.sendto(line, (udp_host, udp_port))
        upload(f"{base}/rtr-quiet-config", config_of("rtr-quiet", 0))

        # rtr-drift: a config three changes away from the desired one, logs through rsyslog
        upload(f"{base}/rtr-drift-config", config_of("rtr-drift", 3))
        relay_dir = workdir / "rsyslog"
        relay_dir.mkdir()
        feed = relay_dir / "in.log"
        feed.write_text("BGP neighbor 169.254.10.1 Up\n")
        conf = relay_dir / "rsyslog.conf"
        conf.write_text(RSYSLOG_CONF.format(dir=relay_dir, udp=udp_port))
        relay = subprocess.Popen(
            [rsyslogd, "-n", "-f", str(conf), "-i", str(relay_dir / "rsyslog.pid")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        # rtr-good: the simulator does all three, its config as desired (no change in the run)
        simulator = subprocess.Popen(
            [sys.executable, "-m", "bridge.cli", "simulate-router", "--name", "rtr-good",
             "--syslog", f"{udp_host}:{udp_port}", "--ntp", f"{ntp_host}:{ntp_port}",
             "--config-url", base + "/{name}-config", "--rate", "5", "--burst-every", "0",
             "--ntp-every", "1", "--upload-every", "2", "--change-every", "1000",
             "--duration", str(SIMULATED_SECONDS)],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + SIMULATED_SECONDS + 20
        count = 0
        while simulator.poll() is None and time.monotonic() < deadline:
            count += 1
            with feed.open("a") as handle:  # rtr-drift keeps logging while rtr-good runs
                handle.write(f"BGP keepalive {count} from 169.254.10.1\n")
            time.sleep(1.0)
        assert simulator.wait(5) == 0
        ended = time.time()
        # the period ends at the first evidence summary that has seen both routers' last logs
        summary = syslog.wait_for(
            lambda d: d.get("event") == "syslog.evidence" and _time(d) > ended + 0.2, timeout=10
        )
        until = str(summary["time"])
    finally:
        if relay is not None:
            relay.terminate()
            relay.wait(10)
        for daemon in daemons:
            daemon.stop()
        upstream.stop()
    outputs = []
    for daemon in daemons:
        path = workdir / f"{daemon.args[0]}.jsonl"
        path.write_bytes(b"".join(_raw(line) for line in daemon.lines()))
        outputs.append(path)
    secrets = [s for name in ROUTERS.values() for s in secrets_of(name)]
    return FleetRun(workdir, outputs, until, secrets)


def _time(line: dict[str, object]) -> float:
    return epoch(line.get("time")) or 0.0


def _raw(line: dict[str, object]) -> bytes:
    return orjson.dumps(line) + b"\n"
