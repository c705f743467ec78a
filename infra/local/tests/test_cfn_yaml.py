"""The loader must turn every short-form tag into the long form CloudFormation documents."""

from __future__ import annotations

import pytest

import cfn_yaml


def test_short_forms_become_long_forms() -> None:
    doc = cfn_yaml.loads(
        """
A: !Ref Thing
B: !GetAtt Queue.Arn
C: !GetAtt [Queue, Arn]
D: !Sub "${AWS::StackName}-x"
E: !Sub ["${a}-${b}", {a: 1, b: !Ref P}]
F: !Join [",", [a, b]]
G: !If [Cond, a, !Ref AWS::NoValue]
H: !Equals [!Ref P, prod]
I: !Select [0, !Split [",", "a,b"]]
J: !Condition IsProd
K: !FindInMap [M, k1, k2]
L: !Base64 text
M: !GetAtt Thing.Attr.With.Dots
"""
    )
    assert doc["A"] == {"Ref": "Thing"}
    assert doc["B"] == {"Fn::GetAtt": ["Queue", "Arn"]}
    assert doc["C"] == {"Fn::GetAtt": ["Queue", "Arn"]}
    assert doc["D"] == {"Fn::Sub": "${AWS::StackName}-x"}
    assert doc["E"] == {"Fn::Sub": ["${a}-${b}", {"a": 1, "b": {"Ref": "P"}}]}
    assert doc["F"] == {"Fn::Join": [",", ["a", "b"]]}
    assert doc["G"] == {"Fn::If": ["Cond", "a", {"Ref": "AWS::NoValue"}]}
    assert doc["H"] == {"Fn::Equals": [{"Ref": "P"}, "prod"]}
    assert doc["I"] == {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]}
    assert doc["J"] == {"Condition": "IsProd"}
    assert doc["K"] == {"Fn::FindInMap": ["M", "k1", "k2"]}
    assert doc["L"] == {"Fn::Base64": "text"}
    assert doc["M"] == {"Fn::GetAtt": ["Thing", "Attr.With.Dots"]}


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(ValueError):
        cfn_yaml.loads("- just\n- a list\n")


def test_python_tags_are_still_refused() -> None:
    """The loader is SafeLoader-based: a template cannot build arbitrary Python objects."""
    import yaml

    with pytest.raises(yaml.constructor.ConstructorError):
        cfn_yaml.loads("x: !!python/object:os.system ls\n")
