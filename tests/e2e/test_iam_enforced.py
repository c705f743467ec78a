"""The local stack enforces template.yaml's IAM roles per function (infra/local/iam_enforcer.py).

Every other end-to-end test relies on it silently: a call a function's role would not allow in
AWS is answered AccessDenied by the AWS fault proxy and fails the run (conftest `iam_enforced`).
These tests show that the enforcement is really on, with the roles of the running template.
"""

from __future__ import annotations

from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest
import requests

from conftest import PORTS
from settings import REGION, function_access_key

IAM_URL = f"{PORTS.functions_aws_endpoint}/_iam"


def iam_report() -> dict[str, Any]:
    return requests.get(IAM_URL, timeout=10).json()


def test_every_function_of_the_template_is_enforced_with_its_own_role(stack: dict[str, Any]):
    # GIVEN the running stack WHEN the proxy's IAM report is read
    report = iam_report()
    # THEN enforcement is on, loaded without warnings, and each function has its own key and role
    assert report["mode"] == "enforce" and report["loaded"] and report["warnings"] == []
    assert set(report["functions"]) == set(stack["functions"])
    for logical_id, identity in report["functions"].items():
        assert identity["access_key"] == function_access_key(logical_id)


def test_a_call_the_role_does_not_allow_is_answered_access_denied(stack: dict[str, Any]):
    # GIVEN the health function's identity, whose role grants no data access
    table = next(t["name"] for t in stack["tables"].values())
    dynamodb = boto3.client(
        "dynamodb", endpoint_url=PORTS.functions_aws_endpoint, region_name=REGION,
        aws_access_key_id=function_access_key("HealthFunction"), aws_secret_access_key="local",
        config=botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )
    # marked as a probe: answered exactly like a function's call, but not recorded as a denial
    dynamodb.meta.events.register(
        "before-sign.dynamodb.*", lambda request, **_: request.headers.__setitem__("X-Local-Iam-Probe", "1"))
    # WHEN it reads a table through the proxy THEN it gets AWS's AccessDeniedException
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        dynamodb.get_item(TableName=table, Key={"pk": {"S": "x"}})
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "dynamodb:GetItem" in denied.value.response["Error"]["Message"]
