"""Create the template's resources in moto, idempotently, and write the functions' environment.

Everything comes from the template model (template.py): there is no hand-kept list of tables
or queues here. Running it twice against the same moto changes nothing but drifted settings;
generated secret values are kept, so a running function's keys do not change under it.

Outputs (read by devstack, the gateway, the SQS emulator and the tests):
  .local/functions.env  every function's resolved environment + local endpoints/credentials
  .local/stack.json     routes, SQS mappings, resource names and physical ids

Local-only knob: ``LOCAL_VISIBILITY_TIMEOUT=<seconds>`` replaces every queue's
VisibilityTimeout (handy to watch redrive to a DLQ without waiting minutes).

With ``LOCAL_IPROOV_BASE_URL`` (iproov_settings.py) the functions talk to that iProov tenant
instead of the sandbox, and IProovSecret holds the credentials of ``LOCAL_IPROOV_CREDENTIALS_FILE``
(read here, put into moto's Secrets Manager, never logged or written anywhere else).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

import template as tpl
from intrinsics import Physical
from iproov_settings import IProovSettings, SettingsError
from settings import (
    AWS_ENV,
    FUNCTIONS_ENV_FILE,
    REGION,
    SANDBOX_CREDENTIALS,
    STACK_FILE,
    STACK_NAME,
    TEMPLATE_FILE,
    Ports,
)

log = logging.getLogger("provision")

# Secret values that the local stack fills in itself (by logical id). A deployed stack gets
# IProovSecret from the operator; locally the sandbox's own credentials are the right ones.
LOCAL_SECRET_VALUES: dict[str, dict[str, str]] = {"IProovSecret": SANDBOX_CREDENTIALS}


def local_secret_values(iproov: IProovSettings) -> dict[str, dict[str, str]]:
    """LOCAL_SECRET_VALUES, with your tenant's credentials as IProovSecret when one is configured."""
    if iproov.tenant is None:
        return dict(LOCAL_SECRET_VALUES)
    return {**LOCAL_SECRET_VALUES, "IProovSecret": iproov.tenant.credentials()}


def aws_client(service: str, ports: Ports) -> Any:
    """A boto3 client for moto with dummy credentials (never real AWS)."""
    return boto3.client(
        service,
        endpoint_url=ports.aws_endpoint,
        region_name=REGION,
        aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, s3={"addressing_style": "path"}),
    )


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


# ----- KMS --------------------------------------------------------------------------------
def ensure_key(kms: Any, key: tpl.KmsKey) -> Physical:
    """Find the key by its bookkeeping alias, or create it; then make sure its aliases exist."""
    bookkeeping = f"alias/{tpl.local_name(key.logical_id)}"
    key_id = None
    try:
        key_id = kms.describe_key(KeyId=bookkeeping)["KeyMetadata"]["KeyId"]
    except ClientError as exc:
        if _error_code(exc) != "NotFoundException":
            raise
    if key_id is None:
        created = kms.create_key(
            Description=key.description or key.logical_id, KeySpec=key.spec, KeyUsage=key.usage
        )
        key_id = created["KeyMetadata"]["KeyId"]
        log.info("created KMS key %s (%s)", key.logical_id, key_id)
    if key.rotation:
        kms.enable_key_rotation(KeyId=key_id)
    existing = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases(KeyId=key_id).get("Aliases", [])}
    for alias in (bookkeeping, *key.aliases):
        if existing.get(alias) == key_id:
            continue
        try:
            kms.create_alias(AliasName=alias, TargetKeyId=key_id)
        except ClientError as exc:
            if _error_code(exc) != "AlreadyExistsException":
                raise
            kms.update_alias(AliasName=alias, TargetKeyId=key_id)
    arn = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
    return Physical(key_id, {"Arn": arn, "KeyId": key_id})


