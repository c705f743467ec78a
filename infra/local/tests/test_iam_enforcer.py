"""IAM enforcement in the AWS fault proxy, and against the real template.yaml's roles.

The proxy tests drive boto3 through the proxy to an in-process moto, so "the SDK recognises the
AccessDenied answer" is checked, not assumed. The template test is the reason this exists:
scan-validator reads the username claim (GetItem on the users table) after a cancelled
transaction; without that grant in ScanValidatorRole, AWS answers AccessDenied.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest
import requests

import aws_faults
import cfn_yaml
import iam_stack
from iam_enforcer import IamEnforcer
from iam_policy import Statement
from iam_stack import FunctionIdentity, IamStack
from settings import REPO_ROOT, function_access_key

NO_RETRIES = botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"},
                                    s3={"addressing_style": "path"})
ROLE = "arn:aws:iam::123456789012:role/writer-role"
TABLE_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/iam-t"
KEY = function_access_key("WriterFunction")


def writer_stack() -> IamStack:
    """One function whose role may put items into table iam-t and put objects into bucket iam-b."""
    statements = (
        Statement.parse("WriterRole/writer", 0, {"Sid": "Put", "Effect": "Allow", "Action": "dynamodb:PutItem",
                                                 "Resource": TABLE_ARN}),
        Statement.parse("WriterRole/writer", 1, {"Sid": "Objects", "Effect": "Allow",
                                                 "Action": ["s3:PutObject", "s3:GetObject"],
                                                 "Resource": "arn:aws:s3:::iam-b/in/*"}),
        Statement.parse("WriterRole/writer", 2, {"Sid": "NeverUsed", "Effect": "Allow", "Action": "sqs:SendMessage",
                                                 "Resource": "*"}),
    )
    identity = FunctionIdentity("WriterFunction", "writer", "WriterRole", ROLE, KEY, statements)
    return IamStack(functions={KEY: identity}, partition_keys={"iam-t": "pk"})


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[tuple[str, IamEnforcer]]:
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10).raise_for_status()
    enforcer = IamEnforcer.from_stack(writer_stack())
    server = aws_faults.make_server(0, int(moto_endpoint.rsplit(":", 1)[1]), enforcer=enforcer)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", enforcer
    server.shutdown()
    server.server_close()


def client(service: str, endpoint: str, key: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="eu-west-1", aws_access_key_id=key,
                        aws_secret_access_key="s", config=NO_RETRIES)


def setup_resources(endpoint: str) -> None:
    """Created with the provisioner's key ("local"), which the proxy does not evaluate."""
    ddb, s3 = client("dynamodb", endpoint, "local"), client("s3", endpoint, "local")
    ddb.create_table(TableName="iam-t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    s3.create_bucket(Bucket="iam-b", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})


def test_a_call_the_role_allows_reaches_moto_and_one_it_does_not_is_denied_as_aws_does(proxy):
    endpoint, enforcer = proxy
    # GIVEN a function whose role allows PutItem on the table, but not GetItem
    setup_resources(endpoint)
    ddb = client("dynamodb", endpoint, KEY)
    # WHEN it puts an item THEN moto stores it
    ddb.put_item(TableName="iam-t", Item={"pk": {"S": "a"}})
    # WHEN it reads the item THEN the SDK gets AccessDeniedException naming action and resource
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        ddb.get_item(TableName="iam-t", Key={"pk": {"S": "a"}})
    error = denied.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert "dynamodb:GetItem" in error["Message"] and TABLE_ARN in error["Message"]
    # AND GET /_iam lists the denial with function, action and resource
    report = requests.get(f"{endpoint}/_iam", timeout=5).json()
    assert report["denied"] == [{"function": "WriterFunction", "action": "dynamodb:GetItem", "resource": TABLE_ARN,
                                 "reason": "implicit_deny", "via": "", "detail": "no identity-based policy allows it"}]
    assert enforcer.snapshot()["calls_evaluated"] == 2


def test_s3_denials_are_403_access_denied_and_used_grants_are_recorded(proxy):
    endpoint, _ = proxy
    setup_resources(endpoint)
    s3 = client("s3", endpoint, KEY)
    # GIVEN a role allowing objects under in/ only WHEN one is put there and one elsewhere
    s3.put_object(Bucket="iam-b", Key="in/1", Body=b"x")
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        s3.put_object(Bucket="iam-b", Key="out/1", Body=b"x")
    # THEN the second is AWS's 403 AccessDenied
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # AND the report marks s3:PutObject as used, GetObject and the SQS grant as unused
    grants = {(g["sid"], g["action"]): g["used"] for g in requests.get(f"{endpoint}/_iam", timeout=5).json()["grants"]}
    assert grants == {("Put", "dynamodb:PutItem"): False, ("Objects", "s3:PutObject"): True,
                      ("Objects", "s3:GetObject"): False, ("NeverUsed", "sqs:SendMessage"): False}


def test_calls_without_a_function_key_and_probes_are_not_recorded(proxy):
    endpoint, _ = proxy
    setup_resources(endpoint)
    # GIVEN a test's own client (key "local") WHEN it reads THEN nothing is evaluated
    client("dynamodb", endpoint, "local").get_item(TableName="iam-t", Key={"pk": {"S": "a"}})
    # GIVEN a probe (X-Local-Iam-Probe) WHEN the function's key reads THEN it is denied, but not recorded
    probe = client("dynamodb", endpoint, KEY)
    probe.meta.events.register("before-sign.dynamodb.*",
                               lambda request, **_: request.headers.__setitem__("X-Local-Iam-Probe", "1"))
    with pytest.raises(botocore.exceptions.ClientError):
        probe.get_item(TableName="iam-t", Key={"pk": {"S": "a"}})
    report = requests.get(f"{endpoint}/_iam", timeout=5).json()
    assert report["denied"] == [] and report["calls_evaluated"] == 0


# ----- the real template ------------------------------------------------------------------
TEMPLATE = REPO_ROOT / "template.yaml"


def _mentions_users_table(resource: Any) -> bool:
    return "UsersTable" in json.dumps(resource)


def without_users_get_item(template: dict[str, Any]) -> dict[str, Any]:
    """A copy of the template whose ScanValidatorRole no longer grants dynamodb:GetItem on UsersTable."""
    changed = copy.deepcopy(template)
    for policy in changed["Resources"]["ScanValidatorRole"]["Properties"]["Policies"]:
        kept = []
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if _mentions_users_table(statement.get("Resource")) and "dynamodb:GetItem" in actions:
                actions = [a for a in actions if a != "dynamodb:GetItem"]
                if not actions:
                    continue
                statement["Action"] = actions
            kept.append(statement)
        policy["PolicyDocument"]["Statement"] = kept
    return changed


def grants_users_get_item(template: dict[str, Any]) -> bool:
    return without_users_get_item(template) != template


def scan_validator_reads_the_username_claim(stack: IamStack) -> dict[str, Any] | None:
    """What the proxy answers when scan-validator does GetItem on the users table (None: allowed)."""
    users_table = next(name for name in stack.partition_keys if "users" in name)
    enforcer = IamEnforcer.from_stack(stack)
    key = function_access_key("ScanValidatorFunction")
    headers = {"Authorization": f"AWS4-HMAC-SHA256 Credential={key}/20260101/eu-west-1/dynamodb/aws4_request",
               "X-Amz-Target": "DynamoDB_20120810.GetItem"}
    body = json.dumps({"TableName": users_table, "Key": {"pk": {"S": "username#alice"}}}).encode()
    denial = enforcer.authorise("dynamodb", "POST", "/", headers, body)
    return denial.to_json() if denial else None


def test_scan_validator_reading_the_username_claim_needs_get_item_on_the_users_table():
    # GIVEN the real template.yaml
    template = cfn_yaml.load(TEMPLATE)
    # WHEN scan-validator reads the claim with the template's role as it is
    as_is = scan_validator_reads_the_username_claim(iam_stack.build(template))
    # THEN it is allowed exactly when ScanValidatorRole grants dynamodb:GetItem on UsersTable
    if grants_users_get_item(template):
        assert as_is is None
    else:
        assert as_is is not None and as_is["action"] == "dynamodb:GetItem"
    # WHEN that grant is removed THEN the same call is denied, naming function, action and resource
    removed = scan_validator_reads_the_username_claim(iam_stack.build(without_users_get_item(template)))
    assert removed is not None
    assert removed["function"] == "ScanValidatorFunction"
    assert removed["action"] == "dynamodb:GetItem"
    assert removed["resource"].startswith("arn:aws:dynamodb:eu-west-1:123456789012:table/")
    assert removed["resource"].endswith("users-table")


def test_every_function_of_the_real_template_has_an_identity_and_a_role():
    # GIVEN the real template WHEN the IAM model is built THEN each function maps to its own role
    template = cfn_yaml.load(TEMPLATE)
    stack = iam_stack.build(template)
    functions = [k for k, v in template["Resources"].items() if v.get("Type") == "AWS::Serverless::Function"]
    assert sorted(f.logical_id for f in stack.functions.values()) == sorted(functions)
    assert stack.warnings == []
    assert all(key == function_access_key(f.logical_id) for key, f in stack.functions.items())


def test_a_policy_whose_condition_is_false_grants_nothing():
    # GIVEN the real template, whose edge policy exists only with EdgeProtection=cloudfront-waf
    template = cfn_yaml.load(TEMPLATE)

    def account_sources(overrides: dict[str, str]) -> set[str]:
        stack = iam_stack.build(template, overrides=overrides)
        account = next(f for f in stack.functions.values() if f.logical_id == "AccountFunction")
        return {s.source.split("/", 1)[0] for s in account.statements}

    # WHEN the model is built with the edge off THEN the account function has no grant of it
    assert "EdgeOriginSecretRead" not in account_sources({})
    # AND WHEN the edge is on THEN the policy is attached to the role
    edge = {"EdgeProtection": "cloudfront-waf", "TrustedProxyCount": "1",
            "EdgeWebAclArn": "arn:aws:wafv2:us-east-1:123456789012:global/webacl/e/0f0e0d0c-0b0a-0908-0706-050403020100"}
    assert "EdgeOriginSecretRead" in account_sources(edge)
