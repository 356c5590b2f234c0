"""The syslog parser alone: CPU per message and header coverage, this checkout against another.

    .venv/bin/python bench/syslog_parse.py                      # this checkout
    .venv/bin/python bench/syslog_parse.py --against ../main    # and another, side by side

Two workloads: the three router lines bench/syslog_udp.py sends (numbered, so no two are
alike), and the published device lines of tests/data/syslog/peer_corpus.json. For each it
prints the parser's process CPU time per message, best of --rounds runs of --count parses,
the two checkouts taking turns: process time and the best run leave out most of what other
processes on a shared machine add, which the end-to-end benchmark cannot. It also prints the
share of corpus lines that get a timestamp, and both a timestamp and a hostname. With
--against, the other checkout's syslog_receiver parses the same lines in child processes,
and the ratio (this / other) is printed.

Not a test: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "syslog" / "peer_corpus.json"
NOW = 1796058000.0  # the corpus's arrival time, 2026-11-30T17:00:00Z


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _corpus() -> list[bytes]:
    lines = json.loads(CORPUS.read_text())["lines"]
    return [case["line"].encode() for case in lines]


def _workloads(count: int) -> dict[str, list[bytes]]:
    payloads = _load(ROOT / "bench" / "syslog_udp.py", "bench_syslog_udp").PAYLOADS
    corpus = _corpus()
    router = [payloads[i % len(payloads)] % (b"parse", i) for i in range(count)]
    published = [corpus[i % len(corpus)] for i in range(count)]
    return {"router lines": router, "published lines": published}


def measure(checkout: Path, count: int, rounds: int) -> dict[str, float]:
    """Run in the process whose sys.path starts at `checkout`: its parser on our lines."""
    sys.path.insert(0, str(checkout))
    from syslog_receiver.parse import parse

    result: dict[str, float] = {}
    for name, lines in _workloads(count).items():
        best = float("inf")
        for _ in range(rounds):
            start = time.process_time()
            for data in lines:
                parse(data, NOW)
            best = min(best, time.process_time() - start)
        result[name] = best / len(lines) * 1e6
    records = [parse(line, NOW) for line in _corpus()]
    result["corpus lines"] = len(records)
    result["with timestamp %"] = 100 * sum(1 for r in records if r["timestamp"]) / len(records)
    result["with timestamp and hostname %"] = (
        100 * sum(1 for r in records if r["timestamp"] and r["hostname"]) / len(records)
    )
    return result


def _child(checkout: Path, count: int, rounds: int) -> dict[str, float]:
    """`measure` for another checkout, in a process that imports only its syslog_receiver."""
    out = subprocess.run(
        [sys.executable, __file__, "--measure", str(checkout), "--count", str(count),
         "--rounds", str(rounds)],
        check=True, capture_output=True, text=True, cwd=checkout,
    )  # fmt: skip
    return dict(json.loads(out.stdout))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, help="another checkout to compare with")
    parser.add_argument("--count", type=int, default=20_000, help="parses per run")
    parser.add_argument("--rounds", type=int, default=9, help="runs; the best one counts")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.measure, args.count, args.rounds)))
        return 0
    checkouts = {"this": ROOT}
    if args.against is not None:
        checkouts["other"] = args.against.resolve()
    # One round at a time, the checkouts taking turns, so that a change in what else the
    # machine runs falls on both alike; each keeps its best round.
    columns: dict[str, dict[str, float]] = {}
    for _ in range(args.rounds):
        for name, checkout in checkouts.items():
            got = _child(checkout, args.count, 1)
            best = columns.setdefault(name, got)
            for key, value in got.items():
                best[key] = min(best[key], value)
    ratio = "  this/other" if len(columns) == 2 else ""
    print(f"{'':32}" + "".join(f"{name:>12}" for name in columns) + ratio)
    for key in columns["this"]:
        values = [columns[name][key] for name in columns]
        unit = " us/msg" if "lines" in key and "corpus" not in key else ""
        row = f"{key + unit:32}" + "".join(f"{v:12.2f}" for v in values)
        if len(values) == 2 and values[1]:
            row += f"  {values[0] / values[1]:10.3f}"
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
