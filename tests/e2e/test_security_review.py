"""Regression tests for the defects of the security review (issue 14), end to end against the
local stack. Each test failed before its fix; the KMS, cookie and browser ones also pin down
behaviour that the unit tests check in isolation, here through the gateway and moto."""

from __future__ import annotations

import base64
import time

import pytest
import requests

from journeys import (
    API,
    Client,
    assert_no_biometric_data,
    current_consent,
    aws,
    items,
    registered,
    registration_item,
    scan,
    unique_username,
    within_one_rate_window,
)

# What a browser adds to every fetch() from the demo page (it cannot be set by page scripts).
BROWSER_SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}
BROWSER_CROSS_SITE = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors", "Origin": "https://evil.example"}


# Defects 1 and 2: a lost username race ----------------------------------------------------------
def test_losing_a_username_race_leaves_no_image_and_no_iproov_enrolment():
    # GIVEN two people who started registering the same username before either finished
    username = unique_username("race")
    winner, loser = Client(), Client()
    first = winner.start_registration(username)
    second = loser.start_registration(username)
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    scan(first.json()["iproov"]["token"], "passed")
    scan(second.json()["iproov"]["token"], "passed")
    assert winner.submit_scan().status_code == 202
    assert winner.wait_for_registration("completed")["status"] == "completed"
    # WHEN the second scan is validated (the validator enrols it, stores its image, and then
    #      finds the name taken: a cancelled transaction, then a read of the claim)
    assert loser.submit_scan().status_code == 202
    state = loser.wait_for_registration("completed", "failed")
    # THEN the second registration failed as username_taken ...
    assert state["status"] == "failed" and state["reason"] == "username_taken", state
    # ... and nothing biometric of the loser is left: no image version, no iProov user
    record = registration_item(second.json()["registration_id"])
    assert_no_biometric_data(record["user_id"]["S"], record["iproov_user_id"]["S"])
    # AND the winner's data is untouched
    assert winner.me().json()["username"] == username


# Defect 3: erasure and the registration record -------------------------------------------------
def test_erasure_deletes_the_registration_record_and_ends_its_credential():
    # GIVEN a registered user whose device still holds the registration credential
    client, _ = registered()
    user_id = client.me().json()["user_id"]
    registration_id = client.registration_status().json()["registration_id"]
    assert registration_item(registration_id) is not None
    # WHEN the person erases the account and the erasure has run
    assert client.erase().status_code == 202
    deadline = time.time() + 30
    while time.time() < deadline and registration_item(registration_id) is not None:
        time.sleep(0.5)
    # THEN the registration record (sealed names, username index, iProov id and token) is gone,
    #      with the user
    assert registration_item(registration_id) is None
    assert not [i for i in items("UsersTable") if i.get("user_id", {}).get("S") == user_id]
    # AND its credential opens nothing any more
    status = client.registration_status()
    assert status.status_code == 404, status.text
    assert status.json()["error"] == "registration_not_found"


# Defect 4: nobody can lock a username out from their own network -------------------------------
def test_a_client_cannot_lock_someone_out_of_login_from_its_own_network():
    _, username = registered()
    # GIVEN an attacker who spent the username's budget from its network, rotating addresses
    within_one_rate_window()
    answers = [Client(ip=f"192.0.2.{10 + i}").verify_login(username).status_code for i in range(12)]
    assert answers[-1] == 429, answers
    # WHEN the person asks to log in from their own network
    person = Client(ip="198.51.100.77")
    answer = person.verify_login(username)
    # THEN they are served
    assert answer.status_code == 200, answer.text


def test_a_client_over_its_ip_limit_spends_nothing_of_the_username_budget():
    _, username = registered()
    # GIVEN an attacker whose address is already over its IP limit (30 per 10 minutes)
    attacker = Client(ip="192.0.2.200")
    within_one_rate_window(seconds_needed=90)
    for _ in range(31):
        attacker.verify_login(unique_username("spray"))
    assert attacker.verify_login(username).status_code == 429
    # WHEN it keeps asking for the victim's username a dozen more times
    for _ in range(12):
        assert attacker.verify_login(username).status_code == 429
    # THEN a neighbour on the same network still has the username's full budget
    neighbour_answers = [Client(ip=f"192.0.2.{210 + i}").verify_login(username).status_code for i in range(10)]
    assert neighbour_answers == [200] * 10, neighbour_answers


