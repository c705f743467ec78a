"""Consent to biometric processing, end to end (docs/consent.md): the text in the reader's
language, a registration refused without an accepted current version (nothing asked of iProov,
nothing stored), the record shown on the account, and the evidence that outlives erasure."""

from __future__ import annotations

import hashlib
import json
import time

import pytest
import requests

from journeys import (
    API,
    ROOT,
    SANDBOX,
    Client,
    aws,
    current_consent,
    items,
    registered,
    scan,
    table,
    unique_username,
    wait_for,
)

# What an evidence item may hold: the pseudonymous user id and the consent record, nothing else.
EVIDENCE_FIELDS = {
    "pk",
    "user_id",
    "consent_version",
    "consent_text_sha256",
    "consent_language",
    "consent_accepted_at",
    "consent_channel",
    "erased_at",
    "ttl",
}


def document() -> dict:
    return json.loads((ROOT / "config" / "consent.json").read_text())


def enrol_tokens_issued() -> int:
    calls = requests.get(f"{SANDBOX}/sandbox/stats", timeout=10).json()["calls"]
    return calls.get("POST /claim/enrol/token", 0)


def consent_get(language: str | None) -> requests.Response:
    headers = {"Accept-Language": language} if language else {}
    return requests.get(f"{API}/v1/consent", headers=headers, timeout=10)


@pytest.mark.parametrize(
    "accept_language, expected",
    [("en-GB,en;q=0.9", "en"), ("de-DE,de;q=0.9,en;q=0.5", "de"), ("fr-FR,fr;q=0.9", "en"), (None, "en")],
)
def test_the_current_text_comes_in_the_readers_language_or_english(accept_language, expected):
    # GIVEN the deployment's consent document
    doc = document()
    current = next(v for v in doc["versions"] if v["version"] == doc["current"])
    # WHEN the text is asked for with this Accept-Language
    r = consent_get(accept_language)
    # THEN it is the current version in that language (English when not offered), and says so
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == {
        "version": doc["current"],
        "language": expected,
        "text": current["texts"][expected],
        "purposes": current["purposes"],
    }
    assert r.headers["Content-Language"] == expected
    assert "Accept-Language" in r.headers["Vary"]


def outdated_version() -> str | None:
    doc = document()
    return next((v["version"] for v in doc["versions"] if v["version"] != doc["current"]), None)


# Exclusive (tests/e2e/conftest.py): it counts whole tables' items and every enrol token iProov issued, which other tests add to.
@pytest.mark.exclusive
@pytest.mark.parametrize(
    "consent, problem",
    [
        (None, "is required"),
        ("declined", "must be accepted"),
        ({"version": "no-such-version", "accepted": True}, "unknown version"),
        ({"version": "x", "accepted": "yes"}, "accepted must be"),
    ],
)
def test_without_an_accepted_known_version_nothing_is_asked_or_stored(consent, problem):
    if consent == "declined":
        consent = {**current_consent(), "accepted": False}
    # GIVEN what the stack holds and what iProov was asked so far
    registrations, rate_counters, tokens = len(items("RegistrationsTable")), len(items("RateLimitsTable")), enrol_tokens_issued()
    # WHEN a registration is started with this consent answer
    client = Client()
    r = client.start_registration(unique_username("noconsent"), consent=consent)
    # THEN it is refused on the consent field
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request"
    assert problem in r.json()["fields"]["consent"]
    # AND no registration, no rate-limit counter and no iProov token came of it
    assert client.registration is None
    assert len(items("RegistrationsTable")) == registrations
    assert len(items("RateLimitsTable")) == rate_counters
    assert enrol_tokens_issued() == tokens


# Exclusive (tests/e2e/conftest.py): it counts whole tables' items and every enrol token iProov issued, which other tests add to.
@pytest.mark.exclusive
def test_an_outdated_version_is_a_conflict_and_nothing_is_asked():
    version = outdated_version()
    if version is None:
        pytest.skip("config/consent.json lists no outdated version")
    # GIVEN a person who accepted a text that has since been replaced
    tokens, registrations = enrol_tokens_issued(), len(items("RegistrationsTable"))
    # WHEN they start a registration with it
    r = Client().start_registration(unique_username("outdated"), consent={"version": version, "accepted": True})
    # THEN they are told to read the current text, and nothing was spent or stored
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "consent_outdated"
    assert r.json()["hint"]
    assert enrol_tokens_issued() == tokens
    assert len(items("RegistrationsTable")) == registrations


def test_a_completed_registration_shows_the_consent_on_the_account():
    # GIVEN a person who accepted the current version in German and registered
    started = time.time()
    client = Client()
    answer = {**current_consent(), "language": "de"}
    r = client.start_registration(unique_username("consented"), consent=answer)
    assert r.status_code == 201, r.text
    scan(r.json()["iproov"]["token"], "passed")
    assert client.submit_scan().status_code == 202
    assert client.wait_for_registration("completed", "failed")["status"] == "completed"
    # WHEN they read their account
    me = client.me()
    # THEN it shows the version and when it was accepted
    assert me.status_code == 200, me.text
    consent = me.json()["consent"]
    assert consent["version"] == answer["version"]
    accepted = time.mktime(time.strptime(consent["accepted_at"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert started - 5 <= accepted <= time.time() + 5
    # AND the stored record names the German text's hash and the app channel
    user = aws("dynamodb").get_item(
        TableName=table("UsersTable"), Key={"pk": {"S": f"user#{me.json()['user_id']}"}}, ConsistentRead=True
    )["Item"]
    german = next(v for v in document()["versions"] if v["version"] == answer["version"])["texts"]["de"]
    assert user["consent_text_sha256"]["S"] == hashlib.sha256(german.encode()).hexdigest()
    assert user["consent_language"]["S"] == "de"
    assert user["consent_channel"]["S"] == "app"


def test_after_erasure_only_the_consent_evidence_is_left():
    # GIVEN a registered person
    client, _ = registered()
    user_id = client.me().json()["user_id"]
    # WHEN they withdraw consent by erasing their account (a step-up first)
    erased = client.erase()
    assert erased.status_code == 202, erased.text
    ddb = aws("dynamodb")

    def user_gone() -> bool:
        return "Item" not in ddb.get_item(
            TableName=table("UsersTable"), Key={"pk": {"S": f"user#{user_id}"}}, ConsistentRead=True
        )

    wait_for("the user to be erased", user_gone, timeout=45)
    # THEN the evidence item exists, holding the consent record and nothing of the person
    evidence = ddb.get_item(
        TableName=table("ConsentEvidenceTable"), Key={"pk": {"S": user_id}}, ConsistentRead=True
    ).get("Item")
    assert evidence, "no consent evidence after erasure"
    assert set(evidence) <= EVIDENCE_FIELDS, set(evidence) - EVIDENCE_FIELDS
    assert evidence["consent_version"]["S"] == current_consent()["version"]
    # AND it expires with the retention (whole days, at least 30) after the erasure
    kept = int(evidence["ttl"]["N"]) - int(evidence["erased_at"]["N"])
    assert kept % 86_400 == 0 and kept >= 30 * 86_400, kept
    # AND the evidence table's items never carry a name or a biometric reference
    for item in items("ConsentEvidenceTable"):
        assert set(item) <= EVIDENCE_FIELDS
