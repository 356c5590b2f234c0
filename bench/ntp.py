"""Benchmark (not a test): the NTP proxy against chronyd as a server, one client, rising rates.

chronyd (``local stratum 1``, no rate limit, ``noclientlog``) is both the proxy's upstream and
the anchor: at each rate the same client process drives chronyd, then the proxy, for the same
time. The client sends at a fixed rate from one connected socket and reads replies with kernel
receive timestamps (SO_TIMESTAMPNS), so its own wake-up latency does not count against either
server; it computes offset and delay per RFC 5905 exactly as an NTP client would.

Printed per rate and server: replies lost (%), invalid replies, server CPU microseconds per
request (utime + stime from /proc/PID/stat), and the median and 99th percentile of |offset| and
delay. Summary: the highest lossless rate of each (ratio proxy / chronyd) and median |offset|.

    .venv/bin/python bench/ntp.py                 # default run, about 1.5 minutes
    .venv/bin/python bench/ntp.py --rates 1000,5000 --duration 1
    .venv/bin/python bench/ntp.py --auth SHA1      # signed requests, both serving the same key
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.launch import Launched, launch  # noqa: E402
from ntp_proxy.keys import make_key  # noqa: E402
from ntp_proxy.packet import NTP_UNIX_DELTA  # noqa: E402

BENCH_KEY = "6D5F3A1B2C4D5E6F708192A3B4C5D6E7"  # key 1, a bench-only secret

CHRONYD = shutil.which("chronyd") or "/usr/sbin/chronyd"
DEFAULT_RATES = "1000,2000,5000,10000,20000,30000,40000,60000"
_REQUEST = struct.Struct("!B39xQ")
_REPLY = struct.Struct("!BB22xQQQ")
_TIMESPEC = struct.Struct("@qq")
_FRAC = float(1 << 32)
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux values, absent from Python
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
SO_TIMESTAMPING = getattr(socket, "SO_TIMESTAMPING", 37)
IP_RECVERR = getattr(socket, "IP_RECVERR", 11)
TS_TX_SOFTWARE, TS_SOFTWARE, TS_OPT_ID, TS_OPT_TSONLY = 1 << 1, 1 << 4, 1 << 7, 1 << 11
STAMP_EVERY = 4


# -- the client (runs in its own process) -------------------------------------------------------


def client(
    host: str, port: int, rate: float, duration: float, drain: float, auth: str = ""
) -> dict[str, Any]:
    """Send ``rate`` requests per second for ``duration`` seconds; measure the replies.

    Every reply is checked; every ``STAMP_EVERY``-th request also asks the kernel for its
    transmit timestamp (SO_TIMESTAMPING, as chronyd does for its own requests), and offset and
    delay are computed for those from kernel timestamps at both ends of the client.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:  # as root, past net.core.rmem_max: the client must never be the one dropping
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 * 1024 * 1024)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024 * 1024)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPING, TS_SOFTWARE | TS_OPT_ID | TS_OPT_TSONLY)
    sock.connect((host, port))
    sock.setblocking(False)
    anc_size = socket.CMSG_SPACE(_TIMESPEC.size)
    err_anc_size = 512
    want_tx_stamp = [(socket.SOL_SOCKET, SO_TIMESTAMPING, struct.pack("I", TS_TX_SOFTWARE))]
    sent: set[int] = set()
    seen: set[int] = set()
    stamp_keys: dict[int, int] = {}  # origin -> kernel timestamp key (0, 1, 2, ...)
    kernel_sent: dict[int, float] = {}  # key -> kernel transmit time
    measured: list[tuple[int, float, float, float]] = []  # origin, t2, t3, t4
    invalid = duplicates = send_failed = 0
    clock, perf = time.time, time.perf_counter
    pack, unpack = _REQUEST.pack, _REPLY.unpack_from
    count = 0
    mac_key = make_key(1, auth, bytes.fromhex(BENCH_KEY)) if auth else None
    digest = min(mac_key.length, 20) if mac_key else 0
    reply_length = 48 + (4 + digest if mac_key else 0)

    def request(ts: int) -> bytes:
        data = pack(0x23, ts)
        if mac_key is None:
            return data
        return data + b"\0\0\0\1" + mac_key.mac(data)[:digest]

    def receive() -> int:
        nonlocal invalid, duplicates
        got = 0
        while True:
            try:
                data, ancdata, _flags, _addr = sock.recvmsg(128, anc_size)
            except BlockingIOError:
                break
            got += 1
            t4 = None
            for level, kind, payload in ancdata:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = _TIMESPEC.unpack(payload[: _TIMESPEC.size])
                    t4 = sec + nsec * 1e-9
            if len(data) != reply_length or t4 is None:
                invalid += 1
                continue
            if mac_key is not None and mac_key.mac(data[:48])[:digest] != data[52:]:
                invalid += 1
                continue
            first, stratum, origin, receive_ts, transmit_ts = unpack(data)
            if first & 7 != 4 or first >> 6 == 3 or not 1 <= stratum <= 15 or origin not in sent:
                invalid += 1
                continue
            if origin in seen:
                duplicates += 1
                continue
            seen.add(origin)
            if origin in stamp_keys:
                t2 = receive_ts / _FRAC - NTP_UNIX_DELTA
                t3 = transmit_ts / _FRAC - NTP_UNIX_DELTA
                measured.append((origin, t2, t3, t4))
        while True:  # kernel transmit timestamps of our own requests
            try:
                _data, ancdata, _flags, _addr = sock.recvmsg(64, err_anc_size, socket.MSG_ERRQUEUE)
            except BlockingIOError:
                return got
            stamp = key = None
            for level, kind, payload in ancdata:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPING:
                    sec, nsec = _TIMESPEC.unpack_from(payload)
                    stamp = sec + nsec * 1e-9
                elif kind == IP_RECVERR:
                    key = struct.unpack_from("I", payload, 12)[0]
            if stamp is not None and key is not None:
                kernel_sent[key] = stamp

    start = perf()
    end = start + duration
    while True:
        now = perf()
        if now >= end:
            break
        due = min(int((now - start) * rate) - count, 32)  # small bursts: fair to small buffers
        for _ in range(due):
            t1 = clock()
            ts = int((t1 + NTP_UNIX_DELTA) * _FRAC)
            try:
                if count % STAMP_EVERY == 0:
                    sock.sendmsg([request(ts)], want_tx_stamp)
                    stamp_keys[ts] = len(stamp_keys)
                else:
                    sock.send(request(ts))
            except (BlockingIOError, OSError):
                send_failed += 1
                continue
            sent.add(ts)
            count += 1
        if not receive() and due <= 0:
            wait = (count + 1) / rate - (perf() - start)
            if wait > 0:
                select.select([sock], [], [], min(wait, 0.01))
    elapsed = perf() - start
    deadline = perf() + drain
    while perf() < deadline:
        select.select([sock], [], [], 0.05)
        receive()
    sock.close()
    offsets: list[float] = []
    delays: list[float] = []
    for origin, t2, t3, t4 in measured:
        t1_kernel = kernel_sent.get(stamp_keys[origin])
        if t1_kernel is not None:
            offsets.append(((t2 - t1_kernel) + (t3 - t4)) / 2)
            delays.append((t4 - t1_kernel) - (t3 - t2))
    abs_offsets = sorted(abs(o) for o in offsets)
    delays.sort()
    return {
        "sent": len(sent),
        "achieved_rate": len(sent) / elapsed,
        "valid": len(seen),
        "invalid": invalid,
        "duplicates": duplicates,
        "send_failed": send_failed,
        "measured": len(offsets),
        "offset_p50": _pct(abs_offsets, 0.5),
        "offset_p99": _pct(abs_offsets, 0.99),
        "delay_p50": _pct(delays, 0.5),
        "delay_p99": _pct(delays, 0.99),
        "offset_signed_p50": statistics.median(offsets) if offsets else None,
    }


