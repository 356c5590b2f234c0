"""Attacks on the syslog receiver's TCP listener: idle connections from one address, then a
message from another: is it still delivered?"""

from __future__ import annotations

import asyncio

from bench.attacks.bench import Bench, idle_connections
from bench.attacks.health import HealthProbe
from bench.attacks.processes import Daemon


async def idle_syslog(bench: Bench) -> str:
    daemon = Daemon(
        bench.root,
        ["syslog", "--udp", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--health", "127.0.0.1:0"],
    )
    bench.daemon = daemon
    host, port = daemon.address("tcp")
    health_host, health_port = daemon.address("health")
    health = f"http://{health_host}:{health_port}/healthz"
    daemon.watch(bench.args.kill_above * 1024)
    with HealthProbe(health) as probe:
        held = await idle_connections(host, port, bench.args.idle)
        delivered = False
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, local_addr=("127.0.0.3", 0)), 5
            )
            writer.write(b"<13>Dec  1 10:00:00 other app: from another address\n")
            await writer.drain()
            for _ in range(50):
                await asyncio.sleep(0.1)
                if any(x.get("source_ip") == "127.0.0.3" for x in daemon.events("syslog")):
                    delivered = True
                    break
            writer.close()
        except (OSError, TimeoutError):
            pass
        still = await held.still_open()
        await held.close()
    return (
        f"{held.connected} of {bench.args.idle} connected from 127.0.0.2, {still} still "
        f"open after {held.age():.0f} s; message from 127.0.0.3 "
        f"{'delivered' if delivered else 'NOT delivered'}; {probe.describe()}"
    )