# ----- Secrets Manager --------------------------------------------------------------------
def secret_value(
    template: Mapping[str, Any], secret: tpl.Secret, values: Mapping[str, Mapping[str, str]] = LOCAL_SECRET_VALUES
) -> str:
    """The local value for a secret (see LOCAL_SECRET_VALUES and GenerateSecretString)."""
    if secret.logical_id in values:
        return json.dumps(values[secret.logical_id])
    props = template["Resources"][secret.logical_id].get("Properties") or {}
    generate = props.get("GenerateSecretString") or {}
    length = int(generate.get("PasswordLength", 32)) if isinstance(generate, dict) else 32
    size = max(length, 32)
    random_value = secrets.token_hex((size + 1) // 2)[:size]
    if isinstance(generate, dict) and generate.get("GenerateStringKey"):
        base = json.loads(str(generate.get("SecretStringTemplate") or "{}"))
        base[str(generate["GenerateStringKey"])] = random_value
        return json.dumps(base)
    if secret.logical_id == "AppKeysSecret":
        return json.dumps({"pseudonym_key": random_value})
    if secret.generated:
        return random_value
    return json.dumps({})


def ensure_secret(
    client: Any, template: Mapping[str, Any], secret: tpl.Secret,
    values: Mapping[str, Mapping[str, str]] = LOCAL_SECRET_VALUES,
) -> Physical:
    """Create the secret with its local value; an existing generated value is kept."""
    try:
        described = client.describe_secret(SecretId=secret.name)
        arn = described["ARN"]
        if secret.logical_id in values:
            wanted = secret_value(template, secret, values)
            current = client.get_secret_value(SecretId=arn).get("SecretString")
            if current != wanted:
                client.put_secret_value(SecretId=arn, SecretString=wanted)
    except ClientError as exc:
        if _error_code(exc) != "ResourceNotFoundException":
            raise
        kwargs: dict[str, Any] = {"Name": secret.name, "SecretString": secret_value(template, secret, values)}
        if secret.kms_key:
            kwargs["KmsKeyId"] = secret.kms_key
        arn = client.create_secret(**kwargs)["ARN"]
        log.info("created secret %s", secret.name)
    return Physical(arn, {"Id": arn, "Name": secret.name})


# ----- SQS --------------------------------------------------------------------------------
def queue_order(queues: Mapping[str, tpl.Queue]) -> list[tpl.Queue]:
    """Dead-letter queues before the queues that redrive into them."""
    ordered: list[tpl.Queue] = []
    seen: set[str] = set()

    def visit(queue: tpl.Queue, path: tuple[str, ...]) -> None:
        if queue.logical_id in seen:
            return
        if queue.logical_id in path:
            raise ValueError(f"redrive cycle through {queue.logical_id}")
        if queue.redrive and queue.redrive.dead_letter_queue in queues:
            visit(queues[queue.redrive.dead_letter_queue], path + (queue.logical_id,))
        seen.add(queue.logical_id)
        ordered.append(queue)

    for queue in queues.values():
        visit(queue, ())
    return ordered


def queue_attributes(queue: tpl.Queue, dlq_arns: Mapping[str, str], visibility_override: int | None) -> dict[str, str]:
    attributes: dict[str, str] = {}
    visibility = visibility_override if visibility_override is not None else queue.visibility_timeout
    if visibility is not None:
        attributes["VisibilityTimeout"] = str(visibility)
    if queue.message_retention is not None:
        attributes["MessageRetentionPeriod"] = str(queue.message_retention)
    if queue.receive_wait is not None:
        attributes["ReceiveMessageWaitTimeSeconds"] = str(queue.receive_wait)
    if queue.kms_key:
        attributes["KmsMasterKeyId"] = queue.kms_key
    if queue.redrive:
        attributes["RedrivePolicy"] = json.dumps(
            {
                "deadLetterTargetArn": dlq_arns[queue.redrive.dead_letter_queue],
                "maxReceiveCount": str(queue.redrive.max_receive_count),
            }
        )
    return attributes


def ensure_queues(sqs: Any, queues: Mapping[str, tpl.Queue], visibility_override: int | None) -> dict[str, Physical]:
    physical: dict[str, Physical] = {}
    arns: dict[str, str] = {}
    for queue in queue_order(queues):
        attributes = queue_attributes(queue, arns, visibility_override)
        try:
            url = sqs.get_queue_url(QueueName=queue.name)["QueueUrl"]
            if attributes:
                sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        except ClientError as exc:
            if _error_code(exc) not in {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}:
                raise
            create_attributes = dict(attributes)
            if queue.fifo:
                create_attributes["FifoQueue"] = "true"
            url = sqs.create_queue(QueueName=queue.name, Attributes=create_attributes)["QueueUrl"]
            log.info("created queue %s", queue.name)
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        arns[queue.logical_id] = arn
        physical[queue.logical_id] = Physical(url, {"Arn": arn, "QueueName": queue.name, "QueueUrl": url})
    return physical


# ----- DynamoDB ---------------------------------------------------------------------------
def _key_schema(keys: tuple[tpl.KeyElement, ...]) -> list[dict[str, str]]:
    return [{"AttributeName": k.name, "KeyType": k.key_type} for k in keys]


def _gsi(index: tpl.Index) -> dict[str, Any]:
    return {"IndexName": index.name, "KeySchema": _key_schema(index.keys), "Projection": index.projection}


def ensure_table(dynamodb: Any, table: tpl.Table) -> None:
    definitions = {k.name: k.attribute_type for k in table.keys}
    for index in table.global_indexes:
        definitions.update({k.name: k.attribute_type for k in index.keys})
    attribute_definitions = [{"AttributeName": n, "AttributeType": t} for n, t in definitions.items()]
    try:
        described = dynamodb.describe_table(TableName=table.name)["Table"]
    except ClientError as exc:
        if _error_code(exc) != "ResourceNotFoundException":
            raise
        kwargs: dict[str, Any] = {
            "TableName": table.name,
            "KeySchema": _key_schema(table.keys),
            "AttributeDefinitions": attribute_definitions,
            "BillingMode": "PAY_PER_REQUEST",
        }
        if table.global_indexes:
            kwargs["GlobalSecondaryIndexes"] = [_gsi(i) for i in table.global_indexes]
        if table.kms_key:
            kwargs["SSESpecification"] = {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": table.kms_key}
        if table.stream_view_type:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream_view_type}
        dynamodb.create_table(**kwargs)
        log.info("created table %s", table.name)
    else:
        present = {i["IndexName"] for i in described.get("GlobalSecondaryIndexes", [])}
        missing = [i for i in table.global_indexes if i.name not in present]
        if missing:
            dynamodb.update_table(
                TableName=table.name,
                AttributeDefinitions=attribute_definitions,
                GlobalSecondaryIndexUpdates=[{"Create": _gsi(i)} for i in missing],
            )
    if table.ttl_attribute:
        ttl = dynamodb.describe_time_to_live(TableName=table.name)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") not in {"ENABLED", "ENABLING"}:
            dynamodb.update_time_to_live(
                TableName=table.name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
            )
    if table.point_in_time_recovery:
        dynamodb.update_continuous_backups(
            TableName=table.name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )


# ----- S3 ---------------------------------------------------------------------------------
def lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """CloudFormation's lifecycle rule shape -> the S3 API's."""
    out: dict[str, Any] = {"Status": str(rule.get("Status", "Enabled"))}
    if "Id" in rule:
        out["ID"] = str(rule["Id"])
    out["Filter"] = {"Prefix": str(rule.get("Prefix", ""))}
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "NoncurrentVersionExpirationInDays" in rule:
        out["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(rule["NoncurrentVersionExpirationInDays"])}
    noncurrent = rule.get("NoncurrentVersionExpiration")
    if isinstance(noncurrent, dict) and "NoncurrentDays" in noncurrent:
        out["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(noncurrent["NoncurrentDays"])}
    abort = rule.get("AbortIncompleteMultipartUpload")
    if isinstance(abort, dict) and "DaysAfterInitiation" in abort:
        out["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": int(abort["DaysAfterInitiation"])}
    return out


def ensure_bucket(s3: Any, bucket: tpl.Bucket) -> None:
    try:
        s3.head_bucket(Bucket=bucket.name)
    except ClientError as exc:
        if _error_code(exc) not in {"404", "NoSuchBucket", "NotFound"}:
            raise
        s3.create_bucket(Bucket=bucket.name, CreateBucketConfiguration={"LocationConstraint": REGION})
        log.info("created bucket %s", bucket.name)
    if bucket.versioning:
        s3.put_bucket_versioning(Bucket=bucket.name, VersioningConfiguration={"Status": "Enabled"})
    if bucket.kms_key:
        s3.put_bucket_encryption(
            Bucket=bucket.name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": bucket.kms_key,
                        },
                        "BucketKeyEnabled": True,
                    }
                ]
            },
        )
    if bucket.block_public_access:
        s3.put_public_access_block(
            Bucket=bucket.name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
    if bucket.lifecycle_rules:
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket.name,
            LifecycleConfiguration={"Rules": [lifecycle_rule(r) for r in bucket.lifecycle_rules]},
        )


