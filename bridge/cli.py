"""``edge-bridge``: the one console script; dispatches to the daemons and tools.

This is the face above all three daemons, so it alone (with the router simulator) may import
them; it imports each lazily, so ``edge-bridge ntp`` never loads the config uploader.
"""

from __future__ import annotations

import importlib
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from bridge.settings import CommonSettings, add_options, new_parser, settings_from

DAEMONS = {
    "syslog": "syslog_receiver.main",
    "ntp": "ntp_proxy.main",
    "config": "config_uploader.main",
}
TOOLS = {
    "ntp-check": "ntp_proxy.check",
    "simulate-router": "bridge.simulate",
    "report": "bridge.report.main",
    "credentials": "config_uploader.credentials",
}
USAGE = """usage: edge-bridge COMMAND [OPTIONS]

commands:
  syslog           router syslog over UDP and TCP -> JSON lines on stdout
  ntp              NTP server for routers, time from the Amazon Time Sync Service
  config           receives router config uploads, keeps versions, reports drift
  all              all three daemons in one process (options: edge-bridge all --help)
  ntp-check        ask an NTP server for the time and print its answer
  simulate-router  behave like a router pointed at the suite
  report           per-router PCI DSS verdicts (10.3.3, 10.6, 1.2.8) from the daemons' lines
  credentials      hash a password (stdin) or generate local credentials for the uploader
  healthcheck      exit 0 if a health endpoint answers 200 (for container HEALTHCHECK)

'edge-bridge COMMAND --help' lists a command's options; every option can also be set by an
EDGE_BRIDGE_<OPTION> environment variable."""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command in DAEMONS:
        module: Any = importlib.import_module(DAEMONS[command])
        return int(module.main(rest))
    if command in TOOLS:
        module = importlib.import_module(TOOLS[command])
        return int(module.main(rest))
    if command == "all":
        return run_all(rest)
    if command == "healthcheck":
        return healthcheck(rest)
    print(f"edge-bridge: unknown command {command!r} (see edge-bridge --help)", file=sys.stderr)
    return 2


def run_all(argv: Sequence[str], environ: dict[str, str] | None = None) -> int:
    """All three daemons in one process: options take the daemon's name as a prefix.

    ``--syslog-udp`` / ``EDGE_BRIDGE_SYSLOG_UDP``, ``--ntp-upstream`` /
    ``EDGE_BRIDGE_NTP_UPSTREAM``, ``--config-store`` / ``EDGE_BRIDGE_CONFIG_STORE``: the
    daemons share option names (``--listen``, ``--health``), so one process needs the prefix.
    """
    from bridge.runner import run

    environ = dict(os.environ) if environ is None else environ
    prog = "edge-bridge all"
    parser = new_parser(prog, "All three daemons in one process, on local defaults.")
    modules = {name: importlib.import_module(path) for name, path in DAEMONS.items()}
    for name, module in modules.items():
        add_options(parser, module.SETTINGS, prefix=f"{name}_")
    values = vars(parser.parse_args(list(argv)))
    services = []
    each = []
    for name, module in modules.items():
        settings = settings_from(module.SETTINGS, values, environ, prog, prefix=f"{name}_")
        each.append(settings)
        services.append(module.build(settings))
    # one process, one stdout: the most frequent metrics, the largest buffer, the first alarm
    common = CommonSettings(
        metrics_interval=min(s.metrics_interval for s in each),
        stdout_buffer=max(s.stdout_buffer for s in each),
        stdout_stall=min(s.stdout_stall for s in each),
    )
    return run(services, common)


def healthcheck(argv: Sequence[str]) -> int:
    """``edge-bridge healthcheck [URL]``: the image has no curl, and needs none."""
    url = (
        argv[0]
        if argv
        else os.environ.get("EDGE_BRIDGE_HEALTHCHECK_URL", "http://127.0.0.1:8514/healthz")
    )
    try:
        # No proxy: a container's HTTP(S)_PROXY must not route its own health check away.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(url, timeout=3) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"edge-bridge healthcheck: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
