"""The UDP backlog: datagrams read ahead of parsing, bounded, lost nowhere, kept in order."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator

import pytest

from bridge.settings import load_settings
from syslog_receiver import server
from syslog_receiver.server import Receiver, new_counters, open_listeners
from syslog_receiver.settings import SyslogSettings


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    settings = load_settings(
        SyslogSettings,
        ["--udp=127.0.0.1:0", "--tcp=127.0.0.1:0", "--rate-limit=0", "--recv-buffer=4MiB"],
        prog="test",
        environ={},
    )
    [(udp, tcp)] = open_listeners(settings, 1)
    loop = asyncio.new_event_loop()
    receiver = Receiver(settings, udp, tcp, new_counters())
    receiver._loop = loop
    try:
        yield receiver
    finally:
        udp.close()
        tcp.close()
        loop.close()


def _send(receiver: Receiver, payloads: list[bytes]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for payload in payloads:
            sender.sendto(payload, receiver.udp.getsockname())


def _messages(out: bytes) -> list[str]:
    return [json.loads(line)["message"] for line in out.splitlines()]


def test_a_burst_waits_in_the_bounded_backlog_then_all_of_it_is_emitted(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    monkeypatch.setattr(server, "BACKLOG_MAX", 300)
    sent = [f"<13>burst {i}".encode() for i in range(1000)]
    _send(receiver, sent)
    # Reading alone stops at the bound: the rest stays in the kernel buffer, not dropped.
    for _ in range(10):
        receiver._read_udp()
    assert 300 - 64 <= len(receiver._backlog) <= 300
    assert receiver.counters.values["received"] == len(receiver._backlog)
    while receiver._drain_udp():
        receiver.flush()
    receiver.flush()
    assert _messages(capsysbinary.readouterr().out) == [p.decode()[4:] for p in sent]
    values = receiver.counters.values
    assert values["received"] == values["emitted"] == 1000
    assert not receiver._backlog and receiver._backlog_bytes == 0


def test_the_backlog_is_bounded_in_bytes(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    monkeypatch.setattr(server, "BACKLOG_BYTES", 100_000)
    sent = [b"<13>big " + str(i).encode().rjust(8_000, b"x") for i in range(200)]
    _send(receiver, sent)
    for _ in range(10):
        receiver._read_udp()
    held = receiver._backlog_bytes
    assert held == sum(len(data) for data, *_ in receiver._backlog)
    assert 100_000 <= held < 100_000 + 64 * 8_010  # one read of 64 may pass the bound
    while receiver._drain_udp():
        receiver.flush()
    receiver.flush()
    assert len(_messages(capsysbinary.readouterr().out)) == 200
    assert receiver._backlog_bytes == 0
