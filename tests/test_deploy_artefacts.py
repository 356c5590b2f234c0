"""The image and the compose simulation, checked against the code.

Linters check each file's form (hadolint, the compose-spec schema); these tests check what no
linter knows: that every ``EDGE_BRIDGE_*`` variable is a real option of the daemon it is given
to and parses, that every published port is one the daemon listens on with that protocol, and
that every health check asks the daemon's own health port (helpers in tests/artefacts.py). The
CloudFormation template has its own checks (test_deploy_template.py, test_deploy_secrets.py,
test_deploy_audit_trail.py); the image and the compose file are run for real in
test_containers.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bridge.settings import HostPort
from bridge.simulate import router_config
from config_uploader.compliance.judge import Judge
from config_uploader.ingest import redact_for
from config_uploader.normalise import normalise
from tests.artefacts import (
    DAEMONS,
    DOCKERFILE,
    ROOT,
    SETTINGS,
    dockerfile,
    env_of,
    first,
    health_port,
    in_context,
    load,
    run_tool,
    served,
    settings_class,
    tool,
    url_port,
)

COMPOSE = ROOT / "docker-compose.yml"
CHRONY = ROOT / "deploy" / "chrony"
# Where a router on the compose host sends: the ports of the design's table.
ROUTER_PORTS = {
    "syslog": {(514, "udp"), (514, "tcp")},
    "ntp": {(123, "udp")},
    "config": {(80, "tcp")},
}


# -- the daemons' side: options, ports, health -------------------------------------------


def test_defaults_are_high_ports() -> None:
    """A non-root process cannot bind below 1024, and Fargate cannot grant the capability."""
    for command in DAEMONS:
        for port, _ in served(command, settings_class(command)()):
            assert port >= 1024, f"edge-bridge {command} listens on {port} by default"


# -- Dockerfile -----------------------------------------------------------------------------


def test_hadolint() -> None:
    run_tool(tool("hadolint"), str(DOCKERFILE), str(CHRONY / "Dockerfile"))


def test_image_is_multi_stage_pinned_non_root_and_read_only_ready() -> None:
    builder, final = dockerfile()
    base = first(final, "FROM").args
    assert first(builder, "FROM").args.split()[0] == base, "both stages use one base"
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", base), f"base {base} not pinned"
    installs = [i.args for i in builder if i.keyword == "RUN" and "pip install" in i.args]
    locked, package = installs
    assert "--require-hashes" in locked and "-r requirements.lock" in locked, locked
    assert "--no-deps" in locked and "--only-binary=:all:" in locked, "wheels of the lock only"
    assert "--no-deps ." in package and "pip check" in package, "the lock holds every dependency"
    copied = [i.args.split() for i in final if i.keyword == "COPY"]
    assert ["--from=builder", "/opt/edge-bridge", "/opt/edge-bridge"] in copied
    install = " ".join(i.args for i in final if i.keyword == "RUN")
    assert "pip install" not in install, "the final stage installs nothing"
    for forbidden in ("apt-get", "gcc", "build-essential", "git "):
        assert forbidden not in install, f"no build tools in the final stage ({forbidden})"
    user = first(final, "USER").args
    assert re.fullmatch(r"[1-9]\d*:[1-9]\d*", user), f"USER {user}: numeric, non-root uid:gid"
    env = env_of(final)
    assert env.get("PYTHONDONTWRITEBYTECODE") == "1", "nothing written under a read-only root"
    assert first(final, "ENTRYPOINT").json_args() == ["edge-bridge"]
    command = first(final, "CMD").json_args()
    assert command == ["syslog"]
    health = first(final, "HEALTHCHECK").args
    assert re.search(r'CMD \["edge-bridge", "healthcheck"\]', health), health
    default = settings_class(command[0])()
    assert url_port(env["EDGE_BRIDGE_HEALTHCHECK_URL"]) == health_port(command[0], default)
    exposed = {
        (int(port), proto)
        for item in first(final, "EXPOSE").args.split()
        for port, _, proto in [item.partition("/")]
    }
    expected = set().union(*(served(c, settings_class(c)()) for c in DAEMONS))
    assert exposed == expected, "EXPOSE lists exactly the daemons' default ports"


def copied_sources() -> list[str]:
    builder = dockerfile()[0]
    sources = []
    for instruction in builder:
        if instruction.keyword == "COPY":
            words = [w for w in instruction.args.split() if not w.startswith("--")]
            sources += words[:-1]
    return sources


def test_build_context_holds_what_the_builder_copies() -> None:
    """Every COPY source exists and survives .dockerignore; .venv and .git do not."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    sources = {s.rstrip("/") for s in copied_sources()}
    needed = {"pyproject.toml", "requirements.lock", pyproject["project"]["readme"]}
    needed |= {p.rstrip("*") for p in packages}
    assert needed <= sources, f"the builder does not copy {needed - sources}"
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: no such file"
        assert in_context(source), f"COPY {source}: excluded by .dockerignore"
    for secretish in (".git", ".venv", "tests", ".env", "bench", "config-store"):
        assert not in_context(secretish), f"{secretish} would be sent to the Docker daemon"
    assert not in_context("bridge/__pycache__/cli.cpython-311.pyc")


