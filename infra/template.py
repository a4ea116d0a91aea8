"""Read template.yaml: the one description of the system, used by the local stack and the tests.

Parses CloudFormation short-form tags, lists the resources by type, resolves the intrinsic
functions the template uses (Ref, GetAtt, Sub) against the physical ids the local stack created,
and lists every API route declared on a function.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    pass


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


@lru_cache(maxsize=4)
def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_CfnLoader)


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


@dataclass(frozen=True)
class ApiRoute:
    function_id: str
    event_name: str
    method: str
    path: str
    authorized: bool  # False where the event says Auth: Authorizer: NONE


def api_routes(template: dict[str, Any] | None = None) -> list[ApiRoute]:
    template = template or load_template()
    routes = []
    for function_id, function in resources_of_type(template, "AWS::Serverless::Function").items():
        for event_name, event in (function["Properties"].get("Events") or {}).items():
            if event["Type"] != "Api":
                continue
            props = event["Properties"]
            auth = (props.get("Auth") or {}).get("Authorizer")
            routes.append(ApiRoute(function_id, event_name, props["Method"].upper(), props["Path"], auth != "NONE"))
    return routes


def path_pattern(resource_path: str) -> re.Pattern[str]:
    """`/v1/customers/{customer_id}` → a regex capturing `customer_id`."""
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", resource_path)
    return re.compile(f"^{pattern}$")


@dataclass
class Resolver:
    """Resolves Ref / GetAtt / Sub against the physical ids the local stack created."""

    parameters: dict[str, str]
    physical: dict[str, dict[str, str]]  # logical id → {"Ref": ..., "Arn": ..., ...}
    region: str = "us-east-1"
    account_id: str = "123456789012"
    stack_name: str = "keepwell-local"
    conditions: dict[str, bool] = field(default_factory=dict)  # template Conditions, evaluated (below)

    def pseudo(self, name: str) -> str | None:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::Partition": "aws",
        }.get(name)

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return None
        if name in self.parameters:
            return self.parameters[name]
        pseudo = self.pseudo(name)
        if pseudo is not None:
            return pseudo
        return self.physical[name]["Ref"]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg
                return self.physical[logical_id][attribute]
            if key == "Fn::Sub":
                return re.sub(r"\$\{([\w:.]+)\}", lambda m: self._sub_name(m.group(1)), arg)
            if key == "Fn::If":
                name, when_true, when_false = arg
                return self.resolve(when_true if self.conditions[name] else when_false)
            if key == "Fn::Join":
                delimiter, parts = arg
                return str(delimiter).join(str(part) for part in self.resolve(parts))
            if key == "Fn::Split":
                delimiter, text = arg
                return str(self.resolve(text)).split(delimiter)
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(index)]
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def _sub_name(self, name: str) -> str:
        if "." in name and not name.startswith("AWS::"):
            logical_id, attribute = name.split(".", 1)
            return self.physical[logical_id][attribute]
        return self.ref(name)


def parameter_defaults(template: dict[str, Any]) -> dict[str, str]:
    return {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}


def function_environment(template: dict[str, Any], function_id: str, resolver: Resolver) -> dict[str, str]:
    """The environment a function gets once deployed: Globals merged with its own variables."""
    merged: dict[str, Any] = {}
    merged.update(template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
    function = template["Resources"][function_id]["Properties"]
    merged.update((function.get("Environment") or {}).get("Variables", {}))
    if template.get("Conditions") and not resolver.conditions:
        resolver.conditions = evaluate_conditions(template, resolver)
    resolved = {name: resolver.resolve(value) for name, value in merged.items()}
    return {name: str(value) for name, value in resolved.items() if value is not None}


def evaluate_conditions(template: dict[str, Any], resolver: Resolver) -> dict[str, bool]:
    """The template's Conditions (Equals, Not, And, Or, Condition) for the resolver's parameters."""
    specs: dict[str, Any] = template.get("Conditions") or {}
    known: dict[str, bool] = {}

    def evaluate(value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key in ("Condition", "Fn::Condition"):
                return condition(str(arg))
            if key == "Fn::Equals":
                left, right = (evaluate(a) for a in arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not evaluate(arg[0])
            if key == "Fn::And":
                return all(evaluate(a) for a in arg)
            if key == "Fn::Or":
                return any(evaluate(a) for a in arg)
        return resolver.resolve(value)

    def condition(name: str) -> bool:
        if name not in known:
            known[name] = bool(evaluate(specs[name]))
        return known[name]

    for name in specs:
        condition(name)
    return known


def resource_enabled(resource: dict[str, Any], conditions: dict[str, bool]) -> bool:
    """False for a resource whose `Condition` is false (CloudFormation does not create it)."""
    name = resource.get("Condition")
    return name is None or conditions.get(str(name), False)
