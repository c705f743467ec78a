"""The foundation, end to end: gateway + cargo-lambda + real binaries + moto, as `make dev` runs it.

These prove the local stack itself (issue 2, "What it must show"): health served by the real
function through the gateway, JSON errors for unknown routes and methods, a gateway that
survives malformed requests, resources created from the template, and SQS partial-batch
failure semantics with redrive to the DLQ.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from conftest import PORTS, REPO_ROOT, Logs, assert_error_shape
from settings import SANDBOX_CREDENTIALS


def test_health_is_served_by_the_real_binary(api: str, logs: Logs) -> None:
    response = requests.get(f"{api}/v1/health", timeout=30)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    request_id = response.headers["apigw-requestid"]
    assert request_id
    line = logs.wait_for("gateway", lambda r: r.get("request_id") == request_id)
    assert line["route_key"] == "GET /v1/health" and line["status"] == 200 and line["function"] == "health"
    # cargo-lambda ran the workspace's health binary (not a stand-in).
    assert "target/debug/health" in logs.text("functions")


def test_request_ids_are_unique(api: str) -> None:
    ids = {requests.get(f"{api}/v1/health", timeout=30).headers["apigw-requestid"] for _ in range(5)}
    assert len(ids) == 5


def test_unknown_route_is_a_json_404(api: str) -> None:
    assert_error_shape(requests.get(f"{api}/v1/no-such-route", timeout=10), 404, "not_found")
    assert_error_shape(requests.post(f"{api}/v1/health/extra", json={}, timeout=10), 404, "not_found")


def test_wrong_method_is_a_json_405(api: str) -> None:
    response = requests.put(f"{api}/v1/health", timeout=10)
    assert_error_shape(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


def send_raw(raw: bytes) -> bytes:
    """Send bytes as they are and read the answer until the gateway closes (b"" if it reset)."""
    chunks: list[bytes] = []
    with socket.create_connection(("127.0.0.1", PORTS.api), timeout=10) as conn:
        conn.sendall(raw)
        try:
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the gateway answered and closed first (a malformed request needs no more bytes)
        try:
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, TimeoutError):
            pass
    return b"".join(chunks)


def test_oversized_body_is_a_json_413(api: str) -> None:
    answer = send_raw(b"POST /v1/users/registration HTTP/1.1\r\nHost: x\r\nContent-Length: 20000000\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 413")
    assert b'"payload_too_large"' in answer


MALFORMED = [
    b"\r\n\r\n",
    b"GARBAGE\r\n\r\n",
    b"GET /v1/health HTTP/7.0\r\n\r\n",
    b"GET /v1/health\r\n\r\n",
    b"POST /v1/users HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
    b"POST /v1/users HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    b"POST /v1/users HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nnot-hex\r\n",
    b"GET /v1/health HTTP/1.1\r\n" + b"X-Filler: y\r\n" * 500 + b"\r\n",
    b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\n\r\n",
    bytes(range(256)) * 4,
    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",  # a TLS ClientHello on the plain port
]


def test_malformed_requests_do_not_crash_the_gateway(api: str) -> None:
    for raw in MALFORMED:
        answer = send_raw(raw)
        if answer:
            assert answer[:10] in {b"HTTP/1.1 4", b"HTTP/1.1 5"}, (raw[:40], answer[:80])
    # A client that sends half a request and goes quiet must not block anyone else.
    with socket.create_connection(("127.0.0.1", PORTS.api), timeout=10) as stalled:
        stalled.sendall(b"POST /v1/users HTTP/1.1\r\nContent-Length: 100\r\n\r\npartial")
        response = requests.get(f"{api}/v1/health", timeout=30)
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_cors_preflight_follows_the_template(api: str, stack: dict[str, Any]) -> None:
    cors = stack["cors"]
    assert cors is not None, "template.yaml has no CorsConfiguration"
    origin = f"http://127.0.0.1:{PORTS.api}"
    assert origin in cors["allow_origins"]
    ok = requests.options(
        f"{api}/v1/users/registration",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == origin
    denied = requests.options(
        f"{api}/v1/users/registration",
        headers={"Origin": "https://attacker.example", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert "access-control-allow-origin" not in denied.headers


def test_resources_in_moto_match_the_template(stack: dict[str, Any], aws: Callable[[str], Any]) -> None:
    import template as tpl

    # The stack summary is the template, parsed afresh: nothing hand-kept drifted from it.
    model = tpl.load_model(REPO_ROOT / "template.yaml", ports=PORTS)
    assert {t.name for t in model.tables.values()} == {t["name"] for t in stack["tables"].values()}
    assert {q.name for q in model.queues.values()} == {q["name"] for q in stack["queues"].values()}
    assert {b.name for b in model.buckets.values()} == {b["name"] for b in stack["buckets"].values()}
    assert set(model.secrets) == set(stack["secrets"]) and set(model.keys) == set(stack["keys"])

    dynamodb = aws("dynamodb")
    existing_tables = set(dynamodb.list_tables()["TableNames"])
    for table in stack["tables"].values():
        assert table["name"] in existing_tables
        described = dynamodb.describe_table(TableName=table["name"])["Table"]
        assert [k["AttributeName"] for k in described["KeySchema"]] == [k["name"] for k in table["keys"]]
        assert {g["IndexName"] for g in described.get("GlobalSecondaryIndexes", [])} == {
            g["name"] for g in table["global_indexes"]
        }
        if table["ttl_attribute"]:
            ttl = dynamodb.describe_time_to_live(TableName=table["name"])["TimeToLiveDescription"]
            assert ttl["TimeToLiveStatus"] == "ENABLED" and ttl["AttributeName"] == table["ttl_attribute"]

    sqs = aws("sqs")
    for queue in stack["queues"].values():
        attributes = sqs.get_queue_attributes(QueueUrl=queue["url"], AttributeNames=["All"])["Attributes"]
        assert attributes["QueueArn"] == queue["arn"]
        if queue["redrive"]:
            redrive = json.loads(attributes["RedrivePolicy"])
            assert redrive["deadLetterTargetArn"] == stack["queues"][queue["redrive"]["dead_letter_queue"]]["arn"]
            assert int(redrive["maxReceiveCount"]) == queue["redrive"]["max_receive_count"] >= 5
    for mapping in stack["sqs_mappings"]:
        assert stack["queues"][mapping["queue"]]["redrive"], f"{mapping['queue']} feeds a function without a DLQ"

    s3 = aws("s3")
    for bucket in stack["buckets"].values():
        s3.head_bucket(Bucket=bucket["name"])
        if bucket["versioning"]:
            assert s3.get_bucket_versioning(Bucket=bucket["name"])["Status"] == "Enabled"
        if bucket["kms_key"]:
            rules = s3.get_bucket_encryption(Bucket=bucket["name"])["ServerSideEncryptionConfiguration"]["Rules"]
            assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"

    kms = aws("kms")
    for logical_id in stack["keys"]:
        key_id = stack["physical"][logical_id]["ref"]
        assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Enabled"] is True

    secrets = aws("secretsmanager")
    for logical_id, secret in stack["secrets"].items():
        value = json.loads(secrets.get_secret_value(SecretId=secret["name"])["SecretString"])
        if logical_id == "IProovSecret":
            assert value == SANDBOX_CREDENTIALS
        if logical_id == "AppKeysSecret":
            assert len(value["pseudonym_key"]) >= 32


def _batch_lines(logs: Logs, ids: set[str]) -> list[dict[str, Any]]:
    return [
        r for r in logs.json_lines("sqs")
        if r.get("event") == "batch" and ids & (set(r.get("deleted", [])) | set(r.get("failed", [])))
    ]


# Exclusive (tests/e2e/conftest.py): it shortens the registration queue's visibility timeout and expects the queue empty at the end.
@pytest.mark.exclusive
def test_sqs_partial_batch_failure_sends_only_the_poison_message_to_the_dlq(
    stack: dict[str, Any], aws: Callable[[str], Any], logs: Logs
) -> None:
    """Two well-formed messages for unknown registrations are consumed once (and dropped by the
    scan validator); the malformed one is reported in batchItemFailures, comes back after the
    visibility timeout, and lands in the DLQ after maxReceiveCount receives. Nothing is lost."""
    mapping = next(m for m in stack["sqs_mappings"] if m["binary"] == "scan-validator")
    assert mapping["report_batch_item_failures"]
    queue = stack["queues"][mapping["queue"]]
    dlq = stack["queues"][queue["redrive"]["dead_letter_queue"]]
    max_receives = queue["redrive"]["max_receive_count"]
    sqs = aws("sqs")

    original = sqs.get_queue_attributes(QueueUrl=queue["url"], AttributeNames=["VisibilityTimeout"])["Attributes"]
    sqs.set_queue_attributes(QueueUrl=queue["url"], Attributes={"VisibilityTimeout": "2"})  # fast retries
    try:
        tag = uuid.uuid4().hex
        poison_body = f"not json at all {tag}"
        sent = sqs.send_message_batch(
            QueueUrl=queue["url"],
            Entries=[
                {"Id": "good1", "MessageBody": json.dumps({"registration_id": f"e2e-missing-{tag}-1", "attempt": 1})},
                {"Id": "poison", "MessageBody": poison_body},
                {"Id": "good2", "MessageBody": json.dumps({"registration_id": f"e2e-missing-{tag}-2", "attempt": 1})},
            ],
        )
        assert not sent.get("Failed")
        ids = {entry["Id"]: entry["MessageId"] for entry in sent["Successful"]}

        dead: list[dict[str, Any]] = []
        deadline = time.monotonic() + 180  # the validator backs off up to ~60 s in total
        while time.monotonic() < deadline:
            messages = sqs.receive_message(QueueUrl=dlq["url"], MaxNumberOfMessages=10, WaitTimeSeconds=2,
                                           VisibilityTimeout=5).get("Messages", [])
            dead = [m for m in messages if tag in m["Body"]]
            if dead:
                break
        assert [m["Body"] for m in dead] == [poison_body], "the poison message did not reach the DLQ"
        for message in dead:
            sqs.delete_message(QueueUrl=dlq["url"], ReceiptHandle=message["ReceiptHandle"])
    finally:
        sqs.set_queue_attributes(QueueUrl=queue["url"], Attributes=original)

    lines = _batch_lines(logs, set(ids.values()))
    deleted = [i for r in lines for i in r["deleted"]]
    failed = [i for r in lines for i in r["failed"]]
    for good in ("good1", "good2"):
        assert deleted.count(ids[good]) == 1, f"{good} was not deleted exactly once"
        assert ids[good] not in failed
    assert ids["poison"] not in deleted
    assert failed.count(ids["poison"]) == max_receives, "the poison message was not retried maxReceiveCount times"
    assert any(r["outcome"] == "partial" for r in lines), "the first batch was not reported partially"

    attributes = sqs.get_queue_attributes(
        QueueUrl=queue["url"], AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert attributes == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
