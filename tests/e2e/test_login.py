"""Login journey and sessions, end to end against the local stack."""

from __future__ import annotations

import time

import requests

from journeys import (
    API,
    SANDBOX,
    Client,
    aws,
    items,
    registered,
    registration_item,
    resource,
    scan,
    set_last_seen,
    unique_username,
    validations_of,
    within_one_rate_window,
)


def test_registered_user_logs_in_reads_account_and_logs_out():
    _, username = registered()
    device = Client()
    # WHEN the person asks to log in and passes the verify scan
    v = device.verify_login(username)
    assert v.status_code == 200, v.text
    assert v.json()["iproov"]["token"] and v.json()["expires_at"]
    scan(v.json()["iproov"]["token"], "passed")
    login = device.login()
    # THEN a new session opens and shows the account
    assert login.status_code == 200, login.text
    assert login.json()["user"]["username"] == username
    me = device.me()
    assert me.status_code == 200 and me.json()["username"] == username
    # WHEN they log out THEN the old credential is dead
    assert device.logout().status_code == 204
    after = device.me()
    assert after.status_code == 401 and after.json()["error"] == "unauthorized"


def test_failed_verification_gives_a_hint_and_a_second_login_never_validates_again():
    _, username = registered()
    device = Client()
    token = device.verify_login(username).json()["iproov"]["token"]
    scan(token, "failed", "sunglasses")
    first = device.login()
    assert first.status_code == 401, first.text
    assert first.json()["error"] == "verification_failed"
    assert first.json()["reason"] == "sunglasses"
    assert "sunglasses" in first.json()["hint"].lower()
    second = device.login()
    assert second.status_code == 409, second.text
    assert validations_of(token) == 1


def test_double_click_on_login_validates_once():
    _, username = registered()
    device = Client()
    token = device.verify_login(username).json()["iproov"]["token"]
    scan(token, "passed")
    assert device.login().status_code == 200
    assert device.login().status_code == 409
    assert validations_of(token) == 1


def test_unknown_username_is_not_registered():
    r = Client().verify_login(unique_username("nobody"))
    assert r.status_code == 404, r.text
    assert r.json()["error"] == "not_registered"


def test_session_past_its_idle_timeout_is_refused_though_the_item_exists():
    client, _ = registered()
    session_id = client.session.split(".")[0]
    # GIVEN the session was last used long ago (moved back in the record)
    set_last_seen(client.session, int(time.time()) - 3600)
    r = client.me()
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "session_expired"
    assert any(i["pk"]["S"] == session_id for i in items("SessionsTable"))


def test_a_session_only_ever_reads_its_own_account():
    alice, alice_name = registered()
    bob, bob_name = registered()
    assert alice.me().json()["username"] == alice_name
    assert bob.me().json()["username"] == bob_name
    # Bob's registration credential is no session, and a session is no registration credential
    assert Client(session=bob.registration).me().status_code == 401
    assert Client(registration=bob.session).registration_status().status_code in (401, 404)
    # A user id in the query or body is ignored: the account comes from the session only
    r = requests.get(
        f"{API}/v1/users?user_id=someone-else",
        headers={"Authorization": f"Bearer {alice.session}"},
        timeout=10,
    )
    assert r.json()["username"] == alice_name


def test_hammering_verify_login_is_rate_limited_for_that_client_only():
    _, username = registered()
    attacker = Client()
    within_one_rate_window()
    statuses = [attacker.verify_login(username).status_code for _ in range(12)]
    assert 429 in statuses, statuses
    limited = attacker.verify_login(username)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"] == "rate_limited"
    # Another user, from another address, is unaffected
    _, other = registered()
    assert Client().verify_login(other).status_code == 200


def test_erasure_leaves_nothing_and_frees_the_username():
    client, username = registered()
    user_id = client.me().json()["user_id"]
    registration_id = client.registration_status().json()["registration_id"]
    iproov_user_id = registration_item(registration_id)["iproov_user_id"]["S"]
    assert requests.get(f"{SANDBOX}/sandbox/users/{iproov_user_id}", timeout=10).status_code == 200
    r = client.erase()
    assert r.status_code == 202, r.text
    assert client.me().status_code == 401
    deadline = time.time() + 30
    while time.time() < deadline:
        left = [i for i in items("UsersTable") if i.get("user_id", {}).get("S") == user_id]
        if not left:
            break
        time.sleep(0.5)
    assert not left
    objects = aws("s3").list_object_versions(Bucket=resource("ImagesBucket"), Prefix=f"faces/{user_id}/")
    assert not objects.get("Versions") and not objects.get("DeleteMarkers")
    # AND iProov no longer knows the (pseudonymous) user
    assert requests.get(f"{SANDBOX}/sandbox/users/{iproov_user_id}", timeout=10).status_code == 404
    # The username can be registered again
    assert Client().register(username)["status"] == "completed"
