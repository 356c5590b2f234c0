"""What the deployment artefacts are checked against: the daemons' options, ports and health.

Shared by the offline checks of the image, the compose file and the CloudFormation template,
and by the tests that run the image for real. Ports and options come from the daemons'
settings classes, so changing a default without the artefacts fails the checks.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bridge.settings import ENV_PREFIX, env_name, load_settings
from bridge.simulate import SimulatorSettings

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DOCKERFILE = ROOT / "Dockerfile"

DAEMONS = ("syslog", "ntp", "config")
# Read by `edge-bridge healthcheck`, not by a daemon: the one EDGE_BRIDGE_* that is no option.
NOT_OPTIONS = {"EDGE_BRIDGE_HEALTHCHECK_URL"}


def tool(name: str) -> str:
    """A linter installed with the test extras (beside this interpreter), else on PATH."""
    found = BIN / name
    if found.exists():
        return str(found)
    path = shutil.which(name)
    assert path, f"{name} is not installed: pip install -e '.[test]'"
    return path


def run_tool(*args: str) -> None:
    result = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, f"{' '.join(args)}:\n{result.stdout}\n{result.stderr}"


# -- the daemons' side: options, ports, health -------------------------------------------


# Each daemon's options, from its settings module (the daemon's main.SETTINGS is this class).
SETTINGS = {
    "syslog": ("syslog_receiver.settings", "SyslogSettings"),
    "ntp": ("ntp_proxy.settings", "NtpSettings"),
    "config": ("config_uploader.settings", "ConfigSettings"),
}


def settings_class(command: str) -> type[Any]:
    if command == "simulate-router":
        return SimulatorSettings
    assert command in SETTINGS, f"unknown edge-bridge command {command!r}"
    module, name = SETTINGS[command]
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def load(command: str, argv: list[str], env: dict[str, str]) -> Any:
    """The settings a container gets from its command and environment, as the daemon reads them.

    Every ``EDGE_BRIDGE_*`` name must be one of the command's options (a typo would otherwise
    be silently ignored and the default used), and every value must parse.
    """
    cls = settings_class(command)
    options = {env_name(f.name) for f in dataclasses.fields(cls)}
    for name in env:
        if name.startswith(ENV_PREFIX) and name not in NOT_OPTIONS:
            assert name in options, f"{name} is not an option of edge-bridge {command}"
    try:
        return load_settings(cls, argv, prog=f"edge-bridge {command}", environ=env)
    except SystemExit as exc:  # the one-line reason is on stderr, which pytest shows
        pytest.fail(f"edge-bridge {command} {argv} with {env} does not start: exit {exc.code}")


def served(command: str, s: Any) -> set[tuple[int, str]]:
    """(port, protocol) the daemon listens on with these settings, health included."""
    if command == "syslog":
        return {(s.udp.port, "udp"), (s.tcp.port, "tcp"), (s.health.port, "tcp")}
    if command == "ntp":
        return {(s.listen.port, "udp"), (s.health.port, "tcp")}
    if command == "config":
        return {(s.listen.port, "tcp")}
    return set()


def health_port(command: str, s: Any) -> int:
    """The config uploader serves /healthz on its own port; the others on --health."""
    return int(s.listen.port if command == "config" else s.health.port)


def traffic(command: str, s: Any) -> set[tuple[int, str]]:
    """The ports routers reach (the health port only where it is also the service port)."""
    ports = served(command, s)
    if command != "config":
        ports.discard((s.health.port, "tcp"))
    return ports


def url_port(url: str) -> int:
    match = re.match(r"https?://[^/:]+:(\d+)/healthz$", url)
    assert match, f"health check {url!r} is not http://HOST:PORT/healthz"
    return int(match.group(1))


# -- Dockerfile -----------------------------------------------------------------------------


@dataclasses.dataclass
class Instruction:
    keyword: str
    args: str

    def json_args(self) -> list[str]:
        value = json.loads(self.args)
        assert isinstance(value, list), f"{self.keyword} should use the exec (JSON) form"
        return [str(v) for v in value]


def dockerfile(path: Path = DOCKERFILE) -> list[list[Instruction]]:
    """The instructions of each stage (comments dropped, continuation lines joined)."""
    text = re.sub(
        r"\\\n",
        " ",
        "\n".join(
            line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")
        ),
    )
    args: dict[str, str] = {}
    stages: list[list[Instruction]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        keyword, _, rest = line.strip().partition(" ")
        keyword = keyword.upper()
        rest = rest.strip()
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
            continue
        if keyword == "FROM":
            rest = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], rest)
            stages.append([])
        stages[-1].append(Instruction(keyword, rest))
    return stages


def first(stage: list[Instruction], keyword: str) -> Instruction:
    found = [i for i in stage if i.keyword == keyword]
    assert len(found) == 1, f"expected one {keyword}, found {len(found)}"
    return found[0]


def env_of(stage: list[Instruction]) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in stage:
        if instruction.keyword == "ENV":
            for item in shlex.split(instruction.args):
                name, _, value = item.partition("=")
                env[name] = value
    return env


# -- .dockerignore ------------------------------------------------------------------------


def dockerignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """.dockerignore as (excluded, regex); Docker's rules: last match wins, parents count."""
    patterns = []
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        glob = line.lstrip("!").strip("/")
        regex = re.escape(glob).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*")
        patterns.append((not negated, re.compile(regex.replace(r"\?", "[^/]") + "$")))
    return patterns


def in_context(path: str) -> bool:
    parts = path.strip("/").split("/")
    excluded = False
    for is_exclusion, pattern in dockerignore_patterns():
        if any(pattern.match("/".join(parts[: i + 1])) for i in range(len(parts))):
            excluded = is_exclusion
    return not excluded


def context_files(root: Path = ROOT) -> list[Path]:
    """The files a build sends from ``root``: .dockerignore applied (excluded dirs pruned)."""
    found = []
    for directory, dirs, files in os.walk(root):
        here = Path(directory)
        dirs[:] = sorted(
            d
            for d in dirs
            if d != "__pycache__" and in_context((here / d).relative_to(root).as_posix())
        )
        for name in sorted(files):
            relative = (here / name).relative_to(root).as_posix()
            if in_context(relative):
                found.append(here / name)
    return found
