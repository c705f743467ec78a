"""The OpenAPI document, the template and the code must name the same routes.

Three places declare routes: `docs/openapi.yaml` (what clients rely on), `template.yaml` (what
API Gateway forwards) and each function's router (what the code serves). A route missing in any
one of them is a bug: undocumented, unreachable, or unimplemented. (Response shapes are held to
the document by schemathesis against the running stack.)"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
METHODS = {"get", "post", "put", "patch", "delete"}


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags as plain values."""


def _any_tag(loader, _suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


_CfnLoader.add_multi_constructor("!", _any_tag)


def openapi_routes() -> set[tuple[str, str]]:
    doc = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text())
    return {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops if m in METHODS}


def template_routes() -> set[tuple[str, str]]:
    tpl = yaml.load((ROOT / "template.yaml").read_text(), Loader=_CfnLoader)
    routes = set()
    for res in tpl["Resources"].values():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        for event in (res.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") == "HttpApi":
                props = event["Properties"]
                routes.add((props["Method"].upper(), props["Path"]))
    return routes


HANDLER = re.compile(r"\b(get|post|put|patch|delete)\(")


def code_routes() -> set[tuple[str, str]]:
    routes = set()
    for main in sorted((ROOT / "functions").glob("*/src/main.rs")):
        text = main.read_text()
        for m in re.finditer(r'\.route\(\s*"([^"]+)",\s*((?:[^()]|\([^()]*\))*)\)', text):
            for method in HANDLER.findall(m.group(2)):
                routes.add((method.upper(), m.group(1)))
    return routes


def test_openapi_document_and_template_declare_the_same_routes():
    assert openapi_routes() == template_routes()


def test_every_documented_route_is_served_by_the_code_and_nothing_else():
    assert openapi_routes() == code_routes()
