"""The contract for bad settings: one line on stderr naming the problem, and exit status 2.

Every daemon and command stops this way at start, so an operator reading ECS task events sees
one clear reason, never a traceback and never a daemon that starts and fails later.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn


def fail(prog: str, message: str) -> NoReturn:
    """One line on stderr and exit status 2."""
    print(f"{prog}: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        fail(self.prog, message)


def new_parser(prog: str, description: str | None = None) -> argparse.ArgumentParser:
    """An argparse parser whose errors are one line and exit status 2."""
    return _OneLineParser(prog=prog, description=description)
