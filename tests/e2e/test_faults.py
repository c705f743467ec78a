"""Dependency faults answer a clear, retryable 503 with no internal detail, and leave nothing
half-written behind."""

from __future__ import annotations

import time

import pytest

from journeys import (
    Client,
    clear_faults,
    inject_fault,
    items,
    registered,
    scanned_login_attempt,
    unique_username,
    validations_of,
)

# Exclusive (tests/e2e/conftest.py): the iProov faults it injects would fail other tests' calls, and one test times a call.
pytestmark = pytest.mark.exclusive


def test_iproov_outage_on_token_issue_is_a_503_and_stores_nothing():
    before = len(items("RegistrationsTable"))
    # GIVEN iProov answers 500 to every enrol-token call for a while
    inject_fault("/claim/enrol/token", 500, 20, "server_error")
    try:
        r = Client().start_registration(unique_username())
    finally:
        clear_faults()
    # THEN a clear 503 the app can retry, with nothing internal in it, and nothing stored
    assert r.status_code == 503, r.text
    body = r.json()
    assert body["error"] == "verifier_unavailable"
    assert int(r.headers["Retry-After"]) >= 1
    assert "500" not in body["message"] and "iproov" not in body["message"].lower()
    assert len(items("RegistrationsTable")) == before


def test_iproov_rate_limit_on_login_validate_keeps_the_attempt_for_a_retry():
    _, username = registered()
    device, token = scanned_login_attempt(username)
    # GIVEN iProov refuses the next validate with 429 (not processed)
    inject_fault("/claim/verify/validate", 429, 1, "too_many_requests")
    try:
        first = device.login()
    finally:
        clear_faults()
    assert first.status_code == 503, first.text
    # WHEN the app retries the same attempt THEN it logs in, with one real validate
    second = device.login()
    assert second.status_code == 200, second.text
    assert validations_of(token) == 1


def test_iproov_error_with_unknown_outcome_on_login_ends_the_attempt_without_revalidating():
    _, username = registered()
    device, token = scanned_login_attempt(username)
    # GIVEN iProov answers 500 to the validate (it may or may not have processed it)
    inject_fault("/claim/verify/validate", 500, 1, "server_error")
    try:
        first = device.login()
    finally:
        clear_faults()
    assert first.status_code == 503, first.text
    assert first.json()["hint"]
    # THEN the attempt is over: a retry is refused rather than validating a maybe-used token
    assert device.login().status_code == 409
    # AND a fresh login works
    fresh, _ = scanned_login_attempt(username)
    assert fresh.login().status_code == 200


def test_iproov_timeout_on_token_issue_is_a_503_within_the_call_budget():
    before = len(items("RegistrationsTable"))
    # GIVEN iProov stops answering enrol-token calls (each would take 8 s)
    inject_fault("/claim/enrol/token", None, 5, delay_ms=8000)
    try:
        started = time.monotonic()
        r = Client().start_registration(unique_username())
        took = time.monotonic() - started
    finally:
        clear_faults()
    # THEN the client gives up within its time budget (5 s) and answers a clear 503; nothing stored
    assert r.status_code == 503, r.text
    assert r.json()["error"] == "verifier_unavailable"
    assert took < 9, f"took {took:.1f}s: the iProov call budget was not enforced"
    assert len(items("RegistrationsTable")) == before


def test_iproov_timeout_on_login_validate_is_a_503_and_ends_the_attempt():
    _, username = registered()
    device, token = scanned_login_attempt(username)
    # GIVEN iProov takes longer than the client waits for a validate (10 s)
    inject_fault("/claim/verify/validate", None, 1, delay_ms=12000)
    try:
        first = device.login()
    finally:
        clear_faults()
    # THEN a clear 503 (not a function timeout), and the maybe-used token is not validated again
    assert first.status_code == 503, first.text
    assert first.json()["hint"]
    assert device.login().status_code == 409
