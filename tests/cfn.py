"""deploy/edge-bridge.yaml as plain data, with the language extensions expanded, and as given
parameter values deploy it (conditions, Fn::If and rules evaluated: :func:`deployed`).

Shared by the template's offline checks (tests/test_deploy_template.py, _secrets.py,
_audit_trail.py) and the tests that compare the metric filters with the lines the daemons
really write.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Iterator
from typing import Any

from tests.artefacts import ROOT, load

TEMPLATE = ROOT / "deploy" / "edge-bridge.yaml"

SAMPLE = {
    "RouterCidrs": ["10.10.0.0/24", "10.20.0.0/24"],
    "RouterPrefixListId": "pl-0123456789abcdef0",
    "AWS::Region": "eu-west-1",
    "AWS::StackName": "edge",
    "ConfigBucket": "edge-configbucket-1",
    "NtpTimeSource": "169.254.169.123:123,ecs-metadata",
    "NtpRequireAuth": "false",
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
    """Put one item of a loop into its fragment; ``Ref: !Sub`` becomes a plain Ref."""
    if isinstance(node, dict):
        out = {k: _replace(v, name, value) for k, v in node.items()}
        if list(out) == ["Ref"] and isinstance(out["Ref"], dict) and "Fn::Sub" in out["Ref"]:
            return {"Ref": out["Ref"]["Fn::Sub"]}
        return out
    if isinstance(node, list):
        return [_replace(v, name, value) for v in node]
    if isinstance(node, str):
        return node.replace("${" + name + "}", value)
    return node


def logical_id(key: str, name: str, item: str) -> str:
    """AWS::LanguageExtensions' rule: &{X} drops the item's non-alphanumerics, ${X} keeps them."""
    return key.replace("&{" + name + "}", re.sub(r"[^A-Za-z0-9]", "", item)).replace(
        "${" + name + "}", item
    )


def for_each_loops(t: dict[str, Any]) -> Iterator[tuple[str, str, Any, dict[str, Any]]]:
    """(loop name, identifier, collection, fragment) of each Fn::ForEach in Resources."""
    for key, value in t["Resources"].items():
        if key.startswith("Fn::ForEach::"):
            name, collection, body = value
            yield key, name, collection, body


def expand_for_each(resources: dict[str, Any]) -> dict[str, Any]:
    """Fn::ForEach over its (literal) collection, as the transform does."""
    out: dict[str, Any] = {}
    for key, value in resources.items():
        if not key.startswith("Fn::ForEach::"):
            out[key] = value
            continue
        name, collection, body = value
        for item in resolve(collection):
            for template_key, resource in body.items():
                logical = logical_id(template_key, name, item)
                assert logical not in out, f"{key}: {logical} made twice"
                out[logical] = _replace(copy.deepcopy(resource), name, item)
    return out


def raw_template() -> dict[str, Any]:
    """The template as plain data (cfn-lint's loader knows the !Ref/!Sub tags)."""
    from cfnlint.decode import cfn_yaml

    data: dict[str, Any] = json.loads(json.dumps(cfn_yaml.load(str(TEMPLATE))))
    return data


def template() -> dict[str, Any]:
    data = raw_template()
    data["Resources"] = expand_for_each(data["Resources"])
    return data


def of_type(t: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in t["Resources"].items() if v["Type"] == kind}


def containers(t: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(task definition id, its properties, its one container)."""
    for logical, task in of_type(t, "AWS::ECS::TaskDefinition").items():
        (container,) = task["Properties"]["ContainerDefinitions"]
        yield logical, task["Properties"], container


# What each secret holds, in its shape; the values come at run time.
SECRET_SHAPES = {
    "EDGE_BRIDGE_BASIC_AUTH": '{"username": "uploader", "password": "secret"}',
    "EDGE_BRIDGE_READER_AUTH": '{"username": "auditor", "password": "secret"}',
    "EDGE_BRIDGE_KEYS_TEXT": "# chronyc keygen 1 SHA1 160\n1 SHA1 HEX:1DC764E0791B11FA67EF\n",
}


def secrets_of(container: dict[str, Any], conditions: bool = True) -> list[dict[str, Any]]:
    """The container's Secrets when every condition is ``conditions``."""
    secrets = container.get("Secrets", [])
    if isinstance(secrets, dict):  # !If [condition, [secrets], AWS::NoValue]
        _, when_true, when_false = secrets["Fn::If"]
        secrets = when_true if conditions else []
        assert when_false == {"Ref": "AWS::NoValue"}
    assert isinstance(secrets, list)
    return secrets


def container_settings(
    container: dict[str, Any], values: dict[str, Any] = SAMPLE, conditions: bool = True
) -> tuple[str, Any]:
    """The daemon and the settings it reads from the container's command, environment (Refs
    taking ``values``) and secrets, through the daemon's own parser."""
    command, *argv = container["Command"]
    env = {e["Name"]: str(resolve(e["Value"], values)) for e in container.get("Environment", [])}
    for secret in secrets_of(container, conditions):
        env[secret["Name"]] = SECRET_SHAPES[secret["Name"]]
    return command, load(command, argv, env)


def ref(value: Any) -> str:
    assert isinstance(value, dict) and "Ref" in value, f"expected a Ref, got {value!r}"
    return str(value["Ref"])


def attributes(resource: dict[str, Any], key: str) -> dict[str, Any]:
    """A load balancer's or target group's attributes as a dict."""
    return {a["Key"]: a["Value"] for a in resource["Properties"].get(key, [])}


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


# -- the template under given parameter values: conditions, Fn::If and rules evaluated --------

# Sample values for what CloudFormation makes: the secrets the stack creates, by logical ID.
MADE = {
    "UploadCredentials": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:Upload-AbCdEf",
    "ReaderCredentials": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:Reader-GhIjKl",
}


def parameter_values(t: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """Every parameter's value: the given one, else its default; lists split as CloudFormation
    splits them."""
    values: dict[str, Any] = {}
    for name, parameter in t["Parameters"].items():
        value = given.get(name, parameter.get("Default"))
        if parameter["Type"].startswith("List<") or parameter["Type"] == "CommaDelimitedList":
            value = value.split(",") if isinstance(value, str) else value
        values[name] = value
    return values


def evaluate(node: Any, values: dict[str, Any], conditions: dict[str, bool]) -> Any:
    """The value of a condition's or a rule's expression (Ref, Fn::Equals, Fn::Not, Fn::And,
    Fn::Or, Fn::Join, Condition) under these parameter values."""
    if not (isinstance(node, dict) and len(node) == 1):
        return node
    ((fn, arg),) = node.items()
    if fn == "Ref":
        assert arg in values, f"no value for {arg}"
        return values[arg]
    if fn == "Condition":
        return conditions[arg]
    if fn == "Fn::Equals":
        left, right = (evaluate(a, values, conditions) for a in arg)
        return str(left) == str(right)
    if fn == "Fn::Not":
        (inner,) = arg
        return not evaluate(inner, values, conditions)
    if fn == "Fn::And":
        return all(evaluate(a, values, conditions) for a in arg)
    if fn == "Fn::Or":
        return any(evaluate(a, values, conditions) for a in arg)
    if fn == "Fn::Join":
        return arg[0].join(str(i) for i in evaluate(arg[1], values, conditions))
    raise AssertionError(f"{fn}: not evaluated here")


def conditions_of(t: dict[str, Any], values: dict[str, Any]) -> dict[str, bool]:
    """Each condition's truth, in order (a condition may name an earlier one)."""
    truth: dict[str, bool] = {}
    for name, expression in t["Conditions"].items():
        truth[name] = bool(evaluate(expression, values, truth))
    return truth


def refused_by_rules(t: dict[str, Any], given: dict[str, Any]) -> list[str]:
    """The AssertDescription of every rule assertion that fails for these parameters: a
    non-empty list is what CloudFormation refuses before it creates anything."""
    values = parameter_values(t, given)
    refused = []
    for rule in t.get("Rules", {}).values():
        if "RuleCondition" in rule and not evaluate(rule["RuleCondition"], values, {}):
            continue
        for assertion in rule["Assertions"]:
            if not evaluate(assertion["Assert"], values, {}):
                refused.append(assertion["AssertDescription"])
    return refused


NO_VALUE = {"Ref": "AWS::NoValue"}


def _choose(node: Any, truth: dict[str, bool]) -> Any:
    if isinstance(node, dict):
        if list(node) == ["Fn::If"]:
            condition, when_true, when_false = node["Fn::If"]
            return _choose(when_true if truth[condition] else when_false, truth)
        out = {k: _choose(v, truth) for k, v in node.items()}
        return {k: v for k, v in out.items() if v != NO_VALUE}
    if isinstance(node, list):
        return [item for item in (_choose(v, truth) for v in node) if item != NO_VALUE]
    return node


def deployed(given: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The template as these parameters deploy it (every Fn::If chosen, AWS::NoValue gone,
    resources whose condition is false left out), and the values its Refs take."""
    t = template()
    values = {**SAMPLE, **parameter_values(t, {**SAMPLE, **given}), **MADE}
    truth = conditions_of(t, values)
    t["Resources"] = {
        k: r for k, r in t["Resources"].items() if truth.get(r.get("Condition", ""), True)
    }
    return _choose(t, truth), values
