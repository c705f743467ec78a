"""Intrinsic functions evaluate as CloudFormation would for the local stack."""

from __future__ import annotations

from typing import Any

import pytest

from intrinsics import NO_VALUE, Physical, Resolver, Unresolvable, resolve_parameters

TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "Env": {"Type": "String", "Default": "dev"},
        "Origins": {"Type": "CommaDelimitedList", "Default": "https://a.example, https://b.example"},
        "Count": {"Type": "Number", "Default": 5},
        "NoDefault": {"Type": "String"},
    },
    "Conditions": {
        "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
        "IsDev": {"Fn::Not": [{"Condition": "IsProd"}]},
        "Both": {"Fn::And": [{"Condition": "IsDev"}, {"Fn::Equals": ["a", "a"]}]},
        "Either": {"Fn::Or": [{"Condition": "IsProd"}, {"Condition": "Both"}]},
    },
    "Mappings": {"Sizes": {"dev": {"Memory": 256}}},
}

PHYSICAL = {
    "Queue": Physical("http://127.0.0.1:4566/123456789012/q", {"Arn": "arn:aws:sqs:eu-west-1:123456789012:q"}),
    "Table": Physical("onboarding-local-table", {"Arn": "arn:aws:dynamodb:eu-west-1:123456789012:table/t"}),
}


def resolver(overrides: dict[str, str] | None = None) -> Resolver:
    return Resolver(TEMPLATE, resolve_parameters(TEMPLATE, overrides or {}), PHYSICAL)


def test_parameters_defaults_overrides_and_lists() -> None:
    params = resolve_parameters(TEMPLATE, {"Env": "prod"})
    assert params["Env"] == "prod"
    assert params["Origins"] == ["https://a.example", "https://b.example"]
    assert params["Count"] == "5"  # Ref of a Number parameter is a string
    assert "NoDefault" not in params


def test_ref_parameter_resource_and_pseudo() -> None:
    r = resolver()
    assert r.resolve({"Ref": "Env"}) == "dev"
    assert r.resolve({"Ref": "Queue"}) == "http://127.0.0.1:4566/123456789012/q"
    assert r.resolve({"Ref": "AWS::Region"}) == "eu-west-1"
    assert r.resolve({"Ref": "AWS::AccountId"}) == "123456789012"
    assert r.resolve({"Ref": "AWS::StackName"}) == "onboarding-local"


def test_get_att() -> None:
    r = resolver()
    assert r.resolve({"Fn::GetAtt": ["Queue", "Arn"]}) == "arn:aws:sqs:eu-west-1:123456789012:q"
    assert r.resolve({"Fn::GetAtt": "Table.Arn"}) == "arn:aws:dynamodb:eu-west-1:123456789012:table/t"
    with pytest.raises(Unresolvable):
        r.resolve({"Fn::GetAtt": ["Queue", "Nope"]})
    with pytest.raises(Unresolvable):
        r.resolve({"Fn::GetAtt": ["Missing", "Arn"]})


def test_sub_forms() -> None:
    r = resolver()
    assert r.resolve({"Fn::Sub": "${AWS::StackName}-${Env}-${Table}"}) == "onboarding-local-dev-onboarding-local-table"
    assert r.resolve({"Fn::Sub": "${Queue.Arn}/x"}) == "arn:aws:sqs:eu-west-1:123456789012:q/x"
    assert r.resolve({"Fn::Sub": "${!Literal}-${Env}"}) == "${Literal}-dev"
    assert r.resolve({"Fn::Sub": ["${a}:${Env}", {"a": {"Ref": "Count"}}]}) == "5:dev"


def test_join_select_split() -> None:
    r = resolver()
    assert r.resolve({"Fn::Join": [",", {"Ref": "Origins"}]}) == "https://a.example,https://b.example"
    assert r.resolve({"Fn::Select": [1, {"Ref": "Origins"}]}) == "https://b.example"
    assert r.resolve({"Fn::Split": ["-", "a-b-c"]}) == ["a", "b", "c"]
    with pytest.raises(Unresolvable):
        r.resolve({"Fn::Select": [5, ["a"]]})


def test_conditions_and_if() -> None:
    r = resolver()
    assert r.condition("IsProd") is False
    assert r.condition("IsDev") is True
    assert r.condition("Both") is True
    assert r.condition("Either") is True
    assert r.resolve({"Fn::If": ["IsProd", "big", "small"]}) == "small"
    assert resolver({"Env": "prod"}).resolve({"Fn::If": ["IsProd", "big", "small"]}) == "big"


def test_no_value_removes_keys_and_items() -> None:
    r = resolver()
    value = {
        "Keep": 1,
        "Drop": {"Fn::If": ["IsProd", "x", {"Ref": "AWS::NoValue"}]},
        "List": ["a", {"Fn::If": ["IsProd", "b", {"Ref": "AWS::NoValue"}]}],
    }
    assert r.resolve(value) == {"Keep": 1, "List": ["a"]}
    assert r.resolve({"Ref": "AWS::NoValue"}) is NO_VALUE


def test_find_in_map_with_default() -> None:
    r = resolver()
    assert r.resolve({"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "Memory"]}) == 256
    assert r.resolve({"Fn::FindInMap": ["Sizes", "prod", "Memory", {"DefaultValue": 128}]}) == 128
    with pytest.raises(Unresolvable):
        r.resolve({"Fn::FindInMap": ["Sizes", "prod", "Memory"]})


def test_unresolvable_cases_name_the_culprit() -> None:
    r = resolver()
    with pytest.raises(Unresolvable, match="NoDefault"):
        r.resolve({"Ref": "NoDefault"})
    with pytest.raises(Unresolvable, match="Unknown"):
        r.resolve({"Ref": "Unknown"})
    with pytest.raises(Unresolvable, match="ImportValue"):
        r.resolve({"Fn::ImportValue": "x"})
    with pytest.raises(Unresolvable, match="condition"):
        r.condition("Missing")


def test_resolve_str_renders_scalars() -> None:
    r = resolver()
    assert r.resolve_str(True) == "true"
    assert r.resolve_str(30) == "30"
    with pytest.raises(Unresolvable):
        r.resolve_str({"Ref": "Origins"})
