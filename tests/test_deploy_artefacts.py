"""The image, the compose simulation and the CloudFormation template, checked against the code.

Linters check each file's form (hadolint, the compose-spec schema, cfn-lint); these tests check
what no linter knows: that every ``EDGE_BRIDGE_*`` variable is a real option of the daemon it
is given to and parses, that every published or mapped port is one the daemon listens on with
that protocol, that every health check asks the daemon's own health port, and that the AWS
resources keep the promises of docs/deploy.md (read-only, non-root, a year of logs, S3 locked
down, least privilege). Ports and options come from the daemons' settings classes, so changing
a default without the artefacts fails here.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.settings import ENV_PREFIX, HostPort, env_name, load_settings
from bridge.simulate import SimulatorSettings, router_config

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TEMPLATE = ROOT / "deploy" / "edge-bridge.yaml"
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
CHRONY = ROOT / "deploy" / "chrony"

DAEMONS = ("syslog", "ntp", "config")
# Read by `edge-bridge healthcheck`, not by a daemon: the one EDGE_BRIDGE_* that is no option.
NOT_OPTIONS = {"EDGE_BRIDGE_HEALTHCHECK_URL"}
# Where routers send, whatever the daemons listen on: the ports of DESIGN.md's table.
ROUTER_PORTS = {
    "syslog": {(514, "udp"), (514, "tcp")},
    "ntp": {(123, "udp")},
    "config": {(80, "tcp")},
}


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


def test_defaults_are_high_ports() -> None:
    """A non-root process cannot bind below 1024, and Fargate cannot grant the capability."""
    for command in DAEMONS:
        for port, _ in served(command, settings_class(command)()):
            assert port >= 1024, f"edge-bridge {command} listens on {port} by default"


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


def test_hadolint() -> None:
    run_tool(tool("hadolint"), str(DOCKERFILE), str(CHRONY / "Dockerfile"))


def test_image_is_multi_stage_pinned_non_root_and_read_only_ready() -> None:
    builder, final = dockerfile()
    base = first(final, "FROM").args
    assert first(builder, "FROM").args.split()[0] == base, "both stages use one base"
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", base), f"base {base} not pinned"
    assert any("pip wheel" in i.args for i in builder if i.keyword == "RUN")
    install = " ".join(i.args for i in final if i.keyword == "RUN")
    assert "--no-index" in install and ".whl" in install, "final stage installs only the wheels"
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
    needed = {"pyproject.toml", pyproject["project"]["readme"]}
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
        for module in (ROOT / package).rglob("*.py"):
            relative = module.relative_to(ROOT).as_posix()
            assert relative in names, f"{relative} is missing from the wheel"
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert re.search(r"^edge-bridge = bridge\.cli:main$", text, re.M), text


# -- docker-compose.yml ---------------------------------------------------------------------


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def compose_env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


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
    assert {"syslog", "ntp", "config", "upstream-ntp", "router"} <= set(services)
    images = set()
    for name in ("syslog", "ntp", "config", "router"):
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

    chrony_port = re.search(r"^port (\d+)$", (CHRONY / "chrony.conf").read_text(), re.M)
    assert chrony_port
    assert ntp.upstream == (HostPort("upstream-ntp", int(chrony_port.group(1))),)
    expose = first(dockerfile(CHRONY / "Dockerfile")[0], "EXPOSE").args
    assert expose == f"{chrony_port.group(1)}/udp"


def test_compose_desired_config_is_the_simulated_routers_first_revision() -> None:
    """Uploads in sync at first, then drifting as the simulated operator changes things."""
    services = compose()["services"]
    config = services["config"]
    desired = load("config", [], compose_env(config)).desired
    mounts = dict(str(v).split(":")[:2][::-1] for v in config["volumes"])
    source = ROOT / mounts[desired]
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


# -- the CloudFormation template --------------------------------------------------------

SAMPLE = {
    "RouterCidrs": ["10.10.0.0/24", "10.20.0.0/24"],
    "VpcCidr": "10.0.0.0/16",
    "AWS::Region": "eu-west-1",
    "AWS::StackName": "edge",
    "ConfigBucket": "edge-configbucket-1",
}


def _sub(text: str, values: dict[str, Any]) -> str:
    return re.sub(r"\$\{([\w:.]+)\}", lambda m: str(values.get(m.group(1), m.group(0))), text)


def resolve(value: Any, values: dict[str, Any] = SAMPLE) -> Any:
    """Evaluate the intrinsic functions the checks need, with sample parameter values."""
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return values.get(arg, {"Ref": arg})
        if fn == "Fn::Sub":
            return _sub(arg, values) if isinstance(arg, str) else _sub(arg[0], {**values, **arg[1]})
        if fn == "Fn::Join":
            items = resolve(arg[1], values)
            return arg[0].join(str(resolve(i, values)) for i in items)
    return value


def _replace(node: Any, name: str, value: str) -> Any:
    if isinstance(node, dict):
        if node == {"Ref": name}:
            return value
        return {k: _replace(v, name, value) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace(v, name, value) for v in node]
    if isinstance(node, str):
        return node.replace("${" + name + "}", value)
    return node


def expand_for_each(resources: dict[str, Any]) -> dict[str, Any]:
    """AWS::LanguageExtensions' Fn::ForEach, over the sample parameter values."""
    out: dict[str, Any] = {}
    for key, value in resources.items():
        if not key.startswith("Fn::ForEach::"):
            out[key] = value
            continue
        name, collection, body = value
        items = resolve(collection) if isinstance(collection, dict) else collection
        for item in items:
            for template_key, resource in body.items():
                logical = template_key.replace("&{" + name + "}", re.sub(r"\W", "", item))
                out[logical.replace("${" + name + "}", item)] = _replace(
                    copy.deepcopy(resource), name, item
                )
    return out


