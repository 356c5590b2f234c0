"""Hostile clients against the real daemons: does each listener bound memory, connections and
time per peer, and does ``/healthz`` keep answering meanwhile?

Each case starts a fresh daemon (so its peak RSS is the case's own), runs one attack from
loopback addresses, and prints the outcome, the daemon's peak RSS (``VmHWM``, summed over its
processes) and the slowest ``/healthz`` answer seen while the attack ran (probed every 100 ms):

* ``gzip-bomb``: one upload of 16 KiB of gzip that inflates to 16 MiB of two-byte lines;
* ``multipart-bomb``: one multipart upload of ``--parts`` such files;
* ``idle-config`` / ``idle-syslog``: ``--idle`` TCP connections from 127.0.0.2 that send
  nothing, then an upload (a syslog message) from 127.0.0.3: is it still served?
* ``slow-header``: ``--slow`` clients from 127.0.0.4 sending a request head one byte a second:
  when does the server hang up?
* ``failed-auth``: ``--failed`` reads (``GET /routers``) with a wrong password,
  ``--auth-clients`` at a time (an online brute force of Basic auth; 16 by default, within the
  per-address connection cap, so every request reaches the credential check): how are they
  answered, and how many lines do they cost on stdout?

    .venv/bin/python bench/hostile.py [--root DIR] [--case NAME]...

``--root`` runs the daemons of another checkout (for example main before a change) with this
script. A daemon whose RSS passes ``--kill-above`` is killed (the case says so) to spare the
machine. Not a test: the figures depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from bench.attacks import config, syslog  # noqa: E402
from bench.attacks.bench import Bench, Case  # noqa: E402

CASES: dict[str, Case] = {
    "gzip-bomb": config.gzip_bomb,
    "multipart-bomb": config.multipart_bomb,
    "idle-config": config.idle_config,
    "idle-syslog": syslog.idle_syslog,
    "slow-header": config.slow_header,
    "failed-auth": config.failed_auth,
}


async def run(args: argparse.Namespace, root: Path, workdir: Path) -> int:
    print(f"daemons of {root}; peak RSS is VmHWM summed over the daemon's processes")
    for name in args.case or list(CASES):
        bench = Bench(args, root, workdir)
        try:
            outcome = await CASES[name](bench)
        except Exception as exc:  # a case that cannot run says why; the others still run
            outcome = f"could not run: {exc!r}"
        daemon = bench.daemon
        if daemon is not None:
            await asyncio.sleep(0.3)
            alive = daemon.proc.poll() is None
            daemon.stop()
            state = (
                "KILLED above --kill-above"
                if daemon.killed
                else ("running" if alive else f"DIED (exit {daemon.proc.returncode})")
            )
            print(
                f"{name:15} peak RSS {daemon.peak_kib / 1024:7.1f} MiB, daemon {state}: {outcome}",
                flush=True,
            )
        else:
            print(f"{name:15} {outcome}", flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=str(HERE), help="checkout whose daemons run")
    parser.add_argument("--case", action="append", choices=list(CASES))
    parser.add_argument("--parts", type=int, default=16)
    parser.add_argument("--idle", type=int, default=2000)
    parser.add_argument("--slow", type=int, default=20)
    parser.add_argument("--slow-seconds", type=float, default=40.0)
    parser.add_argument("--failed", type=int, default=10_000)
    parser.add_argument("--auth-clients", type=int, default=16)
    parser.add_argument("--answer-within", type=float, default=900.0, help="seconds")
    parser.add_argument("--kill-above", type=int, default=4096, help="MiB")
    parser.add_argument("--workdir", default="/tmp/edge-bridge-hostile")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(run(args, Path(args.root).resolve(), workdir))


if __name__ == "__main__":
    sys.exit(main())
