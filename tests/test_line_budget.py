"""No line any daemon writes reaches 16 KiB, whatever it is sent.

Docker's log drivers split a longer line into separate CloudWatch events that no reader joins
again. ``tests/procs.py`` checks every line of every command the suite starts; here each daemon
is pushed to write its longest lines (the raw text beside the message, escapes that grow six
times once encoded, structured data too big to keep, a config line longer than a stdout line,
an error about an unreachable server) and each line must fit, with what was cut flagged.
"""

from __future__ import annotations

import socket
import urllib.request
from pathlib import Path

from bridge.output import MAX_LINE_BYTES
from tests.procs import Daemon, Line, run_command

LOCAL = ["--udp", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--health", "127.0.0.1:0"]


def sizes(daemon: Daemon, event: str, count: int) -> list[Line]:
    daemon.wait_count(lambda line: line.get("event") == event, count, 15)
    assert daemon.too_long == [], "lines of 16 KiB or more"
    return daemon.events(event)


def test_syslog_lines_fit_whatever_the_message() -> None:
    sd = "".join(f'[e{i}@1 p="{"v" * 100}"]' for i in range(200))
    messages = [
        b"<13>1 2026-11-30T16:35:23Z h app - - " + sd.encode() + b" short",  # huge SD
        b'<13>1 2026-11-30T16:35:23Z h app - - [e@1 p="v"] ' + b"\x01" * 60_000,  # escapes
        b"\xff\xfe" * 30_000,  # no format at all: raw, escaped
        b"<13>Nov 30 16:35:23 h app: " + "é€😀".encode() * 6000,
    ]
    args = ["syslog", *LOCAL, "--include-raw", "--max-message-size", "200000"]
    with Daemon.start(args) as daemon:
        with socket.create_connection(daemon.address("syslog", "tcp"), timeout=5) as sock:
            for message in messages:
                sock.sendall(b"%d %s" % (len(message), message))
        lines = sizes(daemon, "syslog", len(messages))
        assert len(lines) == len(messages) and all(line["truncated"] for line in lines)
        assert lines[0]["message"] == "short" and lines[0]["structured_data"] is None
        assert lines[1]["message"].startswith("\x01" * 1000)
        assert daemon.stop() == 0


def test_config_lines_fit_whatever_the_config(tmp_path: Path) -> None:
    desired = tmp_path / "desired"
    desired.mkdir()
    (desired / "long1").write_text("hostname long1\nbanner motd " + "D" * 50_000 + "\n")
    args = ["config", "--listen", "127.0.0.1:0", "--store", str(tmp_path / "store")]
    with Daemon.start([*args, "--desired", str(desired)]) as daemon:
        host, port = daemon.address("config", "listen")
        for n, fill in enumerate(("A", "B"), 1):
            body = f"hostname long1\nbanner motd {fill * 60_000}\n" + "x\n" * 5000
            request = urllib.request.Request(
                f"http://{host}:{port}/upload/long1.cfg", data=body.encode(), method="PUT"
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200, n
        changed = sizes(daemon, "config.changed", 2)
        drift = sizes(daemon, "config.drift", 2)
        assert max(line["parts"] for line in changed) > 4  # one config line over many parts
        assert all(line["parts"] > 4 for line in drift)
        assert daemon.stop() == 0


def test_ntp_check_error_line_fits() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))  # a server that never answers
        port = silent.getsockname()[1]
        result = run_command(["ntp-check", "--timeout", "0.2", f"127.0.0.1:{port}"])
    assert result.returncode == 1
    assert result.stdout.startswith('{"event":"ntp.check_failed"')
    assert len(result.stdout.encode()) <= MAX_LINE_BYTES