# ----- outputs ----------------------------------------------------------------------------
def function_environment(
    model: tpl.StackModel, ports: Ports, iproov: IProovSettings | None = None
) -> dict[str, str]:
    """One environment for every function (variable names are unique across functions).

    iProov is the sandbox, or the tenant of ``LOCAL_IPROOV_BASE_URL`` (iproov_settings.py).
    """
    iproov = IProovSettings() if iproov is None else iproov
    env: dict[str, str] = {}
    for function in model.functions.values():
        for name, value in function.env.items():
            if name in env and env[name] != value:
                log.warning("env %s differs between functions (%r vs %r); keeping the first", name, env[name], value)
                continue
            env.setdefault(name, value)
    env.update(
        {
            "AWS_ENDPOINT_URL": ports.functions_aws_endpoint,
            "AWS_ACCESS_KEY_ID": AWS_ENV["AWS_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": AWS_ENV["AWS_SECRET_ACCESS_KEY"],
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "IPROOV_BASE_URL": ports.iproov_base_url if iproov.tenant is None else iproov.tenant.base_url,
            "APP_ENV": "local",
            # Seconds a function keeps a secret before reading it again (300 in the template):
            # short locally, so a rotated or unreachable secret shows within a test's patience.
            "SECRETS_CACHE_TTL_SECONDS": os.environ.get("LOCAL_SECRETS_CACHE_TTL_SECONDS", "5"),
            "RUST_LOG": os.environ.get("FUNCTIONS_RUST_LOG", "info"),
            # Webhooks to the local receiver on 127.0.0.1 over http: the one place that allows
            # private targets (the dispatcher refuses it unless APP_ENV is local; docs/webhooks.md).
            "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
        }
    )
    if iproov.tenant is not None:
        # Empty: the client derives it from IPROOV_BASE_URL, as in a deployment without the parameter.
        env["IPROOV_SDK_BASE_URL"] = iproov.tenant.sdk_base_url_setting or ""
    # The template's level (AWS_LAMBDA_LOG_LEVEL) wins over RUST_LOG in the functions, as on
    # Lambda; a developer who sets FUNCTIONS_RUST_LOG (a default level and target=level pairs) means it to apply.
    if "FUNCTIONS_RUST_LOG" in os.environ:
        env.pop("AWS_LAMBDA_LOG_LEVEL", None)
    return env


def render_env_file(env: Mapping[str, str]) -> str:
    """KEY=VALUE lines in the syntax cargo-lambda's reader (env-file-reader) accepts.

    Unquoted values may not hold whitespace, quotes, ``#`` or ``=``; those (and empty values)
    are double-quoted, where the reader turns ``\\"`` back into ``"`` and ``\\n`` into a newline.
    """
    lines = ["# generated by infra/local/provision.py from template.yaml; do not edit"]
    for name in sorted(env):
        value = env[name]
        if value == "" or any(c in value for c in " \t\r\n#='\"`"):
            value = '"' + value.replace('"', '\\"').replace("\n", "\\n") + '"'
        lines.append(f"{name}={value}")
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


# ----- main -------------------------------------------------------------------------------
def provision(
    template_path: Path, ports: Ports, overrides: Mapping[str, str], iproov: IProovSettings | None = None
) -> tpl.StackModel:
    """Create everything; returns the model resolved against what moto actually holds.

    ``iproov``: your own tenant and its credentials (default: the sandbox, as today)."""
    from cfn_yaml import load

    secret_values = local_secret_values(IProovSettings() if iproov is None else iproov)

    template = load(template_path)
    model = tpl.build_model(template, ports=ports, overrides=overrides)
    kms, sqs = aws_client("kms", ports), aws_client("sqs", ports)
    dynamodb, s3 = aws_client("dynamodb", ports), aws_client("s3", ports)
    secretsmanager = aws_client("secretsmanager", ports)

    physical: dict[str, Physical] = {}
    for key in model.keys.values():
        physical[key.logical_id] = ensure_key(kms, key)
    # Everything below may name a key (SSE settings), so resolve again with the real key ids.
    model = tpl.build_model(template, ports=ports, overrides=overrides, physical=physical)

    for secret in model.secrets.values():
        physical[secret.logical_id] = ensure_secret(secretsmanager, template, secret, secret_values)
    raw_visibility = os.environ.get("LOCAL_VISIBILITY_TIMEOUT", "").strip()
    visibility = int(raw_visibility) if raw_visibility else None
    physical.update(ensure_queues(sqs, model.queues, visibility))
    for table in model.tables.values():
        ensure_table(dynamodb, table)
    for bucket in model.buckets.values():
        ensure_bucket(s3, bucket)

    model = tpl.build_model(template, ports=ports, overrides=overrides, physical=physical)
    for logical_id, kind in sorted(model.ignored.items()):
        log.debug("not provisioned locally: %s (%s)", logical_id, kind)
    return model


def write_outputs(
    model: tpl.StackModel, ports: Ports, template_path: Path, iproov: IProovSettings | None = None
) -> None:
    iproov = IProovSettings() if iproov is None else iproov
    _write(FUNCTIONS_ENV_FILE, render_env_file(function_environment(model, ports, iproov)))
    stack = model.to_json() | {
        "stack_name": STACK_NAME,
        "template": str(template_path),
        "endpoints": {
            "api": ports.api_url,
            "aws": ports.aws_endpoint,
            "aws_faults": ports.functions_aws_endpoint,
            "iproov": ports.iproov_base_url if iproov.tenant is None else iproov.tenant.base_url,
            "sandbox": ports.sandbox_url,
            "lambda": ports.lambda_url,
        },
    }
    _write(STACK_FILE, json.dumps(stack, indent=2, sort_keys=True, default=str) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", type=Path, default=TEMPLATE_FILE)
    parser.add_argument(
        "--parameter-overrides",
        default=os.environ.get("LOCAL_PARAMETER_OVERRIDES", ""),
        help="Key=Value pairs separated by spaces (also LOCAL_PARAMETER_OVERRIDES)",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="provision: %(message)s")
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    ports = Ports.from_env()
    try:
        iproov = IProovSettings.from_env()
        model = provision(args.template, ports, tpl.parse_overrides(args.parameter_overrides), iproov)
    except SettingsError as exc:
        log.error("%s", exc)
        return 1
    write_outputs(model, ports, args.template, iproov)
    log.info(
        "%d tables, %d queues, %d buckets, %d keys, %d secrets; %d routes, %d SQS mappings",
        len(model.tables), len(model.queues), len(model.buckets), len(model.keys), len(model.secrets),
        len(model.routes), len(model.sqs_mappings),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
