"""The router inventory file: what it accepts, what stops a daemon at start, and the names the
syslog receiver gives by it (also in ``--workers`` processes, which get it by command line)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bridge.inventory import Inventory, InventoryRouter, address_entries, read_inventory
from tests.procs import Daemon, run_command
from tests.test_syslog_integration import LOCAL, syslog_with

FLEET = """
[[router]]
name = "dc1-rtr1"
addresses = ["192.0.2.1", "2001:db8::1"]

[[router]]
name = "dc1-mx1"
addresses = ["127.0.0.5"]
credential = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "inventory.toml"
    path.write_text(text)
    return str(path)


def test_a_fleet_file_and_router_entries_make_one_inventory(tmp_path: Path) -> None:
    routers = read_inventory(write(tmp_path, FLEET))
    assert routers[0] == InventoryRouter("dc1-rtr1", ("192.0.2.1", "2001:db8::1"))
    assert routers[1].credential is not None and routers[1].credential.startswith("$argon2id")
    inventory = Inventory(routers, [("198.51.100.7", "edge-7"), ("192.0.2.9", "DC1-RTR1")])
    assert inventory.name_for("::ffff:192.0.2.1") == "dc1-rtr1"
    assert inventory.name_for("2001:db8:0::1") == "dc1-rtr1"
    assert inventory.name_for("192.0.2.9") == "dc1-rtr1"  # one router, one more address
    assert inventory.name_for("198.51.100.7") == "edge-7"
    assert inventory.name_for("203.0.113.1") is None
    assert inventory.name_for("not an address") is None
    assert ("127.0.0.5", "dc1-mx1") in address_entries(routers)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[router]]\naddresses = []\n", "needs a name"),
        ('[[router]]\nname = "a b"\n', "letters, digits"),
        ('[[router]]\nname = "a"\naddresses = ["10.0.0.300"]\n', "does not appear to be"),
        ('[[router]]\nname = "a"\ncredential = "plain"\n', "argon2 hash"),
        ('[[router]]\nname = "a"\nport = 1\n', "unknown key"),
        ("router = 1\n", r"\[\[router\]\] tables"),
        ("[[router]\n", "Expected"),
    ],
)
def test_mistakes_are_named(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_inventory(write(tmp_path, text))


def test_one_address_for_two_routers_is_refused() -> None:
    with pytest.raises(ValueError, match="given to both"):
        Inventory([InventoryRouter("a", ("10.0.0.1",))], [("10.0.0.1", "b")])


def test_a_bad_inventory_stops_the_daemon_at_start(tmp_path: Path) -> None:
    done = run_command(["syslog", *LOCAL, "--inventory", write(tmp_path, "[[router]\n")])
    assert done.returncode == 2
    assert done.stderr.startswith("edge-bridge syslog: invalid --inventory")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_syslog_names_routers_by_the_inventory(tmp_path: Path, workers: str) -> None:
    fleet = write(tmp_path, FLEET.replace("127.0.0.5", "127.0.0.1"))
    with Daemon.start(["syslog", *LOCAL, "--inventory", fleet, "--workers", workers]) as daemon:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"<13>Dec  1 10:00:00 mx1 app: named", daemon.address("syslog", "udp"))
        [line] = syslog_with(daemon, "named")
        assert line["router"] == "dc1-mx1"