def test_wheel_from_the_build_context_has_every_module_and_the_script(tmp_path: Path) -> None:
    """Do what the builder stage does (pip wheel from the copied files) and look inside.

    A module the packaging misses would be absent from the image only: this catches it here.
    """
    context = tmp_path / "src"
    for source in copied_sources():
        src = ROOT / source
        if src.is_dir():
            shutil.copytree(src, context / source, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (context / source).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, context / source)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(context),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (wheel,) = tmp_path.glob("edge_bridge-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in {"bridge", *(module for module, _ in SETTINGS.values())}:
        package = package.split(".")[0]
        for module in [*(ROOT / package).rglob("*.py"), *(ROOT / package).rglob("*.html")]:
            relative = module.relative_to(ROOT).as_posix()
            assert relative in names, f"{relative} is missing from the wheel"
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert re.search(r"^edge-bridge = bridge\.cli:main$", text, re.M), text


def locked() -> dict[str, tuple[str, int]]:
    """requirements.lock as {normalised name: (version, number of hashes)}."""
    pins: dict[str, tuple[str, int]] = {}
    name = ""
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        pin = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)", line)
        if pin:
            name = canonicalize_name(pin.group(1))
            pins[name] = (pin.group(2), 0)
        elif re.match(r"^\s+--hash=sha256:[0-9a-f]{64}", line):
            version, hashes = pins[name]
            pins[name] = (version, hashes + 1)
    return pins


def test_the_lock_pins_every_dependency_with_hashes() -> None:
    """The image installs requirements.lock alone (`make lock` writes it from pyproject.toml):
    every dependency is there, at a version pyproject.toml accepts, with its files' hashes."""
    pins = locked()
    assert pins, "requirements.lock is empty"
    for name, (version, hashes) in pins.items():
        assert hashes, f"{name}=={version} has no hash: pip --require-hashes refuses it"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for dependency in pyproject["project"]["dependencies"]:
        wanted = Requirement(dependency)
        name = canonicalize_name(wanted.name)
        assert name in pins, f"{wanted.name} is not in requirements.lock: run make lock"
        assert wanted.specifier.contains(pins[name][0], prereleases=True), (
            f"requirements.lock has {name}=={pins[name][0]}, pyproject.toml wants {wanted}"
        )


# -- docker-compose.yml ---------------------------------------------------------------------


def interpolate(text: str, environ: dict[str, str] | None = None) -> str:
    """Compose's ``${VAR:-default}``, with ``environ`` (none given: the defaults)."""
    environ = environ or {}

    def value(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        assert default is not None, f"${{{name}}} has no default: the file alone must run"
        return environ.get(name) or default

    return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", value, text)


def compose() -> dict[str, Any]:
    """docker-compose.yml as Docker Compose reads it with no variable set."""
    data = yaml.safe_load(interpolate(COMPOSE.read_text()))
    assert isinstance(data, dict)
    return data


def compose_env(service: dict[str, Any]) -> dict[str, str]:
    """The service's variables, paths inside a bind mount of this repository rewritten to the
    repository's files (what the container reads there)."""
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    binds = {
        container: ROOT / host
        for host, container, *_ in (str(v).split(":") for v in service.get("volumes", []))
        if host.startswith("./")
    }
    out = {}
    for key, value in env.items():
        value = str(value)
        for container, host in binds.items():
            if value == container or value.startswith(container + "/"):
                value = str(host) + value[len(container) :]
        out[str(key)] = value
    return out


def published(service: dict[str, Any]) -> Iterator[tuple[int, int, str]]:
    """(host port, container port, protocol) of each short-syntax port."""
    for entry in service.get("ports", []):
        spec, _, proto = str(entry).partition("/")
        parts = spec.split(":")
        yield int(parts[-2]), int(parts[-1]), proto or "tcp"


def test_compose_file_matches_the_compose_spec() -> None:
    run_tool(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE))