# Defect 6: personal fields are sealed under context-bound data keys ----------------------------
def test_sealed_names_need_the_personal_fields_context_to_open():
    client, _ = registered()
    user_id = client.me().json()["user_id"]
    account = next(i for i in items("UsersTable") if i["pk"]["S"] == f"user#{user_id}")
    # GIVEN the sealed username as stored: v2.<encrypted data key>.<ciphertext>
    version, encrypted_key, _ = account["username"]["S"].split(".")
    assert version == "v2"
    blob = base64.urlsafe_b64decode(encrypted_key + "=" * (-len(encrypted_key) % 4))
    kms = aws("kms")
    # WHEN KMS is asked to open the data key without the encryption context
    # THEN it refuses; with the context it opens
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=blob)
    assert len(kms.decrypt(CiphertextBlob=blob, EncryptionContext={"purpose": "personal-fields"})["Plaintext"]) == 32


# Defect 7: cookies and cross-site requests --------------------------------------------------------
def _cookie_session() -> tuple[Client, str]:
    client, _ = registered()
    return client, client.session


def test_a_cross_site_request_with_the_session_cookie_cannot_change_state():
    client, session = _cookie_session()
    # GIVEN a page on another site making the browser send the session cookie
    headers = {"Cookie": f"session={session}", "X-Forwarded-For": client.ip, **BROWSER_CROSS_SITE}
    # WHEN it asks to erase the account or to log out
    for method, path in (("DELETE", "/v1/users"), ("POST", "/v1/logout")):
        r = requests.request(method, API + path, headers=headers, timeout=10)
        # THEN 403 origin_not_allowed, and the session still works
        assert r.status_code == 403, r.text
        assert r.json()["error"] == "origin_not_allowed"
    assert client.me().status_code == 200
    # AND the same request from the page's own origin goes through
    own = {"Cookie": f"session={session}", "X-Forwarded-For": client.ip, **BROWSER_SAME_ORIGIN}
    assert requests.post(API + "/v1/logout", headers=own, timeout=10).status_code == 204


def test_a_duplicated_credential_cookie_is_refused():
    client, session = _cookie_session()
    # GIVEN a request carrying the session cookie twice (one planted beside the real one)
    headers = {"Cookie": f"session={session}; session=planted.value", "X-Forwarded-For": client.ip}
    # WHEN it reads the account, THEN 400 duplicate_credential
    r = requests.get(API + "/v1/users", headers=headers, timeout=10)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "duplicate_credential"


# Defect 8: browsers get credentials in cookies only ---------------------------------------------
def test_browser_requests_get_credentials_as_cookies_only():
    username = unique_username("browser")
    ip = "198.51.100.200"
    # WHEN a browser (fetch metadata) starts a registration
    r = requests.post(
        API + "/v1/users/registration",
        json={"username": username, "display_name": "Web Person", "consent": current_consent()},
        headers={"X-Forwarded-For": ip, **BROWSER_SAME_ORIGIN},
        timeout=10,
    )
    # THEN the credential is in the HttpOnly cookie and not in the body
    assert r.status_code == 201, r.text
    assert "session_token" not in r.json()
    assert "HttpOnly" in r.headers["Set-Cookie"] and r.headers["Set-Cookie"].startswith("registration=")
    # AND an app (no fetch metadata) still gets it in the body
    app = Client().start_registration(unique_username("app"))
    assert "session_token" in app.json()


def test_the_registration_hands_out_its_login_session_once():
    client = Client()
    r = client.start_registration(unique_username())
    scan(r.json()["iproov"]["token"], "passed")
    assert client.submit_scan().status_code == 202
    # GIVEN the first poll that reports completion (it carries the login session)
    first = client.wait_for_registration("completed")
    assert "login" in first and client.me().status_code == 200
    # WHEN the registration credential is used again
    again = client.registration_status().json()
    # THEN it reports completed without a session
    assert again["status"] == "completed" and "login" not in again


# Defect 9: display names ---------------------------------------------------------------------------
@pytest.mark.parametrize("display_name", ["Eve\U000E0041\U000E0064", "Eve\u3164", "Eve\U000E0100", "Eve\uE000"])
def test_display_names_with_invisible_characters_are_refused(display_name):
    r = Client().start_registration(unique_username(), display_name)
    assert r.status_code == 400, r.text
    assert "display_name" in r.json()["fields"]
