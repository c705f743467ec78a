"""The template model: what the provisioner, gateway and SQS emulator are driven by."""

from __future__ import annotations

from pathlib import Path

import pytest

import template as tpl
from intrinsics import Physical
from settings import REPO_ROOT, Ports

PORTS = Ports(api=3000, aws=4566, sandbox=4600, lambda_=9000)


@pytest.fixture(scope="module")
def model(fixture_template: Path) -> tpl.StackModel:
    return tpl.load_model(fixture_template, ports=PORTS)


def test_kebab_names_are_deterministic() -> None:
    assert tpl.kebab("RegistrationQueueDLQ") == "registration-queue-dlq"
    assert tpl.kebab("UsersTable") == "users-table"
    assert tpl.kebab("IProovSecret") == "iproov-secret"
    assert tpl.local_name("ImagesBucket") == "onboarding-local-images-bucket"


def test_merge_globals_follows_sam_rules() -> None:
    merged = tpl.merge_globals(
        {"Timeout": 10, "Environment": {"Variables": {"A": "1", "B": "2"}}, "Layers": ["x"]},
        {"Timeout": 3, "Environment": {"Variables": {"B": "3"}}, "Layers": ["y"]},
    )
    assert merged == {"Timeout": 3, "Environment": {"Variables": {"A": "1", "B": "3"}}, "Layers": ["x", "y"]}
    # An intrinsic replaces rather than merges.
    assert tpl.merge_globals({"V": {"a": 1}}, {"V": {"Ref": "P"}}) == {"V": {"Ref": "P"}}


def test_functions_binaries_and_globals(model: tpl.StackModel) -> None:
    assert set(model.functions) == {"HealthFunction", "RegistrationFunction", "ScanValidatorFunction"}
    health = model.functions["HealthFunction"]
    assert health.binary == "health"
    assert health.timeout == 3  # function value beats Globals
    assert model.functions["RegistrationFunction"].timeout == 10  # from Globals
    assert health.memory == 256  # Globals' !FindInMap


def test_conditional_function_is_skipped(model: tpl.StackModel) -> None:
    assert "ProdOnlyFunction" not in model.functions
    prod = tpl.load_model(Path(__file__).parent / "fixtures" / "template.yaml", ports=PORTS, overrides={"Environment": "prod"})
    assert prod.functions["ProdOnlyFunction"].binary == "prod-only"


def test_environment_is_resolved_for_local(model: tpl.StackModel) -> None:
    env = model.functions["RegistrationFunction"].env
    assert env["USERS_TABLE"] == "onboarding-local-users-table"
    assert env["SESSIONS_TABLE"] == "onboarding-local-sessions"  # the template's own TableName
    assert env["REGISTRATION_QUEUE_URL"] == "http://127.0.0.1:4566/123456789012/onboarding-local-registration-queue"
    assert env["EXTRA_ARN"] == "arn:aws:sqs:eu-west-1:123456789012:onboarding-local-registration-queue"
    assert env["IPROOV_BASE_URL"] == "http://127.0.0.1:4600/api/v2"  # local override of the parameter
    assert env["IPROOV_SDK_BASE_URL"] == "http://127.0.0.1:4600/api/v2"  # !If on an empty parameter
    assert env["ALLOWED_ORIGINS"] == "http://127.0.0.1:3000,http://localhost:3000"
    assert env["SUBBED"] == "onboarding-local-dev-onboarding-local-users-table"
    assert env["RUST_LOG"] == "info"


def test_routes(model: tpl.StackModel) -> None:
    keys = {(r.route_key, r.binary) for r in model.routes}
    assert keys == {
        ("GET /v1/health", "health"),
        ("GET /v1/users/registration", "registration"),  # lower-case method normalised
        ("POST /v1/users", "registration"),
        ("ANY /v1/items/{item_id}", "registration"),
    }


def test_sqs_mapping(model: tpl.StackModel) -> None:
    (mapping,) = model.sqs_mappings
    assert mapping.binary == "scan-validator"
    assert mapping.queue == "RegistrationQueue"
    assert mapping.batch_size == 5
    assert mapping.batching_window == 1
    assert mapping.report_batch_item_failures is True
    assert mapping.maximum_concurrency == 2
    assert mapping.queue_arn.endswith(":onboarding-local-registration-queue")


def test_tables(model: tpl.StackModel) -> None:
    users = model.tables["UsersTable"]
    assert [(k.name, k.key_type, k.attribute_type) for k in users.keys] == [("pk", "HASH", "S")]
    assert users.ttl_attribute == "ttl"
    assert users.point_in_time_recovery is True
    assert users.kms_key == model.physical["DataKey"].ref
    sessions = model.tables["SessionsTable"]
    (gsi,) = sessions.global_indexes
    assert gsi.name == "by_user"
    assert [(k.name, k.attribute_type) for k in gsi.keys] == [("user_id", "S")]
    assert gsi.projection == {"ProjectionType": "KEYS_ONLY"}


