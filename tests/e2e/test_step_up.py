"""Face step-up before a sensitive action, end to end against the local stack: erasure needs a
step-up on the same session within the window; a failed, replayed or foreign step-up elevates
nothing; and each journey's assurance policy reaches iProov."""

from __future__ import annotations

import sys
import time
from datetime import datetime

import pytest
import requests

from journeys import (
    SANDBOX,
    Client,
    aws,
    clear_faults,
    inject_fault,
    registered,
    scan,
    table,
    validations_of,
)

sys.path.insert(0, __import__("conftest").REPO_ROOT.joinpath("infra", "local").as_posix())
from settings import FUNCTIONS_ENV_FILE  # noqa: E402


def _session_id(session_token: str) -> str:
    return session_token.split(".", 1)[0]


def _sandbox_claim(token: str) -> dict:
    r = requests.get(f"{SANDBOX}/sandbox/claims/{token}", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def _configured(name: str, default: str) -> str:
    """A function setting as the local stack wrote it (the template's value, or an override)."""
    for line in FUNCTIONS_ENV_FILE.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == name:
            return value.strip().strip('"') or default
    return default


def test_erasure_without_a_step_up_is_refused_and_changes_nothing():
    # GIVEN a registered person, logged in
    client, _ = registered()
    # WHEN they ask to erase the account without a step-up
    r = client.erase(step_up=False)
    # THEN 403 step_up_required with a hint, and the account and session are untouched
    assert r.status_code == 403, r.text
    assert r.json()["error"] == "step_up_required"
    assert r.json()["hint"]
    assert client.me().status_code == 200


def test_a_passed_step_up_elevates_the_session_and_allows_erasure():
    # GIVEN a logged-in person who passes a step-up scan
    client, _ = registered()
    started = client.start_step_up()
    assert started.status_code == 200, started.text
    body = started.json()
    assert body["attempt_token"] and body["expires_at"] and body["iproov"]["token"]
    scan(body["iproov"]["token"], "passed")
    # WHEN they complete it
    done = client.complete_step_up(body["attempt_token"])
    # THEN the session is elevated, for at most the window, under the step-up's assurance
    assert done.status_code == 200, done.text
    assert done.json()["acr"].startswith("urn:iproov:assurance:")
    until = datetime.fromisoformat(done.json()["elevated_until"].replace("Z", "+00:00")).timestamp()
    assert time.time() < until <= time.time() + 60 * 60
    assert validations_of(body["iproov"]["token"]) == 1
    # AND erasure is accepted
    r = client.erase(step_up=False)
    assert r.status_code == 202, r.text
    assert client.me().status_code == 401


def test_a_failed_step_up_elevates_nothing():
    # GIVEN a logged-in person whose step-up scan fails
    client, _ = registered()
    # WHEN they complete it
    r = client.step_up("failed", "too_much_movement")
    # THEN 401 verification_failed with the reason and a hint
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "verification_failed"
    assert r.json()["reason"] == "too_much_movement"
    assert r.json()["hint"]
    # AND erasure is still refused
    assert client.erase(step_up=False).status_code == 403


def test_an_elevation_past_its_window_no_longer_allows_erasure():
    # GIVEN a session elevated by a passed step-up, whose window has since run out (the stored
    # elevation is moved into the past, as the clock would)
    client, _ = registered()
    assert client.step_up().status_code == 200
    aws("dynamodb").update_item(
        TableName=table("SessionsTable"),
        Key={"pk": {"S": _session_id(client.session)}},
        UpdateExpression="SET elevated_until = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    # WHEN they ask to erase, THEN a new step-up is required
    r = client.erase(step_up=False)
    assert r.status_code == 403, r.text
    assert r.json()["error"] == "step_up_required"


def test_a_replayed_step_up_is_refused_without_a_second_validate():
    # GIVEN a step-up completed once
    client, _ = registered()
    started = client.start_step_up().json()
    scan(started["iproov"]["token"], "passed")
    assert client.complete_step_up(started["attempt_token"]).status_code == 200
    # WHEN the same attempt is sent again
    r = client.complete_step_up(started["attempt_token"])
    # THEN 409 attempt_used, and iProov was asked once
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "attempt_used"
    assert validations_of(started["iproov"]["token"]) == 1


def test_another_sessions_step_up_is_refused_and_elevates_neither():
    # GIVEN the same person logged in on a second device, and a step-up started on the first
    first, username = registered()
    second = Client()
    scan(second.verify_login(username).json()["iproov"]["token"], "passed")
    assert second.login().status_code == 200
    started = first.start_step_up().json()
    scan(started["iproov"]["token"], "passed")
    # WHEN the second device completes the first device's attempt
    r = second.complete_step_up(started["attempt_token"])
    # THEN 403 step_up_foreign; the attempt was not validated, and nobody may erase
    assert r.status_code == 403, r.text
    assert r.json()["error"] == "step_up_foreign"
    assert validations_of(started["iproov"]["token"]) == 0
    assert second.erase(step_up=False).status_code == 403
    assert first.erase(step_up=False).status_code == 403
    # AND the first device can still complete its own attempt
    assert first.complete_step_up(started["attempt_token"]).status_code == 200


def test_a_step_up_attempt_cannot_log_in():
    # GIVEN a scanned step-up attempt
    client, _ = registered()
    started = client.start_step_up().json()
    scan(started["iproov"]["token"], "passed")
    # WHEN its credential is presented to the login, THEN it opens no session
    device = Client()
    device.attempt = started["attempt_token"]
    assert device.login().status_code == 401
    assert validations_of(started["iproov"]["token"]) == 0


def test_step_up_needs_a_live_session_and_ends_with_logout():
    # GIVEN no session, THEN a step-up cannot start
    assert Client().start_step_up().status_code == 401
    # GIVEN a step-up started, and the person logged out before completing it
    client, _ = registered()
    started = client.start_step_up().json()
    scan(started["iproov"]["token"], "passed")
    assert client.logout().status_code == 204
    # WHEN the attempt is completed with the old session, THEN 401 and nothing is validated
    assert client.complete_step_up(started["attempt_token"]).status_code == 401
    assert validations_of(started["iproov"]["token"]) == 0


def test_a_malformed_completion_is_a_400_in_the_error_shape():
    client, _ = registered()
    for body in ({}, {"attempt_token": 7}, {"attempt_token": "not-a-token"}, {"attempt_token": "a.b", "x": 1}):
        r = client.call("POST", "/v1/step-up/complete", credential=client.session, json=body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["error"] == "invalid_request"
        assert "request_id" in r.json()


def test_each_journeys_assurance_policy_reaches_iproov():
    # GIVEN the stack's per-journey policies (make e2e sets login and step-up apart)
    expected = {
        journey: (
            _configured(f"IPROOV_ASSURANCE_TYPE_{journey}", "genuine_presence"),
            _configured(f"IPROOV_RISK_PROFILE_{journey}", "") or None,
        )
        for journey in ("REGISTRATION", "LOGIN", "STEP_UP")
    }
    # WHEN a person registers, logs in and steps up
    client = Client()
    username = f"policy-{int(time.time() * 1000) % 10**9}"
    enrol = client.start_registration(username).json()["iproov"]["token"]
    scan(enrol, "passed")
    client.submit_scan()
    client.wait_for_registration("completed")
    verify = client.verify_login(username).json()["iproov"]["token"]
    scan(verify, "passed")
    assert client.login().status_code == 200
    step_up = client.start_step_up().json()["iproov"]["token"]
    # THEN iProov was asked for each token under that journey's policy
    for journey, token in (("REGISTRATION", enrol), ("LOGIN", verify), ("STEP_UP", step_up)):
        claim = _sandbox_claim(token)
        assert (claim["assurance_type"], claim["risk_profile"]) == expected[journey], journey


# Exclusive (tests/e2e/conftest.py): it injects iProov faults.
@pytest.mark.exclusive
def test_iproov_unavailable_elevates_nothing_and_the_attempt_can_be_completed_again():
    # GIVEN a scanned step-up, and iProov refusing the next validate with 429 (not processed)
    client, _ = registered()
    started = client.start_step_up().json()
    scan(started["iproov"]["token"], "passed")
    inject_fault("/claim/verify/validate", 429, 1, "too_many_requests")
    try:
        first = client.complete_step_up(started["attempt_token"])
    finally:
        clear_faults()
    # THEN 503 with Retry-After, and the session may not erase
    assert first.status_code == 503, first.text
    assert first.json()["error"] == "verifier_unavailable"
    assert int(first.headers["Retry-After"]) >= 1
    assert client.erase(step_up=False).status_code == 403
    # WHEN the page completes the same attempt again, THEN it elevates, with one real validate
    again = client.complete_step_up(started["attempt_token"])
    assert again.status_code == 200, again.text
    assert validations_of(started["iproov"]["token"]) == 1
