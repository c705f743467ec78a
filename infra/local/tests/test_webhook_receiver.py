"""The local webhook receiver: verification with the reference library, injected failures."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest
from standardwebhooks import Webhook

from webhook_receiver import Receiver

CURRENT = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PREVIOUS = "whsec_dGhlIG5ldyBrZXkgb2YgdGhlIHJvdGF0aW9u"
BODY = json.dumps({"type": "login.succeeded", "timestamp": "2024-01-01T00:00:00Z",
                   "data": {"user_id": "u1"}}).encode()


def headers(secret: str, webhook_id: str = "0123abcd", signature: str | None = None) -> dict[str, str]:
    now = int(time.time())
    signed = Webhook(secret).sign(webhook_id, datetime.fromtimestamp(now, tz=timezone.utc), BODY.decode())
    return {"Webhook-Id": webhook_id, "Webhook-Timestamp": str(now), "Webhook-Signature": signature or signed}


def test_a_request_signed_with_the_current_secret_is_accepted_and_recorded():
    # given a receiver that knows the current secret
    receiver = Receiver(secrets=lambda: {"current": CURRENT})
    # when a signed request arrives
    status, rule = receiver.receive("a", headers(CURRENT), BODY)
    # then it is accepted and recorded with what verified it
    assert (status, rule) == (204, None)
    [seen] = receiver.seen("0123abcd")
    assert seen["verified_with"] == ["current"] and seen["body"]["type"] == "login.succeeded"
    assert seen["duplicate"] is False


def test_a_tampered_signature_is_refused():
    receiver = Receiver(secrets=lambda: {"current": CURRENT})
    genuine = headers(CURRENT)["Webhook-Signature"]
    tampered = genuine[:-6] + ("AAAAA=" if not genuine.endswith("AAAAA=") else "BBBBB=")
    status, _ = receiver.receive("a", headers(CURRENT, signature=tampered), BODY)
    assert status == 401
    assert receiver.seen()[0]["verified_with"] == []


def test_during_a_rotation_both_signatures_are_checked():
    receiver = Receiver(secrets=lambda: {"current": CURRENT, "previous": PREVIOUS})
    both = f'{headers(CURRENT)["Webhook-Signature"]} {headers(PREVIOUS)["Webhook-Signature"]}'
    status, _ = receiver.receive("b", headers(CURRENT, signature=both), BODY)
    assert status == 204
    assert receiver.seen()[0]["verified_with"] == ["current", "previous"]


def test_injected_failures_apply_to_their_endpoint_and_run_out():
    # given two failures for endpoint a
    receiver = Receiver(secrets=lambda: {"current": CURRENT})
    receiver.fail_next(2, "error", endpoint="a")
    # when three deliveries reach a and one reaches b
    statuses = [receiver.receive("a", headers(CURRENT), BODY)[0] for _ in range(3)]
    other = receiver.receive("b", headers(CURRENT), BODY)[0]
    # then a fails twice and then accepts (a repeat of a delivered id), b is unaffected
    assert statuses == [500, 500, 204] and other == 204
    assert receiver.seen()[2]["duplicate"] is False
    assert receiver.receive("a", headers(CURRENT), BODY)[0] == 204
    assert receiver.seen()[-1]["duplicate"] is True


def test_bad_failure_rules_are_refused():
    receiver = Receiver(secrets=dict)
    with pytest.raises(ValueError):
        receiver.fail_next(0)
    with pytest.raises(ValueError):
        receiver.fail_next(1, "teapot")
