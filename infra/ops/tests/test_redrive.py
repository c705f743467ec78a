"""infra/ops/redrive.py against in-process moto (`moto.mock_aws`): no server, no network.

Messages reach the DLQ the way they do in production: received `maxReceiveCount` times from
the work queue without being deleted, after which SQS (moto) moves them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redrive  # noqa: E402

REGION = "eu-west-1"


@pytest.fixture()
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield boto3.client("sqs", region_name=REGION)


def make_pair(sqs: Any, name: str, fifo: bool = False) -> tuple[str, str]:
    """A work queue redriving to its DLQ after one receive; returns (queue URL, DLQ URL)."""
    suffix = ".fifo" if fifo else ""
    extra = {"FifoQueue": "true"} if fifo else {}
    dlq = sqs.create_queue(QueueName=f"{name}-dlq{suffix}", Attributes=extra)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    queue = sqs.create_queue(
        QueueName=f"{name}{suffix}", Attributes={**extra, "RedrivePolicy": policy, "VisibilityTimeout": "30"}
    )["QueueUrl"]
    return queue, dlq


def fail_into_dlq(sqs: Any, queue: str, bodies: list[str], fifo: bool = False) -> None:
    """Sends `bodies` and lets each fail once, so moto moves them to the DLQ."""
    for i, body in enumerate(bodies):
        extra = {"MessageGroupId": "g", "MessageDeduplicationId": f"d{i}"} if fifo else {}
        sqs.send_message(
            QueueUrl=queue,
            MessageBody=body,
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "scan"}},
            **extra,
        )
    # First receive counts as the one allowed delivery; it becomes visible again at once.
    for _ in range(len(bodies)):
        sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=0)
    # The next receive finds them over maxReceiveCount and moves them to the DLQ.
    sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=0)


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not got:
            return out
        out.extend(got)


def visible(sqs: Any, url: str) -> int:
    return redrive.counts(sqs, url)[0]


def bodies(n: int) -> list[str]:
    return [json.dumps({"registration_id": f"{i:032x}", "attempt": 1}) for i in range(n)]


def test_messages_go_back_to_their_source_with_attributes(sqs: Any, capsys: pytest.CaptureFixture[str]) -> None:
    queue, dlq = make_pair(sqs, "registration")
    fail_into_dlq(sqs, queue, bodies(13))
    assert visible(sqs, dlq) == 13 and visible(sqs, queue) == 0

    assert redrive.main(["--dlq-url", dlq], session=boto3.session.Session(region_name=REGION)) == 0

    assert visible(sqs, dlq) == 0
    back = drain(sqs, queue)
    assert sorted(m["Body"] for m in back) == sorted(bodies(13))
    assert all(m["MessageAttributes"]["kind"]["StringValue"] == "scan" for m in back)
    out = capsys.readouterr().out
    assert "moved 13; not moved 0" in out
    assert "registration_id" not in out, "bodies are never printed"


def test_dry_run_changes_nothing(sqs: Any, capsys: pytest.CaptureFixture[str]) -> None:
    queue, dlq = make_pair(sqs, "erasure")
    fail_into_dlq(sqs, queue, bodies(3))
    assert redrive.main(["--dlq-url", dlq, "--dry-run"], session=boto3.session.Session(region_name=REGION)) == 0
    assert visible(sqs, dlq) == 3 and visible(sqs, queue) == 0
    assert "would move up to 3" in capsys.readouterr().out


def test_max_limits_the_move(sqs: Any) -> None:
    queue, dlq = make_pair(sqs, "registration")
    fail_into_dlq(sqs, queue, bodies(5))
    assert redrive.main(["--dlq-url", dlq, "--max", "2"], session=boto3.session.Session(region_name=REGION)) == 0
    assert visible(sqs, dlq) == 3 and visible(sqs, queue) == 2


def test_fifo_queues_keep_their_group(sqs: Any) -> None:
    queue, dlq = make_pair(sqs, "ordered", fifo=True)
    fail_into_dlq(sqs, queue, bodies(2), fifo=True)
    assert visible(sqs, dlq) == 2
    result = redrive.redrive(sqs, dlq, queue, limit=10, wait_seconds=0, say=lambda _: None)
    assert result.moved == 2 and result.ok
    got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])
    assert {m["Attributes"]["MessageGroupId"] for m in got["Messages"]} == {"g"}


def test_a_queue_that_does_not_redrive_to_the_dlq_is_refused(sqs: Any) -> None:
    _, dlq = make_pair(sqs, "registration")
    other, _ = make_pair(sqs, "erasure")
    with pytest.raises(redrive.UsageError, match="does not redrive"):
        redrive.find_source(sqs, dlq, other)
    assert redrive.main(["--dlq-url", dlq, "--source-url", other],
                        session=boto3.session.Session(region_name=REGION)) == 2


def test_an_orphan_dlq_needs_an_explicit_source(sqs: Any) -> None:
    lonely = sqs.create_queue(QueueName="lonely-dlq")["QueueUrl"]
    with pytest.raises(redrive.UsageError, match="no queue"):
        redrive.find_source(sqs, lonely, None)


def test_send_failures_stay_in_the_dlq(sqs: Any) -> None:
    queue, dlq = make_pair(sqs, "registration")
    fail_into_dlq(sqs, queue, bodies(2))

    class RefusingSends:
        """Passes everything through, except that the source refuses every send."""

        def __getattr__(self, name: str) -> Any:
            return getattr(sqs, name)

        def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
            return {"Successful": [], "Failed": [{"Id": e["Id"], "Code": "KMS.AccessDenied"} for e in Entries]}

    result = redrive.redrive(RefusingSends(), dlq, queue, limit=2, visibility=0, say=lambda _: None)
    assert result.moved == 0 and result.send_failed == 2 and not result.ok
    assert visible(sqs, dlq) == 2, "nothing is deleted that was not copied"


def test_queue_urls_from_the_local_stack_file(tmp_path: Path) -> None:
    stack = {
        "queues": {
            "RegistrationDlq": {"url": "http://127.0.0.1:4566/123456789012/r-dlq"},
            "RegistrationQueue": {"url": "http://127.0.0.1:4566/123456789012/r"},
        }
    }
    (tmp_path / "stack.json").write_text(json.dumps(stack))
    assert redrive.urls_from_local(tmp_path / "stack.json", "registration") == (
        "http://127.0.0.1:4566/123456789012/r-dlq",
        "http://127.0.0.1:4566/123456789012/r",
    )
    with pytest.raises(redrive.UsageError, match="make up"):
        redrive.urls_from_local(tmp_path / "missing.json", "registration")


def test_queue_urls_from_stack_outputs() -> None:
    class Cfn:
        def describe_stacks(self, StackName: str) -> dict[str, Any]:  # noqa: N803
            assert StackName == "iproov-onboarding-dev"
            return {"Stacks": [{"Outputs": [
                {"OutputKey": "ErasureDlqUrl", "OutputValue": "https://sqs/e-dlq"},
                {"OutputKey": "ErasureQueueUrl", "OutputValue": "https://sqs/e"},
            ]}]}

    assert redrive.urls_from_stack(Cfn(), "iproov-onboarding-dev", "erasure") == ("https://sqs/e-dlq", "https://sqs/e")
    with pytest.raises(redrive.UsageError, match="RegistrationDlqUrl"):
        redrive.urls_from_stack(Cfn(), "iproov-onboarding-dev", "registration")