def test_queues_and_redrive(model: tpl.StackModel) -> None:
    queue = model.queues["RegistrationQueue"]
    assert queue.visibility_timeout == 180
    assert queue.redrive == tpl.Redrive("RegistrationDlq", 5)
    assert model.queues["RegistrationDlq"].message_retention == 1209600
    assert model.queues["RegistrationDlq"].redrive is None


def test_bucket_key_secret_cors(model: tpl.StackModel) -> None:
    bucket = model.buckets["ImagesBucket"]
    assert bucket.versioning and bucket.block_public_access
    assert bucket.kms_key == model.physical["DataKey"].attributes["Arn"]
    assert bucket.lifecycle_rules[0]["ExpirationInDays"] == "30"
    key = model.keys["DataKey"]
    assert key.aliases == ("alias/onboarding-local-data",) and key.rotation
    assert model.secrets["AppKeysSecret"].generated is True
    assert model.secrets["IProovSecret"].name == "onboarding-local-iproov-secret"
    assert model.cors == tpl.Cors(
        allow_origins=("http://127.0.0.1:3000", "http://localhost:3000"),
        allow_methods=("GET", "POST", "DELETE"),
        allow_headers=("content-type", "authorization"),
        expose_headers=("retry-after",),
        max_age=600,
        allow_credentials=True,
    )


def test_unsupported_resources_are_listed_not_fatal(model: tpl.StackModel) -> None:
    assert model.ignored == {"ImagesBucketPolicy": "AWS::S3::BucketPolicy", "QueueDepthAlarm": "AWS::CloudWatch::Alarm"}


def test_physical_overrides_flow_into_env(fixture_template: Path) -> None:
    real = {"IProovSecret": Physical("arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbCdEf", {"Name": "x"})}
    model = tpl.load_model(fixture_template, ports=PORTS, physical=real)
    assert model.functions["HealthFunction"].env["IPROOV_SECRET_ID"].endswith("x-AbCdEf")


def test_ports_move_endpoints(fixture_template: Path) -> None:
    model = tpl.load_model(fixture_template, ports=Ports(api=3100, aws=4666, sandbox=4700, lambda_=9100))
    env = model.functions["HealthFunction"].env
    assert env["REGISTRATION_QUEUE_URL"].startswith("http://127.0.0.1:4666/")
    assert env["IPROOV_BASE_URL"] == "http://127.0.0.1:4700/api/v2"
    assert model.cors is not None and "http://localhost:3100" in model.cors.allow_origins


def test_parse_overrides() -> None:
    assert tpl.parse_overrides("A=1 B=x=y") == {"A": "1", "B": "x=y"}
    with pytest.raises(ValueError):
        tpl.parse_overrides("novalue")


@pytest.mark.skipif(not (REPO_ROOT / "template.yaml").exists(), reason="no template.yaml yet")
def test_project_template_meets_the_local_conventions() -> None:
    """The real template.yaml loads, and has what docs/template-conventions.md promises."""
    model = tpl.load_model(REPO_ROOT / "template.yaml", ports=PORTS)
    binaries = {f.binary for f in model.functions.values()}
    assert "health" in binaries
    assert any(r.route_key == "GET /v1/health" for r in model.routes)
    for mapping in model.sqs_mappings:
        queue = model.queues[mapping.queue]
        assert queue.redrive is not None, f"{queue.logical_id} has no DLQ"
        assert queue.redrive.dead_letter_queue in model.queues
    names = [name for f in model.functions.values() for name in f.env]
    for function in model.functions.values():
        for name, value in function.env.items():
            others = {f.env[name] for f in model.functions.values() if name in f.env}
            assert len(others) == 1, f"{name} differs between functions: {others}"
    assert names


def test_cors_from_an_openapi_definition_body() -> None:
    template = {
        "Parameters": {"AllowedOrigins": {"Type": "CommaDelimitedList", "Default": "https://x.example"}},
        "Resources": {
            "Api": {
                "Type": "AWS::Serverless::HttpApi",
                "Properties": {
                    "DefinitionBody": {
                        "openapi": "3.0.1",
                        "paths": {},
                        "x-amazon-apigateway-cors": {
                            "allowOrigins": {"Ref": "AllowedOrigins"},
                            "allowCredentials": True,
                            "allowMethods": ["GET", "POST"],
                            "allowHeaders": ["Authorization"],
                            "exposeHeaders": ["Retry-After"],
                            "maxAge": 300,
                        },
                    }
                },
            }
        },
    }
    model = tpl.build_model(template, ports=PORTS)
    assert model.cors == tpl.Cors(
        ("http://127.0.0.1:3000", "http://localhost:3000"), ("GET", "POST"), ("authorization",),
        ("retry-after",), 300, True,
    )
