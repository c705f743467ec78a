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


def _document_routes(name: str) -> set[tuple[str, str]]:
    doc = yaml.safe_load((ROOT / "docs" / name).read_text())
    return {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops if m in METHODS}


def public_routes() -> set[tuple[str, str]]:
    """The public contract (docs/openapi.yaml), which clients and schemathesis use."""
    return _document_routes("openapi.yaml")


def operator_routes() -> set[tuple[str, str]]:
    """The operator API (docs/operator-openapi.yaml): IAM-authorised, kept out of the public
    contract because no client calls it and the public schemathesis run cannot sign."""
    return _document_routes("operator-openapi.yaml")


def openapi_routes() -> set[tuple[str, str]]:
    return public_routes() | operator_routes()


def template_route_authorizers() -> dict[tuple[str, str], str | None]:
    """Every HttpApi route of the template, with the authorizer it names (None: public)."""
    tpl = yaml.load((ROOT / "template.yaml").read_text(), Loader=_CfnLoader)
    routes: dict[tuple[str, str], str | None] = {}
    for res in tpl["Resources"].values():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        for event in (res.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") == "HttpApi":
                props = event["Properties"]
                routes[(props["Method"].upper(), props["Path"])] = (props.get("Auth") or {}).get("Authorizer")
    return routes


def template_routes() -> set[tuple[str, str]]:
    return set(template_route_authorizers())


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


def test_the_operator_document_holds_exactly_the_iam_authorised_routes():
    authorizers = template_route_authorizers()
    iam = {route for route, authorizer in authorizers.items() if authorizer == "AWS_IAM"}
    assert operator_routes() == iam
    assert all(path.startswith("/admin/") for _, path in iam)


def test_no_public_route_is_under_admin_or_names_an_authorizer():
    authorizers = template_route_authorizers()
    assert all(authorizers[route] is None for route in public_routes())
    assert not any(path.startswith("/admin") for _, path in public_routes())
