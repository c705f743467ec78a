"""SQS event-source emulator: what Lambda's event source mapping does, against moto.

For every SQS event of a function in template.yaml, pollers long-poll the queue, hand the
function a real SQS event (the shape aws_lambda_events::sqs::SqsEvent parses), and delete only
the messages that succeeded. The rest become visible again after the visibility timeout, so
moto's redrive policy moves a message that keeps failing to the dead-letter queue after
``maxReceiveCount`` receives, exactly as in AWS. That is the behaviour the scan validator's
idempotency and partial-batch reporting are built for, so it must hold locally too.

Rules (from "Handling errors for an SQS event source in Lambda"):
- the function fails (error, panic, timeout): no message is deleted;
- without ReportBatchItemFailures, a successful invocation deletes the whole batch;
- with it, ``batchItemFailures[].itemIdentifier`` names the failed messages; an empty or
  missing list means all succeeded; an identifier that is empty or not in the batch makes
  the whole batch count as failed.

Duplicate deliveries on request: SQS is at-least-once, so a consumer can get the same message
twice, even at the same time. A test (the soak, tests/soak) asks for that by writing
``<LOCAL_DIR>/sqs_duplicates.json`` (``DuplicateControl``); a batch then chosen is handed to the
function twice at once, and the messages either copy succeeded for are deleted, as when two
receipts of one message race in AWS. No file, no duplicates.

Logs: one JSON line per batch (queue, function, size, message ids deleted/failed, ms) - never
message bodies - and one per duplicated batch. Environment: LOCAL_SQS_MAX_POLLERS caps pollers
per mapping (default 5), LOCAL_SQS_WAIT_SECONDS is the long-poll wait (default 5).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonlog
import lambda_client
import template as tpl
from settings import LOCAL_DIR, REGION, STACK_FILE, TEMPLATE_FILE, Ports

DUPLICATES_FILE = LOCAL_DIR / "sqs_duplicates.json"


# ----- events -----------------------------------------------------------------------------
def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """boto3's MessageAttributeValue -> Lambda's record shape (camelCase, base64 binaries)."""

    def b64(data: Any) -> str:
        return base64.b64encode(data if isinstance(data, bytes) else str(data).encode()).decode()

    out: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues") or []),
        "binaryListValues": [b64(v) for v in value.get("BinaryListValues") or []],
        "dataType": value.get("DataType", "String"),
    }
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["binaryValue"] = b64(value["BinaryValue"])
    return out


def build_record(message: Mapping[str, Any], queue_arn: str, region: str = REGION) -> dict[str, Any]:
    """One SQS event record from one ReceiveMessage message."""
    body = str(message.get("Body", ""))
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": {k: str(v) for k, v in (message.get("Attributes") or {}).items()},
        "messageAttributes": {
            name: _message_attribute(value) for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - SQS's checksum
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def build_event(messages: Sequence[Mapping[str, Any]], queue_arn: str, region: str = REGION) -> dict[str, Any]:
    return {"Records": [build_record(m, queue_arn, region) for m in messages]}


def succeeded_ids(
    batch_ids: Sequence[str], result: Any, report_batch_item_failures: bool
) -> tuple[set[str], str]:
    """Which messages of a successfully invoked batch to delete, and a word for the log."""
    all_ids = set(batch_ids)
    if not report_batch_item_failures:
        return all_ids, "ok"
    if result is None or result == {} or result == "":
        return all_ids, "ok"
    if not isinstance(result, dict):
        return set(), "invalid_response"
    failures = result.get("batchItemFailures")
    if failures is None or failures == []:
        return all_ids, "ok"
    if not isinstance(failures, list):
        return set(), "invalid_response"
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in all_ids:
            return set(), "invalid_item_identifier"
        failed.add(identifier)
    return all_ids - failed, "partial"


# ----- duplicate deliveries ----------------------------------------------------------------
class DuplicateControl:
    """Which batches to deliver twice, read from a JSON file a test writes.

    ``{"queues": {"<queue name>": {"probability": 0.5, "until": <epoch seconds>}}}``: until then,
    each batch of that queue is duplicated with that probability. A file (not a port) because
    this process has no server, and the test only needs to switch it on and off; the file is
    re-read only when its modification time changes, so the poll loop pays one ``stat``.
    """

    def __init__(self, path: Path = DUPLICATES_FILE, rng: random.Random | None = None) -> None:
        self.path = path
        self.rng = rng or random.Random()
        self._mtime: float | None = None
        self._queues: dict[str, dict[str, float]] = {}
        self._lock = threading.Lock()

    def _reload(self) -> None:
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            self._mtime, self._queues = None, {}
            return
        if mtime == self._mtime:
            return
        try:
            queues = json.loads(self.path.read_text()).get("queues") or {}
        except (OSError, ValueError, AttributeError):
            queues = {}  # half-written or garbage: no duplicates until a valid file appears
        self._mtime = mtime
        self._queues = {
            name: {"probability": float(rule.get("probability", 1.0)), "until": float(rule.get("until", 0))}
            for name, rule in queues.items()
            if isinstance(rule, dict)
        }

    def should_duplicate(self, queue_name: str, now: float | None = None) -> bool:
        with self._lock:
            self._reload()
            rule = self._queues.get(queue_name)
            if not rule or (now if now is not None else time.time()) >= rule["until"]:
                return False
            return self.rng.random() < rule["probability"]


# ----- polling ----------------------------------------------------------------------------
@dataclass
class PollerSettings:
    lambda_url: str
    aws_endpoint: str
    wait_seconds: int = 5
    cold_start_grace: float = 180.0
    invoke_grace: float = 5.0


class MappingPoller(threading.Thread):
    """One poller of one mapping; several may run per mapping (MaximumConcurrency)."""

    def __init__(
        self,
        mapping: tpl.SqsMapping,
        function: tpl.Function,
        queue_name: str,
        settings: PollerSettings,
        stop: threading.Event,
        warm: set[str],
        index: int,
        duplicates: DuplicateControl | None = None,
    ) -> None:
        super().__init__(name=f"sqs-{mapping.binary}-{index}", daemon=True)
        self.mapping = mapping
        self.function = function
        self.queue_name = queue_name
        self.settings = settings
        self.stop_event = stop
        self.warm = warm
        self.sqs = _sqs_client(settings)  # one client per thread
        self.duplicates = duplicates

    def run(self) -> None:
        backoff = 1.0
        while not self.stop_event.is_set():
            try:
                messages = self.receive_batch()
                backoff = 1.0
            except Exception as exc:  # moto restarting or not up yet: say so, wait, retry
                jsonlog.emit("sqs", "receive_failed", level="error", queue=self.queue_name, error=exc.__class__.__name__)
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if messages:
                try:
                    self.process(messages)
                except Exception as exc:  # never lose the poller; messages reappear by themselves
                    jsonlog.emit("sqs", "batch_failed", level="error", queue=self.queue_name,
                                 function=self.mapping.binary, error=exc.__class__.__name__)

    def receive_batch(self) -> list[dict[str, Any]]:
        """Up to BatchSize messages, waiting at most the batching window once one has arrived."""
        wanted = self.mapping.batch_size
        messages = self._receive(min(wanted, 10), self.settings.wait_seconds)
        if not messages or self.mapping.batching_window <= 0:
            return messages
        deadline = time.monotonic() + self.mapping.batching_window
        while len(messages) < wanted and not self.stop_event.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            messages += self._receive(min(wanted - len(messages), 10), max(0, min(int(remaining), 20)))
            if remaining < 1:
                break
        return messages

    def _receive(self, count: int, wait: int) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.mapping.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages") or [])

    def process(self, messages: list[dict[str, Any]]) -> None:
        started = time.monotonic()
        ids = [m["MessageId"] for m in messages]
        receive_counts = {m["MessageId"]: int((m.get("Attributes") or {}).get("ApproximateReceiveCount", 0)) for m in messages}
        event = build_event(messages, self.mapping.queue_arn)
        if self.duplicates is not None and self.duplicates.should_duplicate(self.queue_name):
            delete, outcome = self.invoke_twice(event, ids)
        else:
            delete, outcome = self.invoke(event, ids)
        deleted = self.delete(messages, delete)
        jsonlog.emit(
            "sqs",
            "batch",
            queue=self.queue_name,
            function=self.mapping.binary,
            size=len(messages),
            outcome=outcome,
            failures=len(messages) - len(deleted),
            deleted=sorted(deleted),
            failed=sorted(set(ids) - deleted),
            receive_counts=receive_counts,
            ms=round((time.monotonic() - started) * 1000, 1),
        )

    def invoke(self, event: dict[str, Any], ids: list[str]) -> tuple[set[str], str]:
        """One invocation with the batch: the message ids to delete, and a word for the log."""
        warm = self.function.binary in self.warm
        timeout = self.function.timeout + (self.settings.invoke_grace if warm else self.settings.cold_start_grace)
        try:
            result = lambda_client.invoke(self.settings.lambda_url, self.mapping.binary, event, timeout)
            self.warm.add(self.function.binary)
            return succeeded_ids(ids, result, self.mapping.report_batch_item_failures)
        except lambda_client.FunctionError as exc:
            self.warm.add(self.function.binary)
            return set(), f"function_error:{exc.error_type}"
        except lambda_client.InvokeTimeout:
            return set(), "timeout"
        except lambda_client.Unavailable as exc:
            jsonlog.emit("sqs", "invoke_unavailable", level="error", function=self.mapping.binary, error=str(exc))
            return set(), "unavailable"

    def invoke_twice(self, event: dict[str, Any], ids: list[str]) -> tuple[set[str], str]:
        """The same batch to two instances at once (an at-least-once duplicate); a message
        either copy handled is deleted, as the first DeleteMessage of two receipts would."""
        results: list[tuple[set[str], str]] = []
        twin = threading.Thread(target=lambda: results.append(self.invoke(event, ids)), daemon=True)
        twin.start()
        first = self.invoke(event, ids)
        twin.join()
        second = results[0] if results else (set(), "lost")
        jsonlog.emit("sqs", "duplicate_delivery", queue=self.queue_name, function=self.mapping.binary,
                     message_ids=sorted(ids), outcomes=[first[1], second[1]])
        return first[0] | second[0], f"duplicate:{first[1]}+{second[1]}"

    def delete(self, messages: list[dict[str, Any]], ids: set[str]) -> set[str]:
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
            for i, m in enumerate(messages)
            if m["MessageId"] in ids
        ]
        deleted: set[str] = set()
        for start in range(0, len(entries), 10):
            chunk = entries[start:start + 10]
            response = self.sqs.delete_message_batch(QueueUrl=self.mapping.queue_url, Entries=chunk)
            for ok in response.get("Successful") or []:
                deleted.add(messages[int(ok["Id"])]["MessageId"])
            for failed in response.get("Failed") or []:
                jsonlog.emit("sqs", "delete_failed", level="error", queue=self.queue_name,
                             message_id=messages[int(failed["Id"])]["MessageId"], code=failed.get("Code"))
        return deleted


def _sqs_client(settings: PollerSettings) -> Any:
    import boto3
    from botocore.config import Config

    from settings import AWS_ENV

    return boto3.client(
        "sqs",
        endpoint_url=settings.aws_endpoint,
        region_name=REGION,
        aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"max_attempts": 2, "mode": "standard"}, read_timeout=settings.wait_seconds + 30),
    )


def start_pollers(model: tpl.StackModel, settings: PollerSettings, stop: threading.Event) -> list[MappingPoller]:
    max_pollers = int(os.environ.get("LOCAL_SQS_MAX_POLLERS", "5"))
    warm: set[str] = set()
    duplicates = DuplicateControl()
    pollers: list[MappingPoller] = []
    for mapping in model.sqs_mappings:
        if not mapping.enabled:
            jsonlog.emit("sqs", "mapping_disabled", queue=mapping.queue, function=mapping.binary)
            continue
        function = model.functions[mapping.function]
        queue_name = model.queues[mapping.queue].name
        count = max(1, min(mapping.maximum_concurrency or 2, max_pollers))
        for index in range(count):
            poller = MappingPoller(mapping, function, queue_name, settings, stop, warm, index, duplicates)
            poller.start()
            pollers.append(poller)
        jsonlog.emit("sqs", "polling", queue=queue_name, function=mapping.binary, pollers=count,
                     batch_size=mapping.batch_size, batching_window=mapping.batching_window,
                     report_batch_item_failures=mapping.report_batch_item_failures)
    return pollers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="SQS event-source emulator")
    parser.add_argument("--template", type=Path, default=TEMPLATE_FILE)
    args = parser.parse_args(argv)
    ports = Ports.from_env()
    physical = None
    if STACK_FILE.is_file():
        physical = tpl.physical_from_json(json.loads(STACK_FILE.read_text())["physical"])
    overrides = tpl.parse_overrides(os.environ.get("LOCAL_PARAMETER_OVERRIDES", ""))
    model = tpl.load_model(args.template, ports=ports, overrides=overrides, physical=physical)
    settings = PollerSettings(
        lambda_url=ports.lambda_url,
        aws_endpoint=ports.aws_endpoint,
        wait_seconds=int(os.environ.get("LOCAL_SQS_WAIT_SECONDS", "5")),
        cold_start_grace=float(os.environ.get("LOCAL_COLD_START_GRACE", "180")),
        invoke_grace=float(os.environ.get("LOCAL_INVOKE_GRACE", "5")),
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    start_pollers(model, settings, stop)
    if not model.sqs_mappings:
        jsonlog.emit("sqs", "idle", reason="no SQS events in the template")
    stop.wait()
    jsonlog.emit("sqs", "stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