def _pct(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- the servers ---------------------------------------------------------------------------------


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_chronyd(workdir: Path, keyfile: Path | None) -> tuple[subprocess.Popen[bytes], int]:
    port = free_udp_port()
    conf = workdir / "chrony.conf"
    conf.write_text(
        f"local stratum 1\nallow 127.0.0.1\nport {port}\ncmdport 0\nnoclientlog\n"
        f"pidfile {workdir}/chronyd.pid\ndriftfile {workdir}/drift\nuser root\n"
        + (f"keyfile {keyfile}\n" if keyfile else "")
    )
    proc = subprocess.Popen(
        [CHRONYD, "-x", "-d", "-f", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        result = client("127.0.0.1", port, 10, 0.2, 0.1)
        if result["valid"]:
            return proc, port
    proc.kill()
    raise RuntimeError("chronyd did not start serving")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drive(
    pid: int, port: int, rate: float, duration: float, drain: float, auth: str = ""
) -> dict[str, Any]:
    """Run one client process against a server and charge the server's CPU to the requests."""
    before = cpu_seconds(pid)
    output = subprocess.run(
        [sys.executable, __file__, "--client", f"127.0.0.1:{port}", str(rate), str(duration),
         str(drain), *(["--auth", auth] if auth else [])],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + drain + 30,
    ).stdout  # fmt: skip
    result: dict[str, Any] = json.loads(output)
    result["cpu_us"] = (cpu_seconds(pid) - before) * 1e6 / max(result["sent"], 1)
    result["lost_pct"] = 100.0 * (result["sent"] - result["valid"]) / max(result["sent"], 1)
    return result


def _us(value: float | None) -> str:
    return "-" if value is None else f"{value * 1e6:8.1f}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--rates", default=DEFAULT_RATES, help="requests/s, comma-separated")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per rate and server")
    parser.add_argument("--drain", type=float, default=0.5, help="seconds to wait for stragglers")
    parser.add_argument("--client", nargs=4, metavar=("HOST:PORT", "RATE", "DURATION", "DRAIN"))
    parser.add_argument(
        "--auth", default="", help="sign requests with key 1 of this type (MD5, SHA1, AES128...)"
    )
    args = parser.parse_args(argv)
    if args.client:
        host, port = args.client[0].rsplit(":", 1)
        rate, duration, drain = (float(v) for v in args.client[1:])
        print(json.dumps(client(host, int(port), rate, duration, drain, args.auth)))
        return 0

    rates = [float(r) for r in args.rates.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-ntp-") as tmp:
        keyfile = None
        if args.auth:  # one key file for both servers
            keyfile = Path(tmp) / "keys"
            keyfile.write_text(f"1 {args.auth} HEX:{BENCH_KEY}\n")
            keyfile.chmod(0o600)
        chronyd, chronyd_port = start_chronyd(Path(tmp), keyfile)
        proxy = None
        try:
            proxy = launch(
                ["ntp", "--listen", "127.0.0.1:0", "--health", "127.0.0.1:0",
                 "--upstream", f"127.0.0.1:{chronyd_port}", "--rate-limit", "0",
                 "--metrics-interval", "3600",
                 *(["--keys", str(keyfile)] if keyfile else [])],
                Path(tmp) / "proxy.out",
            )  # fmt: skip
            # let the clock filter fill: the first eight polls come two seconds apart
            proxy.wait_count("ntp.upstream_sample", 8, 30)
            servers = {
                "chronyd": (chronyd.pid, chronyd_port),
                "proxy": (proxy.proc.pid, proxy.port("listen")),
            }
            return report(servers, rates, args.duration, args.drain, proxy, args.auth)
        finally:
            if proxy is not None:
                proxy.stop()
            chronyd.terminate()
            chronyd.wait(10)


def report(
    servers: dict[str, tuple[int, int]],
    rates: list[float],
    duration: float,
    drain: float,
    proxy: Launched,
    auth: str = "",
) -> int:
    print(
        f"{'rate/s':>7} {'server':8} {'sent':>7} {'achieved':>9} {'lost%':>6} {'invalid':>7} "
        f"{'cpu us/req':>10} {'|off| p50':>9} {'|off| p99':>9} {'delay p50':>9} {'delay p99':>9}"
    )
    print(f"{'':>7} {'':8} {'':>7} {'':>9} {'':>6} {'':>7} {'':>10} {'(us)':>9} {'(us)':>9} "
          f"{'(us)':>9} {'(us)':>9}")  # fmt: skip
    results: dict[str, dict[float, dict[str, Any]]] = {name: {} for name in servers}
    stopped: set[str] = set()
    for rate in rates:
        for name, (pid, port) in servers.items():
            if name in stopped:
                continue
            r = drive(pid, port, rate, duration, drain, auth)
            results[name][rate] = r
            print(
                f"{rate:7.0f} {name:8} {r['sent']:7d} {r['achieved_rate']:9.0f} "
                f"{r['lost_pct']:6.2f} {r['invalid']:7d} {r['cpu_us']:10.1f} "
                f"{_us(r['offset_p50'])} {_us(r['offset_p99'])} {_us(r['delay_p50'])} "
                f"{_us(r['delay_p99'])}",
                flush=True,
            )
            if r["lost_pct"] > 20:
                stopped.add(name)

    def lossless(name: str) -> float:
        """Highest rate the client achieved (within 2%) with no reply lost or invalid."""
        ok = [
            rate
            for rate, r in results[name].items()
            if r["valid"] == r["sent"] and not r["invalid"] and r["achieved_rate"] >= 0.98 * rate
        ]
        return max(ok, default=0.0)

    def median_offset(name: str) -> float | None:
        values = [r["offset_p50"] for r in results[name].values() if r["offset_p50"] is not None]
        return statistics.median(values) if values else None

    chrony_max, proxy_max = lossless("chronyd"), lossless("proxy")
    print()
    print(f"highest lossless rate: chronyd {chrony_max:.0f}/s, proxy {proxy_max:.0f}/s, "
          f"ratio {proxy_max / chrony_max if chrony_max else float('nan'):.2f}")  # fmt: skip
    print(f"median |offset| over the rates: chronyd {_us(median_offset('chronyd')).strip()} us, "
          f"proxy {_us(median_offset('proxy')).strip()} us")  # fmt: skip
    signed = {name: [r["offset_signed_p50"] for r in results[name].values()] for name in results}
    print("signed median offset per rate (us): " + "; ".join(
        f"{name} " + " ".join(_us(v).strip() for v in values) for name, values in signed.items()
    ))  # fmt: skip
    samples = proxy.events("ntp.upstream_sample")
    print("proxy's upstream samples, offset/delay (us): " + " ".join(
        f"{s['offset'] * 1e6:.1f}/{s['delay'] * 1e6:.1f}" for s in samples
    ))  # fmt: skip
    if samples:
        print(f"proxy's filtered upstream offset at the end: "
              f"{samples[-1]['filtered_offset'] * 1e6:.1f} us")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
