"""Signed webhooks to the customer's backend (docs/webhooks.md), against the local stack.

The local stack's receiver (infra/local/webhook_receiver.py) plays the customer's backend: two
endpoints, ``/hooks/a`` and ``/hooks/b``, that verify every request with the Standard Webhooks
reference library against the secrets in WebhookSigningSecret, record what they saw, and fail
on request.

Two groups:
* **the dispatcher alone**: a ``WebhookDue`` message is put on WebhookQueue by hand, as the
  audit trail's writer would (core/src/audit/webhooks.rs), and the real webhook-dispatcher
  function delivers it;
* **the journeys**: a registration, a login, an erasure through the public API, each announced
  by a webhook that the audit trail's writer queued.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
import uuid

import pytest
import requests
from standardwebhooks import Webhook

from journeys import Client, aws, registered, scan, scanned_login_attempt, stack, unique_username, wait_for
from settings import Ports

# Exclusive (tests/e2e/conftest.py): it makes the receiver fail the next deliveries and rotates the signing secret, which other tests' webhooks would meet.
pytestmark = pytest.mark.exclusive

RECEIVER = os.environ.get("WEBHOOK_RECEIVER_URL", Ports.from_env().webhook_receiver_url)
USER_ID = "00112233445566778899aabbccddeeff"
# What a body's data may hold: pseudonymous ids and a reason code, nothing else.
DATA_FIELDS = {"user_id", "registration_id", "reason"}


# ----- helpers ----------------------------------------------------------------------------
def queue_url(logical_id: str) -> str:
    return stack()["queues"][logical_id]["url"]


def publish(kind: str, **data: str) -> str:
    """A due webhook on WebhookQueue, as the audit writer queues one; returns its id."""
    webhook_id = uuid.uuid4().hex
    message = {"id": webhook_id, "type": kind, "occurred_at": int(time.time()), **data}
    aws("sqs").send_message(QueueUrl=queue_url("WebhookQueue"), MessageBody=json.dumps(message))
    return webhook_id


def deliveries(webhook_id: str | None = None) -> list[dict]:
    params = {"id": webhook_id} if webhook_id else {}
    r = requests.get(f"{RECEIVER}/_control/deliveries", params=params, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["deliveries"]


def verified(webhook_id: str, endpoint: str) -> list[dict]:
    return [d for d in deliveries(webhook_id) if d["endpoint"] == endpoint and d["verified_with"]]


def fail_next(count: int, mode: str = "error", endpoint: str | None = None, delay_seconds: float = 7) -> None:
    body = {"count": count, "mode": mode, "delay_seconds": delay_seconds}
    if endpoint:
        body["endpoint"] = endpoint
    r = requests.post(f"{RECEIVER}/_control/fail", json=body, timeout=10)
    assert r.status_code == 201, r.text


def signing_secret_id() -> str:
    return stack()["secrets"]["WebhookSigningSecret"]["name"]


def stored_secret() -> dict:
    return json.loads(aws("secretsmanager").get_secret_value(SecretId=signing_secret_id())["SecretString"])


def whsec(value: str) -> str:
    return value if value.startswith("whsec_") else f"whsec_{value}"


def in_dead_letter_queue(webhook_id: str) -> bool:
    """Whether the DLQ holds the message (looked at without consuming it: visibility 0)."""
    sqs = aws("sqs")
    for _ in range(3):
        got = sqs.receive_message(QueueUrl=queue_url("WebhookDlq"), MaxNumberOfMessages=10,
                                  VisibilityTimeout=0, WaitTimeSeconds=1)
        if any(json.loads(m["Body"]).get("id") == webhook_id for m in got.get("Messages", [])):
            return True
    return False


@pytest.fixture(autouse=True)
def receiver(local_stack) -> None:
    """A receiver with no record and no pending failure, before and after each test."""
    requests.delete(f"{RECEIVER}/_control", timeout=10)
    yield
    requests.delete(f"{RECEIVER}/_control", timeout=10)


# ----- the dispatcher alone ---------------------------------------------------------------
def test_a_due_webhook_reaches_every_endpoint_signed_with_ids_only():
    # GIVEN both endpoints answer
    # WHEN a login.succeeded webhook is due
    webhook_id = publish("login.succeeded", user_id=USER_ID)
    # THEN each endpoint gets it once, signed with the current secret, under its event id
    for endpoint in ("a", "b"):
        [seen] = wait_for(f"endpoint {endpoint} to verify {webhook_id}", lambda e=endpoint: verified(webhook_id, e))
        assert seen["id"] == webhook_id
        assert seen["verified_with"] == ["current"]
        assert abs(int(seen["timestamp"]) - time.time()) < 60
        body = seen["body"]
        assert body["type"] == "login.succeeded"
        assert body["timestamp"].endswith("Z")
        assert body["data"] == {"user_id": USER_ID}
        assert set(body) == {"type", "timestamp", "data"}


def test_an_endpoint_that_fails_gets_the_webhook_again_under_the_same_id():
    # GIVEN endpoint a answers 500 twice
    fail_next(2, "error", endpoint="a")
    # WHEN a registration.failed webhook is due
    webhook_id = publish("registration.failed", registration_id="reg-" + uuid.uuid4().hex[:8], reason="too_dark")
    # THEN a gets it again (with backoff) until it verifies, every attempt under the same id
    wait_for("endpoint a to accept after two failures", lambda: verified(webhook_id, "a"), timeout=60)
    attempts = [d for d in deliveries(webhook_id) if d["endpoint"] == "a"]
    assert [d["status"] for d in attempts][:3] == [500, 500, 204], attempts
    assert {d["id"] for d in attempts} == {webhook_id}
    # and the body is the same on every attempt; only the attempt's timestamp may differ
    assert len({json.dumps(d["body"], sort_keys=True) for d in attempts}) == 1
    assert attempts[-1]["body"]["data"]["reason"] == "too_dark"
    # and b, which answered at once, may have it more than once: receivers deduplicate on the id
    assert verified(webhook_id, "b")


def test_a_slow_endpoint_counts_as_failed_and_gets_it_again():
    # GIVEN endpoint b answers only after 7 s once (the dispatcher waits 5 s)
    fail_next(1, "slow", endpoint="b", delay_seconds=7)
    # WHEN a user.erased webhook is due
    webhook_id = publish("user.erased", user_id=USER_ID)
    # THEN b gets it again and verifies it
    wait_for("endpoint b to accept after a timeout", lambda: verified(webhook_id, "b"), timeout=60)
    attempts = [d for d in deliveries(webhook_id) if d["endpoint"] == "b"]
    assert attempts[0].get("injected") == "slow" and len(attempts) >= 2


@pytest.fixture
def restore_secret():
    original = stored_secret()
    yield original
    aws("secretsmanager").put_secret_value(SecretId=signing_secret_id(), SecretString=json.dumps(original))
    time.sleep(6)  # the dispatcher's secret cache (5 s locally)


def test_during_a_rotation_every_request_verifies_with_either_secret(restore_secret):
    # GIVEN a rotation: a new current secret, the old one kept as previous
    old = whsec(restore_secret["current"])
    new = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    aws("secretsmanager").put_secret_value(
        SecretId=signing_secret_id(), SecretString=json.dumps({"current": new, "previous": old})
    )
    time.sleep(6)  # the dispatcher's secret cache (5 s locally)
    # WHEN a webhook is due
    webhook_id = publish("registration.completed", user_id=USER_ID, registration_id="reg-rotation")
    # THEN the request carries two signatures and each secret alone verifies it
    [seen] = wait_for("a delivery during the rotation", lambda: verified(webhook_id, "a"))
    assert seen["verified_with"] == ["current", "previous"]
    assert len(seen["signature"].split(" ")) == 2
    headers = {"webhook-id": seen["id"], "webhook-timestamp": seen["timestamp"], "webhook-signature": seen["signature"]}
    body = json.dumps(seen["body"], separators=(",", ":"))
    for secret in (new, old):
        Webhook(secret).verify(body, headers, json_parse=False)


def test_a_tampered_signature_is_refused_by_the_receiver():
    # GIVEN a delivered webhook, as the receiver recorded it
    webhook_id = publish("login.succeeded", user_id=USER_ID)
    [seen] = wait_for("a delivery", lambda: verified(webhook_id, "a"))
    body = json.dumps(seen["body"], separators=(",", ":"))
    headers = {"webhook-id": seen["id"], "webhook-timestamp": seen["timestamp"],
               "content-type": "application/json"}
    signature = seen["signature"]

    def flip(one: str) -> str:
        # the first base64 character after "v1," carries six significant bits; the last one before
        # "=" carries only four, so changing it there (A to B, say) can leave the decoded MAC intact
        version, mac = one.split(",", 1)
        return f"{version},{'B' if mac[0] == 'A' else 'A'}{mac[1:]}"

    # (every signature of the header: during a rotation it carries two, and one intact would do)
    flipped = " ".join(flip(one) for one in signature.split())
    # WHEN it is replayed with one character of each signature changed
    tampered = requests.post(f"{RECEIVER}/hooks/a", data=body,
                             headers=headers | {"webhook-signature": flipped}, timeout=10)
    # THEN the receiver refuses it; the untouched replay is accepted as a duplicate of the id
    assert tampered.status_code == 401, tampered.text
    replayed = requests.post(f"{RECEIVER}/hooks/a", data=body,
                             headers=headers | {"webhook-signature": signature}, timeout=10)
    assert replayed.status_code == 204, replayed.text
    assert deliveries(webhook_id)[-1]["duplicate"] is True


def test_a_webhook_that_keeps_failing_ends_in_the_dead_letter_queue():
    # GIVEN endpoint a refuses everything
    fail_next(100, "error", endpoint="a")
    # WHEN a webhook is due
    webhook_id = publish("registration.completed", user_id=USER_ID, registration_id="reg-dlq")
    # THEN after the queue's 8 receives it sits in WebhookDlq, for the alarm and a redrive
    wait_for("the webhook in WebhookDlq", lambda: in_dead_letter_queue(webhook_id), timeout=120, interval=1)
    attempts = [d for d in deliveries(webhook_id) if d["endpoint"] == "a"]
    assert len(attempts) == stack()["queues"]["WebhookQueue"]["redrive"]["max_receive_count"]
    assert {d["status"] for d in attempts} == {500}


# ----- the journeys (the audit trail's writer queues their webhooks) ----------------------
def announced(kind: str, **data: str) -> dict:
    """The first delivery of type `kind` whose data holds `data`, verified by endpoint a."""

    def find():
        for seen in deliveries():
            body = seen.get("body") or {}
            if (seen["endpoint"] == "a" and seen["verified_with"] and body.get("type") == kind
                    and all(body.get("data", {}).get(k) == v for k, v in data.items())):
                return seen
        return None

    return wait_for(f"a {kind} webhook for {data}", find, timeout=90)


def assert_ids_only(seen: dict) -> None:
    assert set(seen["body"]["data"]) <= DATA_FIELDS, seen["body"]


def test_a_completed_registration_is_announced():
    # GIVEN endpoint a fails the next delivery
    fail_next(1, "error", endpoint="a")
    # WHEN someone registers
    client = Client()
    status = client.register(unique_username())
    assert status["status"] == "completed"
    # THEN registration.completed reaches a, signed, after the failure
    seen = announced("registration.completed", registration_id=status["registration_id"])
    assert_ids_only(seen)
    attempts = deliveries(seen["id"])
    assert any(d["status"] == 500 for d in attempts), attempts


def test_a_failed_registration_is_announced_with_its_reason():
    fail_next(1, "error", endpoint="a")
    client = Client()
    started = client.start_registration(unique_username())
    assert started.status_code == 201, started.text
    scan(started.json()["iproov"]["token"], "failed", "too_dark")
    assert client.submit_scan().status_code == 202
    status = client.wait_for_registration("failed", "awaiting_scan")
    seen = announced("registration.failed", registration_id=status["registration_id"])
    assert_ids_only(seen)
    assert seen["body"]["data"].get("reason")


def test_a_login_is_announced():
    _, username = registered()
    fail_next(1, "error", endpoint="a")
    device, _ = scanned_login_attempt(username)
    assert device.login().status_code == 200
    user_id = device.me().json()["user_id"]
    seen = announced("login.succeeded", user_id=user_id)
    assert_ids_only(seen)


def test_an_erasure_is_announced():
    client, username = registered()
    device, _ = scanned_login_attempt(username)
    assert device.login().status_code == 200
    user_id = device.me().json()["user_id"]
    fail_next(1, "error", endpoint="a")
    erased = device.erase()
    assert erased.status_code in (200, 202, 204), erased.text
    seen = announced("user.erased", user_id=user_id)
    assert seen["body"]["data"] == {"user_id": user_id}
