"""The AWS fault proxy: transparent without rules, AWS-shaped failures with them.

Driven with boto3 (another AWS SDK than the functions' one) through the proxy to an in-process
moto, so "the SDK recognises the injected error" is checked, not assumed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import boto3
import botocore.config
import botocore.exceptions
import pytest
import requests

import aws_faults

NO_RETRIES = botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"})


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[str]:
    upstream_port = int(moto_endpoint.rsplit(":", 1)[1])
    server = aws_faults.make_server(0, upstream_port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def client(service: str, endpoint: str):
    return boto3.client(service, endpoint_url=endpoint, region_name="eu-west-1", aws_access_key_id="k",
                        aws_secret_access_key="s", config=NO_RETRIES)


def add_rule(proxy: str, **rule) -> requests.Response:
    return requests.post(f"{proxy}/_faults", json=rule, timeout=5)


def test_without_rules_every_call_reaches_moto_unchanged(proxy: str):
    # GIVEN no rule WHEN a table and an object are written and read through the proxy
    ddb, s3 = client("dynamodb", proxy), client("s3", proxy)
    ddb.create_table(TableName="t1", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName="t1", Item={"pk": {"S": "a"}})
    s3.create_bucket(Bucket="proxy-test-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket="proxy-test-bucket", Key="k", Body=b"\x00\x01image")
    # THEN they behave exactly as moto does
    assert ddb.get_item(TableName="t1", Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}}
    assert s3.get_object(Bucket="proxy-test-bucket", Key="k")["Body"].read() == b"\x00\x01image"
    assert s3.head_object(Bucket="proxy-test-bucket", Key="k")["ContentLength"] == 7


def test_a_throttling_rule_fails_only_the_named_operation_for_its_count(proxy: str):
    ddb = client("dynamodb", proxy)
    ddb.create_table(TableName="t2", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    # GIVEN DynamoDB PutItem throttled once
    assert add_rule(proxy, service="dynamodb", operation="PutItem", count=1).status_code == 201
    # WHEN PutItem is called THEN the SDK sees AWS's throttling error
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        ddb.put_item(TableName="t2", Item={"pk": {"S": "a"}})
    assert raised.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # AND other operations, and the next PutItem, go through
    ddb.get_item(TableName="t2", Key={"pk": {"S": "a"}})
    ddb.put_item(TableName="t2", Item={"pk": {"S": "a"}})
    rules = requests.get(f"{proxy}/_faults", timeout=5).json()["rules"]
    assert [(r["fired"], r["remaining"]) for r in rules] == [(1, 0)]


def test_errors_take_each_services_protocol(proxy: str):
    # GIVEN Secrets Manager unavailable and S3 slowing down, until cleared
    add_rule(proxy, service="secretsmanager")
    add_rule(proxy, service="s3", operation="GET")
    # THEN both SDK clients parse the codes AWS uses
    with pytest.raises(botocore.exceptions.ClientError) as secrets:
        client("secretsmanager", proxy).get_secret_value(SecretId="x")
    assert secrets.value.response["Error"]["Code"] == "ServiceUnavailable"
    with pytest.raises(botocore.exceptions.ClientError) as s3:
        client("s3", proxy).get_object(Bucket="b", Key="k")
    assert s3.value.response["Error"]["Code"] == "SlowDown"
    # WHEN the rules are removed THEN moto answers again (here: its own not-found)
    requests.delete(f"{proxy}/_faults", timeout=5)
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        client("secretsmanager", proxy).get_secret_value(SecretId="x")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_reset_mode_drops_the_connection(proxy: str):
    add_rule(proxy, service="kms", mode="reset")
    with pytest.raises((botocore.exceptions.ConnectionClosedError, botocore.exceptions.EndpointConnectionError)):
        client("kms", proxy).list_keys()


@pytest.mark.parametrize("rule", [
    {},
    {"service": "lambda"},
    {"service": "dynamodb", "status": 200},
    {"service": "dynamodb", "count": 0},
    {"service": "dynamodb", "mode": "slow"},
    {"service": "dynamodb", "operation": "Put Item"},
    {"service": "dynamodb", "extra": 1},
])
def test_invalid_rules_are_refused_with_a_reason(proxy: str, rule: dict):
    r = add_rule(proxy, **rule)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request" and r.json()["message"]
    assert requests.get(f"{proxy}/_faults", timeout=5).json()["rules"] == []


def test_racing_conditional_writes_through_the_proxy_have_exactly_one_winner(proxy: str):
    # GIVEN an item both of many writers want to move from "submitted" to "validating"
    ddb = client("dynamodb", proxy)
    ddb.create_table(TableName="race", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    wins = []
    for round_ in range(10):
        ddb.put_item(TableName="race", Item={"pk": {"S": f"r{round_}"}, "st": {"S": "submitted"}})
        winners = []
        start = threading.Barrier(6)

        def take(name: str, key: str = f"r{round_}", won: list = winners) -> None:
            start.wait()
            try:
                ddb.update_item(TableName="race", Key={"pk": {"S": key}},
                                UpdateExpression="SET st = :v, holder = :h",
                                ConditionExpression="st = :s",
                                ExpressionAttributeValues={":v": {"S": "validating"}, ":h": {"S": name},
                                                           ":s": {"S": "submitted"}})
                won.append(name)
            except botocore.exceptions.ClientError as err:
                assert err.response["Error"]["Code"] == "ConditionalCheckFailedException"

        # WHEN six writers race with the same condition
        threads = [threading.Thread(target=take, args=(f"w{i}",)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wins.append(len(winners))
    # THEN each round has exactly one winner, as DynamoDB's atomic conditional writes give
    assert wins == [1] * 10


def test_only_dynamodb_writes_are_serialised():
    assert aws_faults.serialised("dynamodb", "UpdateItem")
    assert aws_faults.serialised("dynamodb", "TransactWriteItems")
    assert not aws_faults.serialised("dynamodb", "GetItem")
    assert not aws_faults.serialised("s3", "PUT")
