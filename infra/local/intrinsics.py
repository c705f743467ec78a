"""Evaluate CloudFormation intrinsic functions for the local stack.

The local tools need concrete values (table names, queue URLs, ARNs, parameter values) where
the template has ``Ref``/``Fn::GetAtt``/``Fn::Sub``/... . This module evaluates them against
the local stack's parameters and the local physical ids of resources, the way CloudFormation
would for a deployed stack, without knowing anything about particular resource types (that is
``template.py``'s and ``provision.py``'s business).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from settings import ACCOUNT_ID, REGION, STACK_NAME


class Unresolvable(ValueError):
    """A value cannot be computed locally (unknown parameter or resource, unsupported function)."""


class _NoValue:
    """``AWS::NoValue``: the surrounding property or list item disappears."""

    _instance: "_NoValue | None" = None

    def __new__(cls) -> "_NoValue":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_VALUE"


NO_VALUE = _NoValue()


@dataclass
class Physical:
    """What a resource resolves to locally: ``Ref`` value and ``Fn::GetAtt`` attributes."""

    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


def pseudo_parameters() -> dict[str, Any]:
    """Values of the ``AWS::*`` pseudo parameters for the local stack."""
    return {
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::StackName": STACK_NAME,
        "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{STACK_NAME}/local",
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::NotificationARNs": [],
        "AWS::NoValue": NO_VALUE,
    }


def resolve_parameters(template: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    """Parameter values: override, else ``Default``; list types become lists.

    A parameter with neither is left out, so that only templates that *use* it fail
    (with ``Unresolvable`` naming it).
    """
    values: dict[str, Any] = {}
    for name, spec in (template.get("Parameters") or {}).items():
        spec = spec or {}
        if name in overrides:
            raw: Any = overrides[name]
        elif "Default" in spec:
            raw = spec["Default"]
        else:
            continue
        kind = str(spec.get("Type", "String"))
        if kind == "CommaDelimitedList" or kind.startswith("List<"):
            if isinstance(raw, list):
                values[name] = [str(item) for item in raw]
            else:
                text = str(raw)
                values[name] = [item.strip() for item in text.split(",")] if text else []
        else:
            values[name] = _scalar_text(raw)
    return values


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_SUB_PATTERN = re.compile(r"\$\{([^}]*)\}")


class Resolver:
    """Evaluates intrinsic functions against parameters, conditions and physical ids."""

    def __init__(
        self,
        template: Mapping[str, Any],
        parameters: Mapping[str, Any],
        physical: Mapping[str, Physical],
    ) -> None:
        self._template = template
        self._parameters = dict(parameters)
        self._physical = physical
        self._pseudo = pseudo_parameters()
        self._conditions: dict[str, bool] = {}
        self._evaluating: set[str] = set()

    # ----- conditions -------------------------------------------------------------------
    def condition(self, name: str) -> bool:
        """Value of the named condition in the template's ``Conditions`` section."""
        if name in self._conditions:
            return self._conditions[name]
        definitions = self._template.get("Conditions") or {}
        if name not in definitions:
            raise Unresolvable(f"unknown condition {name!r}")
        if name in self._evaluating:
            raise Unresolvable(f"condition {name!r} refers to itself")
        self._evaluating.add(name)
        try:
            value = self._truth(self.resolve(definitions[name]))
        finally:
            self._evaluating.discard(name)
        self._conditions[name] = value
        return value

    @staticmethod
    def _truth(value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return value.lower() == "true"
        raise Unresolvable(f"condition did not evaluate to a boolean: {value!r}")

    def resource_enabled(self, resource: Mapping[str, Any]) -> bool:
        """False when the resource's ``Condition`` is false (CloudFormation skips it)."""
        name = resource.get("Condition")
        return True if name is None else self.condition(str(name))

    # ----- values -------------------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        """Evaluate every intrinsic in ``value``; ``AWS::NoValue`` items are removed."""
        if isinstance(value, dict):
            if len(value) == 1:
                (key, arg), = value.items()
                if key == "Ref" or key == "Condition" or key.startswith("Fn::"):
                    return self._intrinsic(key, arg)
            out: dict[str, Any] = {}
            for key, item in value.items():
                resolved = self.resolve(item)
                if resolved is not NO_VALUE:
                    out[key] = resolved
            return out
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        return value

    def resolve_str(self, value: Any) -> str:
        """Evaluate and render as the string a Lambda environment variable would hold."""
        resolved = self.resolve(value)
        if isinstance(resolved, (dict, list)):
            raise Unresolvable(f"expected a scalar, got {resolved!r}")
        if resolved is NO_VALUE or resolved is None:
            return ""
        return _scalar_text(resolved)

    def ref(self, name: str) -> Any:
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._parameters:
            return self._parameters[name]
        if name in self._physical:
            return self._physical[name].ref
        if name in (self._template.get("Parameters") or {}):
            raise Unresolvable(f"parameter {name!r} has no default and no local override")
        raise Unresolvable(f"Ref to unknown or unsupported resource {name!r}")

    def get_att(self, logical_id: str, attribute: str) -> str:
        physical = self._physical.get(logical_id)
        if physical is None:
            raise Unresolvable(f"GetAtt of unknown or unsupported resource {logical_id!r}")
        if attribute not in physical.attributes:
            raise Unresolvable(f"attribute {logical_id}.{attribute} is not available locally")
        return physical.attributes[attribute]

    def _intrinsic(self, key: str, arg: Any) -> Any:
        handler = _HANDLERS.get(key)
        if handler is None:
            raise Unresolvable(f"{key} is not supported locally")
        return handler(self, arg)

    # ----- individual functions ---------------------------------------------------------
    def _fn_ref(self, arg: Any) -> Any:
        return self.ref(str(self.resolve(arg)))

    def _fn_condition(self, arg: Any) -> bool:
        return self.condition(str(arg))

    def _fn_get_att(self, arg: Any) -> str:
        if isinstance(arg, str):
            logical_id, _, attribute = arg.partition(".")
        else:
            logical_id, attribute = (str(self.resolve(part)) for part in arg)
        return self.get_att(logical_id, attribute)

    def _fn_sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], {k: self.resolve(v) for k, v in (arg[1] or {}).items()}
        else:
            text, variables = arg, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            name = name.strip()
            if name in variables:
                return _scalar_text(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, _, attribute = name.partition(".")
                return self.get_att(logical_id, attribute)
            value = self.ref(name)
            if isinstance(value, list):
                raise Unresolvable(f"Fn::Sub cannot insert the list {name!r}")
            return _scalar_text(value)

        return _SUB_PATTERN.sub(replace, str(text))

    def _fn_join(self, arg: Any) -> str:
        delimiter, items = arg
        values = self.resolve(items)
        if not isinstance(values, list):
            raise Unresolvable("Fn::Join needs a list")
        return str(delimiter).join(_scalar_text(v) for v in values)

    def _fn_select(self, arg: Any) -> Any:
        index, items = self.resolve(arg[0]), self.resolve(arg[1])
        try:
            return items[int(index)]
        except (IndexError, ValueError, TypeError) as exc:
            raise Unresolvable(f"Fn::Select index {index!r} out of range") from exc

    def _fn_split(self, arg: Any) -> list[str]:
        delimiter, text = arg[0], self.resolve(arg[1])
        return str(text).split(str(delimiter))

    def _fn_if(self, arg: Any) -> Any:
        name, when_true, when_false = arg
        return self.resolve(when_true if self.condition(str(name)) else when_false)

    def _fn_equals(self, arg: Any) -> bool:
        left, right = (self.resolve(v) for v in arg)
        return _scalar_text(left) == _scalar_text(right)

    def _fn_not(self, arg: Any) -> bool:
        (inner,) = arg
        return not self._truth(self.resolve(inner))

    def _fn_and(self, arg: Any) -> bool:
        return all(self._truth(self.resolve(v)) for v in arg)

    def _fn_or(self, arg: Any) -> bool:
        return any(self._truth(self.resolve(v)) for v in arg)

    def _fn_find_in_map(self, arg: Any) -> Any:
        map_name, top, second = (self.resolve(v) for v in arg[:3])
        mappings = self._template.get("Mappings") or {}
        try:
            return self.resolve(mappings[map_name][top][second])
        except (KeyError, TypeError):
            if len(arg) > 3 and isinstance(arg[3], dict) and "DefaultValue" in arg[3]:
                return self.resolve(arg[3]["DefaultValue"])
            raise Unresolvable(f"Fn::FindInMap: no {map_name}/{top}/{second}") from None

    def _fn_base64(self, arg: Any) -> str:
        return base64.b64encode(str(self.resolve(arg)).encode()).decode()

    def _fn_get_azs(self, arg: Any) -> list[str]:
        region = self.resolve(arg) or REGION
        return [f"{region}{zone}" for zone in "abc"]

    def _fn_to_json_string(self, arg: Any) -> str:
        return json.dumps(self.resolve(arg), separators=(",", ":"))

    def _fn_length(self, arg: Any) -> int:
        value = self.resolve(arg)
        if not isinstance(value, list):
            raise Unresolvable("Fn::Length needs a list")
        return len(value)


_HANDLERS = {
    "Ref": Resolver._fn_ref,
    "Condition": Resolver._fn_condition,
    "Fn::GetAtt": Resolver._fn_get_att,
    "Fn::Sub": Resolver._fn_sub,
    "Fn::Join": Resolver._fn_join,
    "Fn::Select": Resolver._fn_select,
    "Fn::Split": Resolver._fn_split,
    "Fn::If": Resolver._fn_if,
    "Fn::Equals": Resolver._fn_equals,
    "Fn::Not": Resolver._fn_not,
    "Fn::And": Resolver._fn_and,
    "Fn::Or": Resolver._fn_or,
    "Fn::FindInMap": Resolver._fn_find_in_map,
    "Fn::Base64": Resolver._fn_base64,
    "Fn::GetAZs": Resolver._fn_get_azs,
    "Fn::ToJsonString": Resolver._fn_to_json_string,
    "Fn::Length": Resolver._fn_length,
}