def test_compose_daemons_hardened_and_ports_and_health_match_the_daemons() -> None:
    services = compose()["services"]
    assert {"syslog", "ntp", "config", "upstream-ntp", "router", "router-tcp"} <= set(services)
    images = set()
    for name in ("syslog", "ntp", "config", "router", "router-tcp"):
        service = services[name]
        images.add(service["image"])
        assert service.get("read_only") is True, f"{name}: read_only"
        assert service.get("cap_drop") == ["ALL"], f"{name}: cap_drop ALL"
        assert "no-new-privileges:true" in service.get("security_opt", []), name
    assert len(images) == 1, "one image for all three daemons and the simulator"
    assert services["upstream-ntp"].get("read_only") is True
    assert services["upstream-ntp"].get("cap_drop") == ["ALL"]

    facing: dict[str, set[tuple[int, str]]] = {}
    for name in ("syslog", "ntp", "config"):
        service = services[name]
        command, *argv = service["command"]
        assert command == name
        s = load(command, argv, compose_env(service))
        listening = served(command, s)
        for host, container, proto in published(service):
            assert (container, proto) in listening, f"{name}: {container}/{proto} is not served"
            facing.setdefault(name, set()).add((host, proto))
        test = service["healthcheck"]["test"]
        assert test[:3] == ["CMD", "edge-bridge", "healthcheck"], test
        assert url_port(test[3]) == health_port(command, s), f"{name}: health check port"
    # published as a router uses them; HTTP uploads stay on 8080 locally
    assert facing["syslog"] >= ROUTER_PORTS["syslog"]
    assert facing["ntp"] >= ROUTER_PORTS["ntp"]
    assert (8080, "tcp") in facing["config"]


def test_compose_router_targets_the_daemons_and_ntp_its_upstream() -> None:
    services = compose()["services"]
    router = services["router"]
    command, *argv = router["command"]
    sim = load(command, argv, compose_env(router))
    syslog = load("syslog", [], compose_env(services["syslog"]))
    ntp = load("ntp", [], compose_env(services["ntp"]))
    config = load("config", [], compose_env(services["config"]))
    assert sim.syslog == HostPort("syslog", syslog.udp.port)
    assert sim.ntp == HostPort("ntp", ntp.listen.port)
    assert sim.config_url.startswith(f"http://config:{config.listen.port}/upload/")
    assert set(router["depends_on"]) == {"syslog", "ntp", "config"}
    # uploads authenticate with the credentials the `credentials` service generates into the
    # store's volume, which the router mounts read-only and the config daemon checks against
    generated = "/var/lib/edge-bridge/credentials"
    assert sim.config_credentials == f"{generated}/uploader.password", "uploads authenticate"
    assert config.basic_auth_file == f"{generated}/uploaders"
    assert config.reader_auth_file == f"{generated}/readers"
    assert services["credentials"]["command"] == ["credentials", "generate", generated]
    # the second router: syslog over TCP only, to the receiver's TCP port
    tcp_router = services["router-tcp"]
    tcp = load(tcp_router["command"][0], tcp_router["command"][1:], compose_env(tcp_router))
    assert tcp.transport == "tcp" and tcp.syslog == HostPort("syslog", syslog.tcp.port)
    assert tcp.name != sim.name

    chrony_port = re.search(r"^port (\d+)$", (CHRONY / "chrony.conf").read_text(), re.M)
    assert chrony_port
    assert ntp.upstream == (HostPort("upstream-ntp", int(chrony_port.group(1))),)
    expose = first(dockerfile(CHRONY / "Dockerfile")[0], "EXPOSE").args
    assert expose == f"{chrony_port.group(1)}/udp"


def test_compose_desired_config_is_the_simulated_routers_first_revision() -> None:
    """Uploads in sync at first, then drifting as the simulated operator changes things."""
    services = compose()["services"]
    config = services["config"]
    source = Path(load("config", [], compose_env(config)).desired)
    router = services["router"]
    sim = load("simulate-router", router["command"][1:], {})
    (found,) = [p for p in source.iterdir() if p.stem == sim.name]
    expected = router_config(sim.name, 0, 0.0, str(sim.syslog), str(sim.ntp))

    def stable(text: str) -> list[str]:
        return [line for line in text.splitlines() if "Last configuration change" not in line]

    assert stable(found.read_text()) == stable(expected)
    assert stable(router_config(sim.name, 1, 0.0, str(sim.syslog), str(sim.ntp))) != stable(
        expected
    )


def test_compose_judges_the_simulated_router_by_the_shipped_pci_rules() -> None:
    """The desired config meets every PCI feature; the simulated operator's changes then
    drift in exactly one feature, the rotated SNMP community."""
    services = compose()["services"]
    config = load("config", [], compose_env(services["config"]))
    assert config.compliance is not None
    assert Path(config.compliance.source) == ROOT / "deploy" / "compliance" / "pci.yaml"
    sim = load("simulate-router", services["router"]["command"][1:], {})
    judge = Judge(config.compliance, redact_for)
    desired = normalise((Path(config.desired) / f"{sim.name}.cfg").read_text(), "cisco-ios")
    verdicts = []
    for revision in range(4):
        upload = router_config(sim.name, revision, 0.0, str(sim.syslog), str(sim.ntp))
        result = judge.check("cisco-ios", desired, normalise(upload, "cisco-ios"))
        verdicts.append((result.percent, [v.feature.name for v in result.failing()]))
    assert verdicts[0] == (100.0, [])
    assert verdicts[2] == (87.5, ["snmp"])
