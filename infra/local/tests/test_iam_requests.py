"""From a request on the wire to IAM checks: DynamoDB items and indexes, S3 actions, SSE-KMS."""

from __future__ import annotations

import json

import pytest

from iam_requests import Unmodelled, checks_for, event_source_checks
from iam_stack import IamStack

KEY = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
QUEUE = "arn:aws:sqs:eu-west-1:123456789012:work"


@pytest.fixture
def stack() -> IamStack:
    return IamStack(
        key_ids={"alias/data": KEY, KEY: KEY},
        bucket_keys={"images": (KEY, True), "plain": (KEY, False)},
        queue_keys={QUEUE: KEY},
        secrets={"app-keys": ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:app-keys-AbC123", KEY)},
        partition_keys={"users": "pk"},
    )


def pairs(checks) -> list[tuple[str, str]]:
    return [(c.action, c.resource) for c in checks]


def ddb(operation: str, body: dict, stack: IamStack):
    return checks_for("dynamodb", "POST", f"DynamoDB_20120810.{operation}", "/", {}, json.dumps(body).encode(), stack)


TABLE = "arn:aws:dynamodb:eu-west-1:123456789012:table/"


def test_a_transaction_is_checked_item_by_item_on_each_items_table(stack: IamStack):
    # GIVEN a transaction with a put, an update, a delete and a condition check on two tables
    body = {"TransactItems": [
        {"Put": {"TableName": "users", "Item": {"pk": {"S": "user#1"}}}},
        {"Update": {"TableName": "regs", "Key": {"pk": {"S": "r"}}}},
        {"Delete": {"TableName": "users", "Key": {"pk": {"S": "name#x"}}}},
        {"ConditionCheck": {"TableName": "regs", "Key": {"pk": {"S": "r"}}}},
    ]}
    # WHEN it is mapped THEN each item is its own action on its own table, with its partition key
    checks = ddb("TransactWriteItems", body, stack)
    assert pairs(checks) == [("dynamodb:PutItem", TABLE + "users"), ("dynamodb:UpdateItem", TABLE + "regs"),
                             ("dynamodb:DeleteItem", TABLE + "users"), ("dynamodb:ConditionCheckItem", TABLE + "regs")]
    assert checks[0].context["dynamodb:leadingkeys"] == ("user#1",)
    assert all(c.via == "dynamodb:TransactWriteItems" for c in checks)


def test_transact_get_items_are_get_items(stack: IamStack):
    checks = ddb("TransactGetItems", {"TransactItems": [{"Get": {"TableName": "users", "Key": {"pk": {"S": "a"}}}}]},
                 stack)
    assert pairs(checks) == [("dynamodb:GetItem", TABLE + "users")]


def test_a_query_on_an_index_names_the_index_arn(stack: IamStack):
    # GIVEN a Query on the by_user index WHEN mapped THEN the resource is the index's ARN
    checks = ddb("Query", {"TableName": "sessions", "IndexName": "by_user"}, stack)
    assert pairs(checks) == [("dynamodb:Query", TABLE + "sessions/index/by_user")]


def test_batch_write_is_authorised_by_the_batch_action_per_table(stack: IamStack):
    checks = ddb("BatchWriteItem", {"RequestItems": {"users": [], "regs": []}}, stack)
    assert pairs(checks) == [("dynamodb:BatchWriteItem", TABLE + "users"), ("dynamodb:BatchWriteItem", TABLE + "regs")]


def s3(method: str, path: str, stack: IamStack, headers: dict | None = None, body: bytes = b""):
    return pairs(checks_for("s3", method, "", path, headers or {}, body, stack))


@pytest.mark.parametrize(("method", "path", "expected"), [
    ("GET", "/plain/a/b.jpg", "s3:GetObject"),
    ("HEAD", "/plain/a/b.jpg", "s3:GetObject"),
    ("GET", "/plain/a/b.jpg?versionId=v1", "s3:GetObjectVersion"),
    ("DELETE", "/plain/a/b.jpg", "s3:DeleteObject"),
    ("DELETE", "/plain/a/b.jpg?versionId=v1", "s3:DeleteObjectVersion"),
    ("GET", "/plain/a/b.jpg?tagging", "s3:GetObjectTagging"),
    ("DELETE", "/plain/a/b.jpg?uploadId=u", "s3:AbortMultipartUpload"),
])
def test_s3_object_actions(stack: IamStack, method: str, path: str, expected: str):
    # GIVEN an object request WHEN mapped THEN the first check is the action IAM knows it by
    assert s3(method, path, stack)[0] == (expected, "arn:aws:s3:::" + path.lstrip("/").split("?")[0])


@pytest.mark.parametrize(("path", "expected"), [
    ("/plain?versions&prefix=faces%2F", "s3:ListBucketVersions"),
    ("/plain?list-type=2&prefix=a", "s3:ListBucket"),
    ("/plain", "s3:ListBucket"),
    ("/plain?location", "s3:GetBucketLocation"),
])
def test_s3_bucket_actions(stack: IamStack, path: str, expected: str):
    assert s3("GET", path, stack) == [(expected, "arn:aws:s3:::plain")]


def test_list_versions_carries_its_prefix_for_conditions(stack: IamStack):
    checks = checks_for("s3", "GET", "", "/plain?versions&prefix=faces%2Fu1", {}, b"", stack)
    assert checks[0].context["s3:prefix"] == ("faces/u1",)


def test_delete_objects_is_checked_per_key_and_version(stack: IamStack):
    # GIVEN a multi-object delete of one key and one key version
    body = (b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a</Key></Object>'
            b"<Object><Key>b</Key><VersionId>v2</VersionId></Object></Delete>")
    # THEN it is DeleteObject on the first and DeleteObjectVersion on the second
    assert s3("POST", "/plain?delete", stack, body=body) == [
        ("s3:DeleteObject", "arn:aws:s3:::plain/a"), ("s3:DeleteObjectVersion", "arn:aws:s3:::plain/b")]


def test_a_put_into_an_sse_kms_bucket_needs_generate_data_key_via_s3(stack: IamStack):
    # GIVEN a bucket with SSE-KMS default encryption and an S3 Bucket Key
    headers = {"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": "alias/data"}
    # WHEN an object is put THEN S3 also asks KMS for a data key, with the caller's permissions
    checks = checks_for("s3", "PUT", "", "/images/faces/1", headers, b"x", stack)
    assert pairs(checks) == [("s3:PutObject", "arn:aws:s3:::images/faces/1"), ("kms:GenerateDataKey", KEY)]
    kms = checks[1]
    assert kms.context["kms:viaservice"] == ("s3.eu-west-1.amazonaws.com",)
    # AND with a Bucket Key the encryption context is the bucket's ARN
    assert kms.context["kms:encryptioncontext:aws:s3:arn"] == ("arn:aws:s3:::images",)
    assert checks[0].context["s3:x-amz-server-side-encryption"] == ("aws:kms",)


def test_without_a_bucket_key_the_context_is_the_object_and_a_get_needs_decrypt(stack: IamStack):
    put = checks_for("s3", "PUT", "", "/plain/o", {}, b"x", stack)
    assert put[1].context["kms:encryptioncontext:aws:s3:arn"] == ("arn:aws:s3:::plain/o",)
    assert pairs(checks_for("s3", "GET", "", "/plain/o", {}, b"", stack))[1] == ("kms:Decrypt", KEY)


def test_sending_to_an_encrypted_queue_needs_the_key_via_sqs(stack: IamStack):
    # GIVEN an SSE-KMS queue WHEN a message is sent (JSON protocol)
    body = json.dumps({"QueueUrl": "http://127.0.0.1:4566/123456789012/work", "MessageBody": "x"}).encode()
    checks = checks_for("sqs", "POST", "AmazonSQS.SendMessageBatch", "/", {}, body, stack)
    # THEN the batch is sqs:SendMessage on the queue, plus GenerateDataKey and Decrypt via SQS
    assert pairs(checks) == [("sqs:SendMessage", QUEUE), ("kms:GenerateDataKey", KEY), ("kms:Decrypt", KEY)]
    assert checks[1].context["kms:viaservice"] == ("sqs.eu-west-1.amazonaws.com",)


def test_the_sqs_query_protocol_is_read_from_the_form(stack: IamStack):
    body = b"Action=DeleteMessage&QueueUrl=http%3A%2F%2F127.0.0.1%3A4566%2F123456789012%2Fwork&ReceiptHandle=r"
    assert pairs(checks_for("sqs", "POST", "", "/", {}, body, stack))[0] == ("sqs:DeleteMessage", QUEUE)


def test_an_event_source_mapping_needs_receive_delete_attributes_and_decrypt(stack: IamStack):
    assert pairs(event_source_checks(QUEUE, stack)) == [
        ("sqs:ReceiveMessage", QUEUE), ("sqs:DeleteMessage", QUEUE), ("sqs:GetQueueAttributes", QUEUE),
        ("kms:Decrypt", KEY)]


def test_get_secret_value_resolves_the_name_and_decrypts_via_secrets_manager(stack: IamStack):
    # GIVEN a secret asked for by name WHEN mapped THEN the resource is its full ARN, plus Decrypt
    checks = checks_for("secretsmanager", "POST", "secretsmanager.GetSecretValue", "/", {},
                        b'{"SecretId": "app-keys"}', stack)
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app-keys-AbC123"
    assert pairs(checks) == [("secretsmanager:GetSecretValue", arn), ("kms:Decrypt", KEY)]
    assert checks[1].context["kms:encryptioncontext:SecretARN"] == (arn,)


def test_kms_calls_resolve_aliases_and_carry_their_encryption_context(stack: IamStack):
    body = json.dumps({"KeyId": "alias/data", "EncryptionContext": {"purpose": "personal-fields"}}).encode()
    (check,) = checks_for("kms", "POST", "TrentService.GenerateDataKey", "/", {}, body, stack)
    assert (check.action, check.resource) == ("kms:GenerateDataKey", KEY)
    assert check.context["kms:encryptioncontext:purpose"] == ("personal-fields",)
    assert check.context["kms:encryptioncontextkeys"] == ("purpose",)


def test_a_kms_sign_carries_its_signing_algorithm_and_message_type(stack: IamStack):
    # GIVEN a role whose kms:Sign is pinned to ECDSA_SHA_256 (the OpenID Connect token signer)
    body = json.dumps({"KeyId": KEY, "SigningAlgorithm": "ECDSA_SHA_256", "MessageType": "RAW",
                       "Message": "aGVhZGVyLmNsYWltcw=="}).encode()
    # WHEN it signs, THEN the check carries what such a condition needs
    (check,) = checks_for("kms", "POST", "TrentService.Sign", "/", {}, body, stack)
    assert check.action == "kms:Sign"
    assert check.context["kms:signingalgorithm"] == ("ECDSA_SHA_256",)
    assert check.context["kms:messagetype"] == ("RAW",)


def test_an_unknown_s3_subresource_is_unmodelled_not_allowed(stack: IamStack):
    with pytest.raises(Unmodelled):
        checks_for("s3", "PUT", "", "/plain?intelligent-tiering", {}, b"", stack)
