"""Provisioning creates what the template describes, in moto, and can run twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import provision
from settings import Ports


def run(template: Path, ports: Ports) -> provision.tpl.StackModel:
    return provision.provision(template, ports, {})


def test_creates_everything_idempotently(fixture_template: Path, moto_ports: Ports) -> None:
    first = run(fixture_template, moto_ports)
    second = run(fixture_template, moto_ports)
    assert first.physical["DataKey"].ref == second.physical["DataKey"].ref  # key reused, not duplicated

    dynamodb = provision.aws_client("dynamodb", moto_ports)
    assert sorted(dynamodb.list_tables()["TableNames"]) == ["onboarding-local-sessions", "onboarding-local-users-table"]
    sessions = dynamodb.describe_table(TableName="onboarding-local-sessions")["Table"]
    assert [g["IndexName"] for g in sessions["GlobalSecondaryIndexes"]] == ["by_user"]
    ttl = dynamodb.describe_time_to_live(TableName="onboarding-local-users-table")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}

    sqs = provision.aws_client("sqs", moto_ports)
    url = second.queues["RegistrationQueue"].url
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "180"
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == second.queues["RegistrationDlq"].arn
    assert int(redrive["maxReceiveCount"]) == 5

    s3 = provision.aws_client("s3", moto_ports)
    assert s3.get_bucket_versioning(Bucket="onboarding-local-images-bucket")["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket="onboarding-local-images-bucket")["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == second.physical["DataKey"].attributes["Arn"]

    kms = provision.aws_client("kms", moto_ports)
    aliases = {a["AliasName"] for a in kms.list_aliases()["Aliases"]}
    assert {"alias/onboarding-local-data", "alias/onboarding-local-data-key"} <= aliases
    assert len([k for k in kms.list_keys()["Keys"]]) == 1

    secrets = provision.aws_client("secretsmanager", moto_ports)
    iproov = json.loads(secrets.get_secret_value(SecretId="onboarding-local-iproov-secret")["SecretString"])
    assert iproov == {
        "api_key": "sandbox-api-key",
        "secret": "sandbox-secret",
        "oauth_client_id": "sandbox-oauth-id",
        "oauth_client_secret": "sandbox-oauth-secret",
    }
    app_keys = json.loads(secrets.get_secret_value(SecretId="onboarding-local-app-keys-secret")["SecretString"])
    assert len(app_keys["pseudonym_key"]) >= 32
    assert second.functions["HealthFunction"].env["IPROOV_SECRET_ID"] == second.physical["IProovSecret"].ref


def test_generated_secret_survives_reprovisioning(fixture_template: Path, moto_ports: Ports) -> None:
    secrets = provision.aws_client("secretsmanager", moto_ports)
    run(fixture_template, moto_ports)
    before = secrets.get_secret_value(SecretId="onboarding-local-app-keys-secret")["SecretString"]
    run(fixture_template, moto_ports)
    assert secrets.get_secret_value(SecretId="onboarding-local-app-keys-secret")["SecretString"] == before


def test_visibility_override(fixture_template: Path, moto_ports: Ports, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_VISIBILITY_TIMEOUT", "2")
    model = run(fixture_template, moto_ports)
    sqs = provision.aws_client("sqs", moto_ports)
    url = model.queues["RegistrationQueue"].url
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"] == {
        "VisibilityTimeout": "2"
    }


def test_outputs(fixture_template: Path, moto_ports: Ports, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provision, "FUNCTIONS_ENV_FILE", tmp_path / "functions.env")
    monkeypatch.setattr(provision, "STACK_FILE", tmp_path / "stack.json")
    model = run(fixture_template, moto_ports)
    provision.write_outputs(model, moto_ports, fixture_template)
    lines = (tmp_path / "functions.env").read_text().splitlines()
    env = dict(line.split("=", 1) for line in lines if not line.startswith("#"))
    assert env["AWS_ENDPOINT_URL"] == moto_ports.functions_aws_endpoint
    assert env["APP_ENV"] == "local"
    assert env["IPROOV_BASE_URL"] == "http://127.0.0.1:4600/api/v2"
    assert env["USERS_TABLE"] == "onboarding-local-users-table"
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"] and env["AWS_REGION"] == "eu-west-1"
    stack = json.loads((tmp_path / "stack.json").read_text())
    assert {r["route_key"] for r in stack["routes"]} >= {"GET /v1/health"}
    assert stack["sqs_mappings"][0]["binary"] == "scan-validator"


def test_env_file_quoting() -> None:
    text = provision.render_env_file(
        {"A": "plain,comma:/x", "B": "has space", "C": "", "D": 'q"uote', "E": "k=v", "F": "a#b"}
    )
    assert "A=plain,comma:/x" in text
    assert 'B="has space"' in text
    assert 'C=""' in text
    assert 'D="q\\"uote"' in text
    assert 'E="k=v"' in text and 'F="a#b"' in text


def test_queue_order_puts_dlqs_first(fixture_template: Path) -> None:
    model = provision.tpl.load_model(fixture_template, ports=Ports(3000, 4566, 4600, 9000))
    order = [q.logical_id for q in provision.queue_order(model.queues)]
    assert order.index("RegistrationDlq") < order.index("RegistrationQueue")


def test_lifecycle_rule_conversion() -> None:
    assert provision.lifecycle_rule({"Id": "x", "Status": "Enabled", "ExpirationInDays": "30",
                                     "NoncurrentVersionExpiration": {"NoncurrentDays": 7}}) == {
        "ID": "x", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 30},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
    }
