"""Read CloudFormation/SAM YAML, including the short-form intrinsic tags.

PyYAML's SafeLoader refuses unknown tags such as ``!Ref`` or ``!GetAtt``; CloudFormation
treats them as shorthands for the long forms (``{"Ref": ...}``, ``{"Fn::GetAtt": [...]}``).
This loader rewrites every short form into its long form at parse time, so the rest of the
tooling only ever deals with plain dicts, lists and scalars.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# Tags whose long form is not simply "Fn::<Tag>".
_SPECIAL_TAGS = {"Ref": "Ref", "Condition": "Condition"}


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation short-form tags (``!Ref``, ``!Sub``, ...)."""


def _construct_intrinsic(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    """Turn ``!Tag value`` into ``{"Fn::Tag": value}`` (or ``{"Ref": value}``)."""
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - yaml only has the three node kinds
        raise yaml.constructor.ConstructorError(None, None, f"unexpected node for !{tag_suffix}", node.start_mark)

    if tag_suffix == "GetAtt" and isinstance(value, str):
        # "!GetAtt Resource.Attr.With.Dots" splits on the first dot only.
        logical_id, _, attribute = value.partition(".")
        value = [logical_id, attribute]
    key = _SPECIAL_TAGS.get(tag_suffix, f"Fn::{tag_suffix}")
    return {key: value}


CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def loads(text: str) -> dict[str, Any]:
    """Parse template text; raises ``ValueError`` when it is not a mapping at the top."""
    document = yaml.load(text, Loader=CfnLoader)  # noqa: S506 - CfnLoader derives from SafeLoader
    if not isinstance(document, dict):
        raise ValueError("template must be a YAML mapping at the top level")
    return document


def load(path: Path) -> dict[str, Any]:
    """Parse the template file at ``path``."""
    return loads(path.read_text(encoding="utf-8"))
