#!/usr/bin/env python3
"""Move messages from an SQS dead-letter queue back to the queue that feeds it.

    redrive.py --stack iproov-onboarding-dev --queue registration [--max N] [--dry-run]
    redrive.py --local --queue erasure                    # the local stack (.local/stack.json)
    redrive.py --dlq-url URL [--source-url URL]           # any DLQ

The source queue is the one whose RedrivePolicy names this DLQ (ListDeadLetterSourceQueues,
then checked against the source's own RedrivePolicy attribute), so a message can only go back
where it came from.

Why not SQS StartMessageMoveTask: moto (the local stack) does not implement it, and one code
path for AWS and for the laptop is worth more than the speed. The move is receive → send →
delete, in batches of 10, which is at-least-once: a crash between send and delete leaves a
copy in both queues. Both consumers are idempotent (a duplicate registration message never
validates twice; erasure repeats harmlessly), so a duplicate is safe and a loss is not.

Only message ids, receive counts and ages are printed, never bodies. By default the run moves
at most the number of messages visible when it starts, so it never chases messages that fail
again while it runs. Works against AWS (default credential chain, --region) or any endpoint
in AWS_ENDPOINT_URL (moto). Exit status: 0 done, 1 some messages not moved, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[2]
# Logical ids in template.yaml, per queue name the operator types.
QUEUES = {"registration": "Registration", "erasure": "Erasure", "webhook": "Webhook", "audit": "Audit"}
BATCH = 10
# Long enough to send and delete a batch; a message whose send fails comes back after it.
DEFAULT_VISIBILITY = 60


class UsageError(Exception):
    """Wrong arguments or a queue layout this tool refuses to act on."""


@dataclass
class Result:
    moved: int = 0
    send_failed: int = 0
    delete_failed: int = 0

    @property
    def ok(self) -> bool:
        return self.send_failed == 0 and self.delete_failed == 0


# ----- finding the queues -------------------------------------------------------------------
def queue_arn(sqs: Any, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def redrive_target(sqs: Any, url: str) -> str | None:
    """The DLQ ARN in a queue's RedrivePolicy, or None."""
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"]).get("Attributes", {})
    raw = attrs.get("RedrivePolicy")
    if not raw:
        return None
    return json.loads(raw).get("deadLetterTargetArn")


def find_source(sqs: Any, dlq_url: str, source_url: str | None) -> str:
    """The queue whose RedrivePolicy points at the DLQ; refuses anything else."""
    dlq = queue_arn(sqs, dlq_url)
    if source_url is None:
        sources = sqs.list_dead_letter_source_queues(QueueUrl=dlq_url).get("queueUrls", [])
        if not sources:
            raise UsageError(f"no queue has {dlq} as its dead-letter queue; pass --source-url")
        if len(sources) > 1:
            raise UsageError(f"several queues use {dlq} as DLQ ({', '.join(sources)}); pass --source-url")
        source_url = sources[0]
    if source_url == dlq_url:
        raise UsageError("the source queue and the DLQ are the same queue")
    target = redrive_target(sqs, source_url)
    if target != dlq:
        raise UsageError(f"{source_url} does not redrive to {dlq} (its RedrivePolicy names {target})")
    return source_url


def urls_from_stack(cfn: Any, stack: str, queue: str) -> tuple[str, str]:
    """(DLQ URL, queue URL) from the stack outputs `<Queue>DlqUrl` and `<Queue>QueueUrl`."""
    stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    prefix = QUEUES[queue]
    try:
        return outputs[f"{prefix}DlqUrl"], outputs[f"{prefix}QueueUrl"]
    except KeyError as exc:
        raise UsageError(f"stack {stack} has no output {exc.args[0]}") from exc


def urls_from_local(stack_file: Path, queue: str) -> tuple[str, str]:
    """(DLQ URL, queue URL) of the local stack, from the provisioner's stack.json."""
    try:
        queues = json.loads(stack_file.read_text())["queues"]
    except FileNotFoundError as exc:
        raise UsageError(f"{stack_file} not found: is the local stack up (make up)?") from exc
    prefix = QUEUES[queue]
    return queues[f"{prefix}Dlq"]["url"], queues[f"{prefix}Queue"]["url"]


# ----- moving -------------------------------------------------------------------------------
def counts(sqs: Any, url: str) -> tuple[int, int]:
    """(visible, in flight), approximately, as SQS reports them."""
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


def is_fifo(url: str) -> bool:
    return url.endswith(".fifo")


def send_entry(entry_id: str, message: dict[str, Any], fifo: bool) -> dict[str, Any]:
    """The SendMessageBatch entry that recreates `message` on the source queue."""
    entry: dict[str, Any] = {"Id": entry_id, "MessageBody": message["Body"]}
    attributes = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        kept = {k: value[k] for k in ("DataType", "StringValue", "BinaryValue") if k in value}
        attributes[name] = kept
    if attributes:
        entry["MessageAttributes"] = attributes
    system = message.get("Attributes") or {}
    if system.get("AWSTraceHeader"):
        # Keeps the X-Ray trace of the original request attached to the retried message.
        entry["MessageSystemAttributes"] = {
            "AWSTraceHeader": {"DataType": "String", "StringValue": system["AWSTraceHeader"]}
        }
    if fifo:
        entry["MessageGroupId"] = system.get("MessageGroupId", "redrive")
        # The original message id: a re-run within the 5-minute deduplication window after a
        # crash between send and delete then cannot create a second copy.
        entry["MessageDeduplicationId"] = message["MessageId"]
    return entry