def template() -> dict[str, Any]:
    """The template as plain data (cfn-lint's loader knows the !Ref/!Sub tags), expanded."""
    from cfnlint.decode import cfn_yaml

    data: dict[str, Any] = json.loads(json.dumps(cfn_yaml.load(str(TEMPLATE))))
    data["Resources"] = expand_for_each(data["Resources"])
    return data


def of_type(t: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in t["Resources"].items() if v["Type"] == kind}


def ref(value: Any) -> str:
    assert isinstance(value, dict) and "Ref" in value, f"expected a Ref, got {value!r}"
    return str(value["Ref"])


def test_cfn_lint() -> None:
    run_tool(tool("cfn-lint"), str(TEMPLATE))


def containers(t: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(task definition id, its properties, its one container)."""
    for logical, task in of_type(t, "AWS::ECS::TaskDefinition").items():
        (container,) = task["Properties"]["ContainerDefinitions"]
        yield logical, task["Properties"], container


def container_settings(container: dict[str, Any]) -> tuple[str, Any]:
    command, *argv = container["Command"]
    env = {e["Name"]: str(resolve(e["Value"])) for e in container.get("Environment", [])}
    for secret in container.get("Secrets", {}).get("Fn::If", [None, []])[1]:
        env[secret["Name"]] = "user:secret"  # the secret's shape; the value comes at run time
    return command, load(command, argv, env)


def mappings(container: dict[str, Any]) -> set[tuple[int, str]]:
    return {(m["ContainerPort"], m.get("Protocol", "tcp")) for m in container["PortMappings"]}


def test_task_definitions_run_the_daemons_hardened() -> None:
    t = template()
    user = first(dockerfile()[-1], "USER").args
    commands = []
    for logical, task, container in containers(t):
        command, s = container_settings(container)
        commands.append(command)
        assert task["RequiresCompatibilities"] == ["FARGATE"] and task["NetworkMode"] == "awsvpc"
        assert ref(container["Image"]) == "ImageUri"
        assert container["ReadonlyRootFilesystem"] is True, logical
        assert container["User"] == user, f"{logical}: the image's non-root user"
        assert container["LinuxParameters"]["Capabilities"]["Drop"] == ["ALL"]
        assert 10 <= container["StopTimeout"] <= 120, "time to drain, within Fargate's limit"
        # every container port has a mapping of the right protocol, and nothing else is mapped
        assert mappings(container) == served(command, s), logical
        check = container["HealthCheck"]["Command"]
        assert check[:3] == ["CMD", "edge-bridge", "healthcheck"], check
        assert url_port(check[3]) == health_port(command, s), f"{logical}: health check port"
        log = container["LogConfiguration"]
        assert log["LogDriver"] == "awslogs"
        options = log["Options"]
        assert ref(options["awslogs-group"]) == "LogGroup"
        assert options["mode"] in ("blocking", "non-blocking")
        assert re.fullmatch(r"\d+[kmg]", options["max-buffer-size"]), options
        assert options["awslogs-stream-prefix"] == command
    assert sorted(commands) == sorted(DAEMONS)


def test_nlb_listeners_target_groups_and_services_line_up() -> None:
    t = template()
    resources = t["Resources"]
    (lb,) = of_type(t, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    assert lb["Properties"]["Type"] == "network" and lb["Properties"]["Scheme"] == "internal"
    groups = of_type(t, "AWS::ElasticLoadBalancingV2::TargetGroup")
    protocols = {"TCP_UDP": {"tcp", "udp"}, "UDP": {"udp"}, "TCP": {"tcp"}, "TLS": {"tcp"}}

    covered: dict[str, set[tuple[int, str]]] = {}
    for logical, listener in of_type(t, "AWS::ElasticLoadBalancingV2::Listener").items():
        p = listener["Properties"]
        (action,) = p["DefaultActions"]
        group = groups[ref(action["TargetGroupArn"])]["Properties"]
        if p["Protocol"] == "TLS":
            assert listener.get("Condition") == "HasCertificate", "TLS is optional"
            assert ref(p["Certificates"][0]["CertificateArn"]) == "CertificateArn"
            assert group["Protocol"] == "TCP", "TLS ends at the NLB"
            continue
        assert p["Protocol"] == group["Protocol"], logical
        covered.setdefault(ref(action["TargetGroupArn"]), set()).update(
            (p["Port"], proto) for proto in protocols[p["Protocol"]]
        )

    for logical, group in groups.items():
        g = group["Properties"]
        assert g["TargetType"] == "ip", logical
        assert g["HealthCheckProtocol"] in ("HTTP", "HTTPS"), "an NLB cannot health-check UDP"
        assert g["HealthCheckPath"] == "/healthz"

    tasks = {k: (p, c) for k, p, c in containers(t)}
    daemons = set()
    for logical, service in of_type(t, "AWS::ECS::Service").items():
        p = service["Properties"]
        assert p["LaunchType"] == "FARGATE"
        assert p["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
        assert ref(p["DesiredCount"]).endswith("DesiredCount")
        _, container = tasks[ref(p["TaskDefinition"])]
        command, s = container_settings(container)
        daemons.add(command)
        (binding,) = p["LoadBalancers"]
        assert binding["ContainerName"] == container["Name"]
        group_id = ref(binding["TargetGroupArn"])
        assert service["DependsOn"] in {
            k
            for k, v in of_type(t, "AWS::ElasticLoadBalancingV2::Listener").items()
            if ref(v["Properties"]["DefaultActions"][0]["TargetGroupArn"]) == group_id
        }, f"{logical} must wait for its listener"
        g = groups[group_id]["Properties"]
        port = binding["ContainerPort"]
        assert g["Port"] == port
        wanted = {(port, proto) for proto in protocols[g["Protocol"]]}
        assert wanted <= mappings(container) and wanted <= served(command, s), logical
        assert int(g["HealthCheckPort"]) == health_port(command, s), f"{logical}: health port"
        assert (health_port(command, s), "tcp") in mappings(container)
        assert covered[group_id] == ROUTER_PORTS[command], f"{command}: NLB listener ports"
    assert daemons == set(DAEMONS)
    assert resources["ConfigTargetGroup"]["Properties"]["TargetGroupAttributes"]


def ingress(t: dict[str, Any], group: str) -> list[tuple[str, int, int, str]]:
    """(protocol, from, to, source CIDR) of a security group, inline and separate rules."""
    rules = list(t["Resources"][group]["Properties"].get("SecurityGroupIngress", []))
    rules += [
        r["Properties"]
        for r in of_type(t, "AWS::EC2::SecurityGroupIngress").values()
        if ref(r["Properties"]["GroupId"]) == group
    ]
    return [(r["IpProtocol"], r["FromPort"], r["ToPort"], str(resolve(r["CidrIp"]))) for r in rules]


def test_security_groups_admit_routers_on_service_ports_and_the_vpc_on_health_ports() -> None:
    t = template()
    tasks = {k: c for k, _, c in containers(t)}
    for logical, service in of_type(t, "AWS::ECS::Service").items():
        p = service["Properties"]
        command, s = container_settings(tasks[ref(p["TaskDefinition"])])
        (group,) = p["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
        rules = ingress(t, ref(group))
        for proto, low, high, cidr in rules:
            assert cidr != "0.0.0.0/0", f"{logical}: open to the world"
            assert low == high and (low, proto) in served(command, s), f"{logical}: {low}/{proto}"
            if cidr == SAMPLE["VpcCidr"]:
                assert low == health_port(command, s), f"{logical}: VPC only on the health port"
            else:
                assert cidr in SAMPLE["RouterCidrs"], cidr
        for port, proto in traffic(command, s):
            for cidr in SAMPLE["RouterCidrs"]:
                assert (proto, port, port, cidr) in rules, f"{logical}: {port}/{proto} {cidr}"
        assert ("tcp", health_port(command, s), health_port(command, s), SAMPLE["VpcCidr"]) in rules


def test_logs_kept_a_year_and_watched() -> None:
    t = template()
    (group,) = of_type(t, "AWS::Logs::LogGroup").values()
    assert group["DeletionPolicy"] == "Retain"
    retention = t["Parameters"][ref(group["Properties"]["RetentionInDays"])]
    assert min(retention["AllowedValues"]) >= 365 and retention["Default"] >= 365
    filters = metric_filters(t)
    alarms = of_type(t, "AWS::CloudWatch::Alarm")
    watched = {a["Properties"].get("MetricName") for a in alarms.values()}
    for f in filters:
        assert f.metric in watched, f"no alarm on {f.metric}"
    events = {f.event for f in filters}
    assert {"config.drift", "metrics"} <= events
    fields = {(f.service, field) for f in filters for field in f.fields}
    assert ("syslog", "kernel_drops") in fields and ("ntp", "synchronised") in fields
    for alarm in alarms.values():
        assert ref(alarm["Properties"]["AlarmActions"][0]) == "AlarmTopicArn"


@dataclasses.dataclass
class MetricFilter:
    metric: str
    event: str
    service: str | None
    fields: set[str]


def metric_filters(t: dict[str, Any] | None = None) -> list[MetricFilter]:
    """What each metric filter matches on: the event name, the service, the fields it reads."""
    t = t or template()
    found = []
    for f in of_type(t, "AWS::Logs::MetricFilter").values():
        p = f["Properties"]
        pattern = p["FilterPattern"]
        event = re.search(r'\$\.event\s*=\s*"([^"]+)"', pattern)
        service = re.search(r'\$\.service\s*=\s*"([^"]+)"', pattern)
        assert event, f"{pattern}: match on the event name"
        (transform,) = p["MetricTransformations"]
        fields = set(re.findall(r"\$\.(\w+)", pattern)) - {"event", "service"}
        value = str(transform["MetricValue"])
        if value.startswith("$."):
            fields.add(value[2:])
        found.append(
            MetricFilter(
                transform["MetricName"], event.group(1), service and service.group(1), fields
            )
        )
    return found


def test_config_store_bucket_locked_down_and_only_the_config_task_may_use_it() -> None:
    t = template()
    bucket = t["Resources"]["ConfigBucket"]["Properties"]
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    (policy,) = of_type(t, "AWS::S3::BucketPolicy").values()
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"]["Bool"]["aws:SecureTransport"] == "false"
    assert len(deny["Resource"]) == 2, "the bucket and its objects"

    tasks = {k: (p, c) for k, p, c in containers(t)}
    for logical, (task, container) in tasks.items():
        command, s = container_settings(container)
        if command != "config":
            assert "TaskRoleArn" not in task, f"{logical}: needs no AWS credentials"
            continue
        role = t["Resources"][task["TaskRoleArn"]["Fn::GetAtt"][0]]["Properties"]
        statements = [st for p in role["Policies"] for st in p["PolicyDocument"]["Statement"]]
        prefixes = {url.split("/", 3)[3] for url in (s.store, s.desired) if url.startswith("s3://")}
        assert prefixes == {"configs", "desired"}
        bucket_arn = f"arn:aws:s3:::{SAMPLE['ConfigBucket']}"
        for st in statements:
            assert st["Effect"] == "Allow"
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            for action in actions:
                assert action.startswith("s3:") and "*" not in action, action
                assert "Delete" not in action, "versions are never deleted by the uploader"
            resource = resolve(st["Resource"], {**SAMPLE, "ConfigBucket.Arn": bucket_arn})
            if resource == {"Fn::GetAtt": ["ConfigBucket", "Arn"]}:
                assert actions == ["s3:ListBucket"]
                allowed = st["Condition"]["StringLikeIfExists"]["s3:prefix"]
                assert {a.split("/")[0] for a in allowed} == prefixes
            else:
                prefix = resource.removeprefix(bucket_arn + "/").split("/")[0]
                assert resource == f"{bucket_arn}/{prefix}/*" and prefix in prefixes
                if prefix == "desired":
                    assert actions == ["s3:GetObject"], "desired configs are read-only"
