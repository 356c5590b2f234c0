"""deploy/edge-bridge.yaml as plain data, with the language extensions expanded.

Shared by the template's offline checks (test_deploy_template.py) and the tests that compare
the metric filters with the lines the daemons really write.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Iterator
from typing import Any

from tests.artefacts import ROOT

TEMPLATE = ROOT / "deploy" / "edge-bridge.yaml"

SAMPLE = {
    "RouterCidrs": ["10.10.0.0/24", "10.20.0.0/24"],
    "RouterPrefixListId": "pl-0123456789abcdef0",
    "AWS::Region": "eu-west-1",
    "AWS::StackName": "edge",
    "ConfigBucket": "edge-configbucket-1",
    "NtpTimeSource": "169.254.169.123:123,ecs-metadata",
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
