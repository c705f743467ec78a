"""SQS events have Lambda's shape; only succeeded messages are deleted; poison ends in the DLQ."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import sqs_events
import template as tpl
from conftest import serve_in_thread
from provision import aws_client
from settings import Ports

MESSAGE = {
    "MessageId": "m-1",
    "ReceiptHandle": "rh-1",
    "MD5OfBody": "5d41402abc4b2a76b9719d911017c592",
    "Body": "hello",
    "Attributes": {
        "ApproximateReceiveCount": "2",
        "SentTimestamp": "1700000000000",
        "SenderId": "AIDAEXAMPLE",
        "ApproximateFirstReceiveTimestamp": "1700000000100",
    },
    "MD5OfMessageAttributes": "abc",
    "MessageAttributes": {
        "kind": {"StringValue": "registration", "DataType": "String"},
        "blob": {"BinaryValue": b"\x00\x01", "DataType": "Binary"},
    },
}


def test_record_shape_matches_lambda() -> None:
    arn = "arn:aws:sqs:eu-west-1:123456789012:q"
    event = sqs_events.build_event([MESSAGE], arn)
    (record,) = event["Records"]
    assert record == {
        "messageId": "m-1",
        "receiptHandle": "rh-1",
        "body": "hello",
        "attributes": MESSAGE["Attributes"],
        "messageAttributes": {
            "kind": {"stringValue": "registration", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
            "blob": {"binaryValue": "AAE=", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"},
        },
        "md5OfBody": "5d41402abc4b2a76b9719d911017c592",
        "md5OfMessageAttributes": "abc",
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": "eu-west-1",
    }
    json.dumps(event)


IDS = ["a", "b", "c"]


@pytest.mark.parametrize(
    ("result", "report", "deleted", "outcome"),
    [
        (None, True, {"a", "b", "c"}, "ok"),
        ({}, True, {"a", "b", "c"}, "ok"),
        ({"batchItemFailures": []}, True, {"a", "b", "c"}, "ok"),
        ({"batchItemFailures": None}, True, {"a", "b", "c"}, "ok"),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, True, {"a", "c"}, "partial"),
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, True, set(), "invalid_item_identifier"),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, True, set(), "invalid_item_identifier"),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, True, set(), "invalid_item_identifier"),
        ({"batchItemFailures": [{"wrong": "b"}]}, True, set(), "invalid_item_identifier"),
        ("not an object", True, set(), "invalid_response"),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, False, {"a", "b", "c"}, "ok"),
    ],
)
def test_which_messages_are_deleted(result: Any, report: bool, deleted: set[str], outcome: str) -> None:
    assert sqs_events.succeeded_ids(IDS, result, report) == (deleted, outcome)


# ----- against moto, with a fake function --------------------------------------------------
INVOCATIONS: list[list[str]] = []


class PoisonRejectingLambda(BaseHTTPRequestHandler):
    """Reports every message whose body is not JSON as a batch item failure."""

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        event = json.loads(self.rfile.read(int(self.headers["content-length"])))
        INVOCATIONS.append([r["messageId"] for r in event["Records"]])
        failures = []
        for record in event["Records"]:
            try:
                json.loads(record["body"])
            except ValueError:
                failures.append({"itemIdentifier": record["messageId"]})
        body = json.dumps({"batchItemFailures": failures}).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def fake_lambda() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), PoisonRejectingLambda)
    server.daemon_threads = True
    serve_in_thread(server)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_partial_batch_failure_redrives_poison_to_dlq(moto_ports: Ports, fake_lambda: str) -> None:
    sqs = aws_client("sqs", moto_ports)
    dlq_url = sqs.create_queue(QueueName="unit-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName="unit-q",
        Attributes={
            "VisibilityTimeout": "1",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sent = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "1", "MessageBody": '{"ok": 1}'},
            {"Id": "2", "MessageBody": "poison{"},
            {"Id": "3", "MessageBody": '{"ok": 3}'},
        ],
    )["Successful"]
    ids = {entry["Id"]: entry["MessageId"] for entry in sent}

    mapping = tpl.SqsMapping("Fn", "fn", "Q", url, arn, 10, 0, True, 1, True)
    function = tpl.Function("Fn", "fn", "fn", 3, 128, {})
    settings = sqs_events.PollerSettings(lambda_url=fake_lambda, aws_endpoint=moto_ports.aws_endpoint, wait_seconds=1)
    stop = threading.Event()
    INVOCATIONS.clear()
    poller = sqs_events.MappingPoller(mapping, function, "unit-q", settings, stop, set(), 0)
    poller.start()
    try:
        deadline = time.monotonic() + 30
        in_dlq: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not in_dlq:
            in_dlq = sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1).get("Messages", [])
    finally:
        stop.set()
        poller.join(timeout=5)

    assert [m["Body"] for m in in_dlq] == ["poison{"]
    seen = [message_id for batch in INVOCATIONS for message_id in batch]
    assert seen.count(ids["1"]) == 1 and seen.count(ids["3"]) == 1  # deleted after one delivery
    assert seen.count(ids["2"]) == 3  # maxReceiveCount deliveries, then the DLQ
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


# ----- duplicate deliveries on request (DuplicateControl) -----------------------------------
def test_no_file_means_no_duplicates(tmp_path) -> None:
    control = sqs_events.DuplicateControl(tmp_path / "absent.json")
    assert not control.should_duplicate("q")


def test_duplicates_only_for_the_named_queue_and_until_the_deadline(tmp_path) -> None:
    path = tmp_path / "dup.json"
    path.write_text(json.dumps({"queues": {"q": {"probability": 1.0, "until": 1000}}}))
    control = sqs_events.DuplicateControl(path)
    assert control.should_duplicate("q", now=999)
    assert not control.should_duplicate("q", now=1000)
    assert not control.should_duplicate("other", now=10)


def test_probability_is_honoured_and_a_rewrite_is_picked_up(tmp_path) -> None:
    import os
    import random

    path = tmp_path / "dup.json"
    path.write_text(json.dumps({"queues": {"q": {"probability": 0.0, "until": 2e9}}}))
    control = sqs_events.DuplicateControl(path, rng=random.Random(1))
    assert not any(control.should_duplicate("q", now=1) for _ in range(50))
    path.write_text(json.dumps({"queues": {"q": {"probability": 1.0, "until": 2e9}}}))
    os.utime(path, (time.time() + 5, time.time() + 5))  # a new mtime even on coarse clocks
    assert all(control.should_duplicate("q", now=1) for _ in range(5))


def test_garbage_file_means_no_duplicates(tmp_path) -> None:
    path = tmp_path / "dup.json"
    path.write_text("{not json")
    assert not sqs_events.DuplicateControl(path).should_duplicate("q", now=1)


def test_a_duplicated_batch_reaches_the_function_twice_and_is_deleted_once(
    moto_ports: Ports, fake_lambda: str, tmp_path
) -> None:
    sqs = aws_client("sqs", moto_ports)
    url = sqs.create_queue(QueueName="unit-dup-q", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    message_id = sqs.send_message(QueueUrl=url, MessageBody='{"ok": 1}')["MessageId"]
    control_file = tmp_path / "dup.json"
    control_file.write_text(json.dumps({"queues": {"unit-dup-q": {"probability": 1.0, "until": time.time() + 60}}}))

    mapping = tpl.SqsMapping("Fn", "fn", "Q", url, arn, 10, 0, True, 1, True)
    function = tpl.Function("Fn", "fn", "fn", 3, 128, {})
    settings = sqs_events.PollerSettings(lambda_url=fake_lambda, aws_endpoint=moto_ports.aws_endpoint, wait_seconds=1)
    stop = threading.Event()
    INVOCATIONS.clear()
    poller = sqs_events.MappingPoller(mapping, function, "unit-dup-q", settings, stop, set(), 0,
                                      sqs_events.DuplicateControl(control_file))
    poller.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(INVOCATIONS) < 2:
            time.sleep(0.1)
        control_file.unlink()
        time.sleep(1.5)
    finally:
        stop.set()
        poller.join(timeout=5)

    assert INVOCATIONS == [[message_id], [message_id]]  # two copies, and no third delivery
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
