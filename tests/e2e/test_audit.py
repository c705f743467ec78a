"""The audit trail on the local stack: the real functions hand their events to the audit queue,
the real audit writer appends them to the hash chain in moto, and `audit-verify` (the Rust
binary `make audit-verify` runs) proves the chain sound or names its first breach.

The breach tests edit and delete records of the shared trail and restore them afterwards:
`make e2e` ends with `make audit-verify` over the same trail.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import pytest

from journeys import (
    ROOT,
    Client,
    audit_records,
    aws,
    items,
    resource,
    scanned_login_attempt,
    unique_username,
    wait_for,
)

# Exclusive (tests/e2e/conftest.py): it edits and deletes trail records, and the verifier waits for the audit queue to drain.
pytestmark = pytest.mark.exclusive

STACK_FILE = ROOT / ".local" / "stack.json"


def audit_verify() -> subprocess.CompletedProcess[str]:
    """The verifier over the local trail (built by `cargo build --workspace`)."""
    target = os.environ.get("CARGO_TARGET_DIR") or str(ROOT / "target")
    binary = os.path.join(target, "debug", "audit-verify")
    return subprocess.run(
        [binary, "--stack", str(STACK_FILE), "--wait", "30"],
        capture_output=True, text=True, timeout=120, check=False,
    )


def events_about(user_id: str, registration_id: str) -> list[dict]:
    return [
        r["event"] for r in audit_records()
        if r["event"].get("user_id") == user_id or r["event"].get("registration_id") == registration_id
    ]


def queue_drained() -> bool:
    attrs = aws("sqs").get_queue_attributes(
        QueueUrl=resource("AuditQueue"),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return all(int(v) == 0 for v in attrs.values())


def test_a_persons_journeys_are_in_the_trail_in_order_without_personal_data():
    # GIVEN planted names that are easy to spot
    username, display_name = unique_username("audit"), "Audit Zebediah Quux"
    client = Client()
    # WHEN the person registers, logs in, steps up and erases their account
    done = client.register(username, display_name)
    assert done["status"] == "completed", done
    registration_id = done["registration_id"]
    device, _ = scanned_login_attempt(username)
    assert device.login().status_code == 200
    user_id = device.me().json()["user_id"]
    assert device.step_up().status_code == 200
    assert device.erase(step_up=False).status_code == 202
    # THEN the trail holds each of their events once, and in the order they happened: the
    # records' own order is the order the writer received them, which SQS (a standard queue)
    # does not promise to be the order they were sent in, so the events' times tell
    expected = [
        "registration.started", "registration.completed", "login.succeeded",
        "step_up.passed", "erasure.requested", "erasure.completed",
    ]
    events = wait_for(
        "every event of the journey in the trail",
        lambda: (e := events_about(user_id, registration_id)) and len(e) >= len(expected) and e,
        timeout=60,
    )
    kinds = [e["kind"] for e in events]
    assert sorted(kinds) == sorted(expected), kinds
    times = [next(e["at"] for e in events if e["kind"] == kind) for kind in expected]
    assert times == sorted(times), list(zip(expected, times))
    # AND no item of the trail holds their username or display name
    text = json.dumps(items("AuditTable"))
    assert username not in text
    assert "Zebediah" not in text


def test_a_duplicated_delivery_is_recorded_once():
    # GIVEN an audited event as a function hands it over
    event = {
        "id": uuid.uuid4().hex, "at": 1_700_000_000, "kind": "session.logged_out",
        "actor": {"type": "person"}, "user_id": uuid.uuid4().hex,
    }
    body = json.dumps(event, separators=(",", ":"))
    sqs = aws("sqs")
    # WHEN it is delivered twice
    sqs.send_message(QueueUrl=resource("AuditQueue"), MessageBody=body)
    sqs.send_message(QueueUrl=resource("AuditQueue"), MessageBody=body)
    wait_for("both deliveries to be processed", queue_drained, timeout=60)
    # THEN the chain holds it once
    holding = [r for r in audit_records() if r["event"]["id"] == event["id"]]
    assert len(holding) == 1, holding


@pytest.fixture
def sound_trail():
    """A trail the verifier accepts before the test edits it (and after it restored it)."""
    before = audit_verify()
    assert before.returncode == 0, before.stdout + before.stderr
    yield
    after = audit_verify()
    assert after.returncode == 0, after.stdout + after.stderr


def test_audit_verify_names_an_edited_record_as_altered(sound_trail):
    # GIVEN a record of the trail
    ddb, table = aws("dynamodb"), resource("AuditTable")
    target = audit_records()[-1]
    original = target["item"]
    edited = dict(original)
    edited["event"] = {"S": original["event"]["S"].replace('"person"', '"system"', 1).replace(
        '"at":', '"at":1', 1)}
    # WHEN someone edits it
    ddb.put_item(TableName=table, Item=edited)
    try:
        result = audit_verify()
    finally:
        ddb.put_item(TableName=table, Item=original)
    # THEN the verifier fails and names it
    assert result.returncode == 1, result.stdout
    assert f"record {target['seq']} was altered" in result.stdout, result.stdout


def test_audit_verify_names_a_deleted_record_as_missing(sound_trail):
    # GIVEN a record of the trail that is not the first
    ddb, table = aws("dynamodb"), resource("AuditTable")
    all_records = audit_records()
    assert len(all_records) >= 2, "the other tests produce records first"
    target = all_records[len(all_records) // 2]
    # WHEN someone deletes it
    ddb.delete_item(TableName=table, Key={"pk": target["item"]["pk"]})
    try:
        result = audit_verify()
    finally:
        ddb.put_item(TableName=table, Item=target["item"])
    # THEN the verifier fails and names it
    assert result.returncode == 1, result.stdout
    assert f"record {target['seq']} is missing" in result.stdout, result.stdout
