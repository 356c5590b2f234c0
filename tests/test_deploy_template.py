"""deploy/edge-bridge.yaml checked offline: what cfn-lint knows, and the rules it does not.

cfn-lint checks each resource's form. These tests hold the rules a first deploy broke on, each
named for the failure it prevents: a container port mapped twice in a load-balanced service
(ECS refuses the service), logical IDs made from deploy-time input (they collide), deletion
protection forced on at create (a failed create cannot roll back), a retained resource with a
fixed name (a retry meets it), UDP flows pinned to stopped tasks, the VPC opened to the health
ports. Containers are checked against the daemons' settings (tests/artefacts.py), so a changed
default fails here too. What the stack keeps as evidence is in test_deploy_audit_trail.py, who
reads which secret in test_deploy_secrets.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from tests.artefacts import (
    DAEMONS,
    dockerfile,
    first,
    health_port,
    run_tool,
    served,
    tool,
    url_port,
)
from tests.cfn import (
    TEMPLATE,
    attributes,
    container_settings,
    containers,
    for_each_loops,
    logical_id,
    of_type,
    raw_template,
    ref,
    resolve,
    template,
)

# Where routers send on the NLB. TCP syslog is on 601, not 514: see the template's comment on
# the syslog target groups (an NLB takes UDP and TCP on one port only as TCP_UDP, which ECS
# cannot load-balance without mapping one container port twice).
NLB_PORTS = {
    "syslog": {(514, "udp"), (601, "tcp")},
    "ntp": {(123, "udp")},
    "config": {(80, "tcp")},
}
# What tasks in private subnets need without NAT: image pull, logs, secrets; S3 is a gateway.
INTERFACE_ENDPOINTS = {"ecr.api", "ecr.dkr", "logs", "secretsmanager"}
PROTOCOLS = {"TCP_UDP": {"tcp", "udp"}, "UDP": {"udp"}, "TCP": {"tcp"}, "TLS": {"tcp"}}


def test_cfn_lint() -> None:
    run_tool(tool("cfn-lint"), str(TEMPLATE))


def mappings(container: dict[str, Any]) -> set[tuple[int, str]]:
    return {(m["ContainerPort"], m.get("Protocol", "tcp")) for m in container["PortMappings"]}


def services(t: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any], str, Any]]:
    """(service id, its properties, its container, the daemon, the daemon's settings)."""
    tasks = {k: c for k, _, c in containers(t)}
    for logical, service in of_type(t, "AWS::ECS::Service").items():
        p = service["Properties"]
        container = tasks[ref(p["TaskDefinition"])]
        command, s = container_settings(container)
        yield logical, service, container, command, s


# -- blockers of the first deploy ------------------------------------------------------------


def test_no_container_port_is_mapped_twice_in_a_load_balanced_service() -> None:
    """ECS: "Container port 5514 is used in more than one port mapping" (ecs-agent#3428)."""
    t = template()
    for logical, service, container, _, _ in services(t):
        ports = [m["ContainerPort"] for m in container["PortMappings"]]
        assert len(ports) == len(set(ports)), f"{logical}: a container port mapped twice"
        bindings = service["Properties"]["LoadBalancers"]
        assert len(bindings) <= 5, "a service takes at most five target groups"
        assert len({b["ContainerPort"] for b in bindings}) == len(bindings), logical


def test_logical_ids_come_from_literal_lists_and_never_collide() -> None:
    """A loop over a parameter made 10.1.10.0/24 and 10.11.0.0/24 one ID; loops are literal."""
    raw = raw_template()
    plain = {k for k in raw["Resources"] if not k.startswith("Fn::ForEach::")}
    made: list[str] = []
    for key, name, collection, body in for_each_loops(raw):
        assert isinstance(collection, list), f"{key} iterates over {collection}: deploy-time input"
        for item in collection:
            for template_key in body:
                made.append(logical_id(template_key, name, item))
    assert len(made) == len(set(made)), "a loop makes one logical ID twice"
    assert not plain & set(made), f"loops remake {plain & set(made)}"
    for logical in [*plain, *made]:
        assert re.fullmatch(r"[A-Za-z0-9]{1,255}", logical), f"{logical}: not a valid logical ID"


def test_deletion_protection_is_a_parameter_off_for_the_first_create() -> None:
    t = template()
    (lb,) = of_type(t, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    protection = attributes(lb, "LoadBalancerAttributes")["deletion_protection.enabled"]
    parameter = t["Parameters"][ref(protection)]
    assert parameter["Default"] == "false" and set(parameter["AllowedValues"]) == {"true", "false"}


def test_a_failed_create_can_be_retried_under_the_same_stack_name() -> None:
    """What a rollback leaves (retained resources) or what drains slowly has no fixed name."""
    t = template()
    for logical, resource in t["Resources"].items():
        p = resource.get("Properties", {})
        if resource.get("DeletionPolicy") == "Retain":
            named = [k for k in p if k.endswith("Name") and k != "LogGroupClass"]
            assert not named, f"{logical} is retained and named ({named}): it blocks a retry"
    for logical, service in of_type(t, "AWS::ECS::Service").items():
        assert "ServiceName" not in service["Properties"], f"{logical}: draining namesake"


def test_routers_reach_the_nlb_through_the_prefix_list_and_only_the_nlb_reaches_tasks() -> None:
    t = template()
    (lb,) = of_type(t, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    (lb_group,) = [ref(g) for g in lb["Properties"]["SecurityGroups"]]
    listeners = {
        (listener["Properties"]["Port"], proto)
        for listener in of_type(t, "AWS::ElasticLoadBalancingV2::Listener").values()
        for proto in PROTOCOLS[listener["Properties"]["Protocol"]]
    }
    rules = t["Resources"][lb_group]["Properties"]["SecurityGroupIngress"]
    admitted = set()
    for rule in rules:
        if "Fn::If" in rule:  # the TLS listener's rule comes and goes with it
            condition, rule, _ = rule["Fn::If"]
            assert condition == "HasCertificate"
        assert set(rule) & {"CidrIp", "CidrIpv6", "SourceSecurityGroupId"} == set(), rule
        assert ref(rule["SourcePrefixListId"]) == "RouterPrefixListId"
        assert rule["FromPort"] == rule["ToPort"]
        admitted.add((rule["FromPort"], rule["IpProtocol"]))
    assert admitted == listeners, "the NLB admits the routers on exactly its listener ports"

    assert not of_type(t, "AWS::EC2::SecurityGroupIngress"), "rules stay in their groups"
    for logical, service, _, command, s in services(t):
        (group,) = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"][
            "SecurityGroups"
        ]
        opened = set()
        for rule in t["Resources"][ref(group)]["Properties"]["SecurityGroupIngress"]:
            assert ref(rule["SourceSecurityGroupId"]) == lb_group, f"{logical}: {rule}"
            assert set(rule) & {"CidrIp", "CidrIpv6", "SourcePrefixListId"} == set(), rule
            assert rule["FromPort"] == rule["ToPort"]
            opened.add((rule["FromPort"], rule["IpProtocol"]))
        targets = {
            (b["ContainerPort"], proto)
            for b in service["Properties"]["LoadBalancers"]
            for proto in PROTOCOLS[group_of(t, b)["Protocol"]]
        }
        assert opened == targets | {(health_port(command, s), "tcp")}, logical


def group_of(t: dict[str, Any], binding: dict[str, Any]) -> dict[str, Any]:
    return t["Resources"][ref(binding["TargetGroupArn"])]["Properties"]  # type: ignore[no-any-return]


def test_udp_flows_leave_a_stopped_task() -> None:
    """Routers send from fixed ports (514, 123): a UDP flow never idles out by itself."""
    t = template()
    udp = 0
    for logical, group in of_type(t, "AWS::ElasticLoadBalancingV2::TargetGroup").items():
        if "udp" in PROTOCOLS[group["Properties"]["Protocol"]]:
            udp += 1
            attrs = attributes(group, "TargetGroupAttributes")
            assert attrs.get("deregistration_delay.connection_termination.enabled") == "true", (
                logical
            )
    assert udp >= 2, "syslog and NTP are UDP"


def test_private_subnets_get_endpoints_for_what_the_tasks_reach() -> None:
    t = template()
    endpoints = of_type(t, "AWS::EC2::VPCEndpoint")
    interface = {}
    for logical, endpoint in endpoints.items():
        p = endpoint["Properties"]
        service = resolve(p["ServiceName"]).removeprefix("com.amazonaws.eu-west-1.")
        if p["VpcEndpointType"] == "Interface":
            assert p["PrivateDnsEnabled"] is True, "the SDKs and the agent use the usual names"
            assert endpoint["Condition"] == "CreateEndpoints"
            interface[service] = logical
        else:
            assert service == "s3" and p["VpcEndpointType"] == "Gateway"
            assert endpoint["Condition"] == "CreateS3Endpoint"
            assert ref(p["RouteTableIds"]) == "PrivateRouteTableIds"
    assert set(interface) == INTERFACE_ENDPOINTS
    assert t["Parameters"]["CreateVpcEndpoints"]["AllowedValues"] == ["true", "false"]


def test_each_service_scales_on_cpu_from_its_minimum() -> None:
    t = template()
    targets = of_type(t, "AWS::ApplicationAutoScaling::ScalableTarget")
    policies = of_type(t, "AWS::ApplicationAutoScaling::ScalingPolicy")
    scaled = {}
    for logical, target in targets.items():
        p = target["Properties"]
        assert p["ScalableDimension"] == "ecs:service:DesiredCount"
        service = p["ResourceId"]["Fn::Join"][1][2]["Fn::GetAtt"]
        assert service[1] == "Name"
        scaled[resolve(service[0])] = logical
        assert ref(p["MinCapacity"]).endswith("MinTasks")
        (policy,) = [
            q["Properties"]
            for q in policies.values()
            if ref(q["Properties"]["ScalingTargetId"]) == logical
        ]
        metric = policy["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]
        assert metric["PredefinedMetricType"] == "ECSServiceAverageCPUUtilization"
    for logical, service, _, _, _ in services(t):
        assert logical in scaled, f"{logical} does not scale"
        assert "DesiredCount" not in service["Properties"], "a stack update would undo scaling"


def test_outputs_name_what_an_operator_looks_up() -> None:
    t = template()
    outputs = {k: v["Value"] for k, v in t["Outputs"].items()}
    refs = {json.dumps(v) for v in outputs.values()}
    assert json.dumps({"Ref": "LoadBalancer"}) in refs
    assert json.dumps({"Fn::GetAtt": ["LoadBalancer", "DNSName"]}) in refs
    for logical in of_type(t, "AWS::ElasticLoadBalancingV2::TargetGroup"):
        assert json.dumps({"Ref": logical}) in refs, f"no output for {logical}"
    for logical in of_type(t, "AWS::ECS::Service"):
        assert json.dumps({"Fn::GetAtt": [logical, "Name"]}) in refs, f"no output for {logical}"


# -- the tasks, the NLB and the services line up with the daemons --------------------------


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
        assert ref(log["Options"]["awslogs-group"]) == "LogGroup"
        assert log["Options"]["awslogs-stream-prefix"] == command
    assert sorted(commands) == sorted(DAEMONS)


def test_nlb_listeners_target_groups_and_services_line_up() -> None:
    t = template()
    (lb,) = of_type(t, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    assert lb["Properties"]["Type"] == "network" and lb["Properties"]["Scheme"] == "internal"
    groups = of_type(t, "AWS::ElasticLoadBalancingV2::TargetGroup")
    listeners = of_type(t, "AWS::ElasticLoadBalancingV2::Listener")

    covered: dict[str, set[tuple[int, str]]] = {}
    for logical, listener in listeners.items():
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
            (p["Port"], proto) for proto in PROTOCOLS[p["Protocol"]]
        )
    ports = [p for listener in listeners.values() for p in [listener["Properties"]["Port"]]]
    assert len(ports) == len(set(ports)), "an NLB has one listener per port"

    for logical, group in groups.items():
        g = group["Properties"]
        assert g["TargetType"] == "ip", logical
        assert g["HealthCheckProtocol"] in ("HTTP", "HTTPS"), "an NLB cannot health-check UDP"
        assert g["HealthCheckPath"] == "/healthz"
        if g["Protocol"] in ("TCP", "TLS"):
            # ip targets see the NLB's address unless told: routers are named by address
            assert attributes(group, "TargetGroupAttributes")["preserve_client_ip.enabled"] == (
                "true"
            ), logical

    daemons = set()
    bound = set()
    for logical, service, container, command, s in services(t):
        p = service["Properties"]
        assert p["LaunchType"] == "FARGATE"
        assert p["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
        daemons.add(command)
        reached: set[tuple[int, str]] = set()
        for binding in p["LoadBalancers"]:
            assert binding["ContainerName"] == container["Name"]
            group_id = ref(binding["TargetGroupArn"])
            bound.add(group_id)
            waits_for = {
                k
                for k, v in listeners.items()
                if ref(v["Properties"]["DefaultActions"][0]["TargetGroupArn"]) == group_id
                and "Condition" not in v  # DependsOn cannot name what may not exist
            }
            assert waits_for and waits_for <= set(service["DependsOn"]), f"{logical}: listeners"
            g = groups[group_id]["Properties"]
            port = binding["ContainerPort"]
            assert g["Port"] == port
            wanted = {(port, proto) for proto in PROTOCOLS[g["Protocol"]]}
            assert wanted <= mappings(container) and wanted <= served(command, s), logical
            assert int(g["HealthCheckPort"]) == health_port(command, s), f"{logical}: health"
            reached |= covered[group_id]
        assert (health_port(command, s), "tcp") in mappings(container)
        assert reached == NLB_PORTS[command], f"{command}: NLB listener ports"
    assert daemons == set(DAEMONS)
    assert bound == set(groups), "every target group has its service"