def describe(message: dict[str, Any], now_ms: int) -> str:
    attrs = message.get("Attributes") or {}
    sent = int(attrs.get("SentTimestamp", now_ms))
    age_min = max(0, now_ms - sent) // 60000
    return f"{message['MessageId']} receives={attrs.get('ApproximateReceiveCount', '?')} age={age_min}min"


def redrive(
    sqs: Any,
    dlq_url: str,
    source_url: str,
    limit: int,
    visibility: int = DEFAULT_VISIBILITY,
    wait_seconds: int = 1,
    say: Callable[[str], None] = print,
) -> Result:
    """Moves up to `limit` messages from `dlq_url` to `source_url`, sending before deleting."""
    result = Result()
    fifo = is_fifo(source_url)
    handled = 0
    while handled < limit:
        response = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=min(BATCH, limit - handled),
            VisibilityTimeout=visibility,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            # A long poll (WaitTimeSeconds > 0) asks every SQS server, so empty means empty
            # (or the rest is in flight, e.g. a send that failed in this very run).
            break
        handled += len(messages)
        now_ms = int(time.time() * 1000)
        by_id = {str(i): m for i, m in enumerate(messages)}
        sent = sqs.send_message_batch(
            QueueUrl=source_url,
            Entries=[send_entry(i, m, fifo) for i, m in by_id.items()],
        )
        for failure in sent.get("Failed", []):
            message = by_id[failure["Id"]]
            result.send_failed += 1
            # Left in the DLQ; it becomes visible again after the visibility timeout.
            say(f"  not moved {describe(message, now_ms)}: {failure.get('Code')} {failure.get('Message', '')}")
        done = [by_id[s["Id"]] for s in sent.get("Successful", [])]
        if not done:
            continue
        deleted = sqs.delete_message_batch(
            QueueUrl=dlq_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
        )
        failed_delete = {f["Id"] for f in deleted.get("Failed", [])}
        for i, message in enumerate(done):
            if str(i) in failed_delete:
                result.delete_failed += 1
                say(f"  copied but not deleted (will be redriven twice) {describe(message, now_ms)}")
            else:
                result.moved += 1
                say(f"  moved {describe(message, now_ms)}")
    return result


# ----- command line -------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--dlq-url", help="URL of the dead-letter queue")
    where.add_argument("--stack", help="CloudFormation stack name (uses its <Queue>DlqUrl output)")
    where.add_argument("--local", action="store_true", help="the local stack (LOCAL_DIR/stack.json)")
    parser.add_argument("--queue", choices=sorted(QUEUES), help="which DLQ, with --stack or --local")
    parser.add_argument("--source-url", help="source queue URL (default: found from redrive policies)")
    parser.add_argument("--max", type=int, default=None, dest="limit",
                        help="move at most this many (default: those visible at the start)")
    parser.add_argument("--dry-run", action="store_true", help="show what would move; change nothing")
    parser.add_argument("--region", default=None, help="AWS region (default: the usual AWS settings)")
    parser.add_argument("--visibility-timeout", type=int, default=DEFAULT_VISIBILITY,
                        help="seconds a received message stays hidden while it is moved")
    args = parser.parse_args(argv)
    if (args.stack or args.local) and not args.queue:
        parser.error("--queue is required with --stack or --local")
    if args.limit is not None and args.limit < 0:
        parser.error("--max must be 0 or more")
    return args


def make_session(region: str | None) -> Any:
    import boto3

    return boto3.session.Session(region_name=region)


def main(argv: Sequence[str] | None = None, session: Any = None) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    args = parse_args(argv)
    try:
        return run(args, session)
    except (BotoCoreError, ClientError) as exc:
        # No credentials, no endpoint, access denied, no such queue or stack: say which.
        print(f"redrive: {exc}", file=sys.stderr)
        return 1


def run(args: argparse.Namespace, session: Any) -> int:
    endpoint = None
    try:
        if args.local:
            stack_file = Path(os.environ.get("LOCAL_DIR", REPO_ROOT / ".local")) / "stack.json"
            dlq_url, expected_source = urls_from_local(stack_file, args.queue)
            parts = urlsplit(dlq_url)
            endpoint = os.environ.get("AWS_ENDPOINT_URL") or f"{parts.scheme}://{parts.netloc}"
            for key, value in {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}.items():
                os.environ.setdefault(key, value)
        session = session or make_session(args.region or ("eu-west-1" if args.local else None))
        sqs = session.client("sqs", endpoint_url=endpoint) if endpoint else session.client("sqs")
        if args.stack:
            dlq_url, expected_source = urls_from_stack(session.client("cloudformation"), args.stack, args.queue)
        elif not args.local:
            dlq_url, expected_source = args.dlq_url, None
        source_url = find_source(sqs, dlq_url, args.source_url or expected_source)
    except UsageError as exc:
        print(f"redrive: {exc}", file=sys.stderr)
        return 2
    visible, in_flight = counts(sqs, dlq_url)
    limit = visible if args.limit is None else args.limit
    print(f"DLQ    {dlq_url}\nsource {source_url}\nDLQ holds {visible} visible, {in_flight} in flight")
    if args.dry_run:
        print(f"dry run: would move up to {limit} message(s)")
        return 0
    if limit == 0:
        print("nothing to move")
        return 0
    result = redrive(sqs, dlq_url, source_url, limit, visibility=args.visibility_timeout)
    print(
        f"moved {result.moved}; not moved {result.send_failed}; "
        f"moved but left in the DLQ {result.delete_failed}"
    )
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
