"""The operator API (/admin/..., IAM-authorised) against the local stack.

The local gateway plays API Gateway's IAM authorizer (infra/local/iam_authorizer.py): every call
here is signed with SigV4 the way `make admin` signs it (infra/ops/admin.py), as the local
operator (who holds the template's OperatorApiPolicy) or as the principal without it. Each
action's audit event is read back from the trail the audit writer keeps (AuditTable).
"""

from __future__ import annotations

import json
import secrets
import sys
import time
import uuid

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from conftest import REPO_ROOT, assert_error_shape
from journeys import API, Client, audit_records, registered, scan, wait_for
from oidc_flow import discover, native_app, public_session, refresh, sign_in, userinfo

sys.path.insert(0, str(REPO_ROOT / "infra" / "ops"))

import admin  # noqa: E402
from settings import REGION, local_caller  # noqa: E402

OPERATOR = local_caller("operator")
UNKNOWN_USER = "ffffffffffffffffffffffffffffffff"


def call(method: str, path: str, body: dict | None = None, *, caller: str = "operator",
         secret: str | None = None) -> requests.Response:
    """One operator call, signed as `caller` (with another secret, if given)."""
    who = local_caller(caller)
    data = json.dumps(body).encode() if body is not None else b""
    signed = admin.signed(method, API + path, data, Credentials(who.access_key, secret or who.secret_key), REGION)
    return requests.request(method, API + path, data=data or None, headers=dict(signed.header_items()), timeout=30)


def look_up(username: str) -> requests.Response:
    return call("POST", "/admin/users/lookup", {"username": username})


def user_id_of(username: str) -> str:
    r = look_up(username)
    assert r.status_code == 200, r.text
    return r.json()["user_id"]


def logged_in(username: str) -> Client:
    device = Client()
    r = device.verify_login(username)
    assert r.status_code == 200, r.text
    scan(r.json()["iproov"]["token"], "passed")
    assert device.login().status_code == 200
    return device


def assert_audited(kind: str, user_id: str) -> None:
    def found() -> dict | None:
        events = (r["event"] for r in audit_records())
        return next((e for e in events if e["kind"] == kind and e.get("user_id") == user_id), None)

    event = wait_for(f"{kind} in the audit trail", found, timeout=30)
    assert event["actor"] == {"type": "operator", "principal": OPERATOR.arn}


@pytest.fixture(scope="module")
def person() -> tuple[Client, str]:
    return registered()


# ----- the gateway's IAM authorizer ------------------------------------------------------------
def test_an_unsigned_request_is_refused_before_the_function(logs) -> None:
    # when a request without a signature asks for a user
    r = requests.get(f"{API}/admin/users/{UNKNOWN_USER}", timeout=10)
    # then API Gateway's 403 answers, and the gateway invoked nothing
    assert r.status_code == 403 and r.json() == {"message": "Forbidden"}
    request_id = r.headers["apigw-requestid"]
    line = logs.wait_for("gateway", lambda l: l.get("request_id") == request_id and l.get("event") == "request")
    assert line.get("function") is None
    assert request_id not in logs.text("functions")


def test_a_wrong_secret_is_refused() -> None:
    r = call("GET", f"/admin/users/{UNKNOWN_USER}", secret="not-the-operators-secret")
    assert r.status_code == 403
    assert r.json()["message"].startswith("The request signature we calculated does not match")


def test_a_principal_without_the_operator_policy_is_refused() -> None:
    r = call("GET", f"/admin/users/{UNKNOWN_USER}", caller="no-policy")
    assert r.status_code == 403 and r.json() == {"message": "Forbidden"}


def test_a_stale_signature_is_refused() -> None:
    # given a request signed correctly, but ten minutes ago
    path = f"/admin/users/{UNKNOWN_USER}"
    host = API.split("://", 1)[1]
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - 600))
    request = AWSRequest(method="GET", url=API + path, headers={"host": host, "X-Amz-Date": amz_date})
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(OPERATOR.access_key, OPERATOR.secret_key), "execute-api", REGION)
    signature = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    authorization = (f"AWS4-HMAC-SHA256 Credential={OPERATOR.access_key}/{amz_date[:8]}/{REGION}/execute-api/"
                     f"aws4_request, SignedHeaders=host;x-amz-date, Signature={signature}")
    # when it is sent, then it has expired
    r = requests.get(API + path, headers={"X-Amz-Date": amz_date, "Authorization": authorization}, timeout=10)
    assert r.status_code == 403 and r.json()["message"].startswith("Signature expired"), r.text


# ----- input ----------------------------------------------------------------------------------
def test_malformed_input_is_400_and_unknown_users_404() -> None:
    assert_error_shape(call("GET", "/admin/users/not-an-id"), 400, "invalid_request")
    assert_error_shape(call("PUT", "/admin/users/NOTHEX/lock"), 400, "invalid_request")
    assert_error_shape(look_up("a"), 400, "invalid_request")
    assert_error_shape(call("POST", "/admin/users/lookup", {"name": "x"}), 400, "invalid_request")
    assert_error_shape(call("GET", f"/admin/users/{UNKNOWN_USER}"), 404, "not_found")
    assert_error_shape(call("DELETE", f"/admin/users/{UNKNOWN_USER}/sessions"), 404, "not_found")
    assert_error_shape(look_up(f"nobody-{uuid.uuid4().hex[:12]}"), 404, "not_found")


# ----- the journeys ---------------------------------------------------------------------------
def test_a_user_is_looked_up_by_username_and_the_lookup_audited(person) -> None:
    client, username = person
    r = look_up(username)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"user_id", "created_at", "locked", "locked_at", "live_sessions", "consent"}
    # the consent's evidence, never its text: version, text hash, language, time, channel
    assert set(body["consent"]) == {"version", "text_sha256", "language", "accepted_at", "channel"}
    assert body["locked"] is False and body["live_sessions"] >= 1
    assert username not in r.text
    assert_audited("operator.user_looked_up", body["user_id"])


def test_a_locked_account_cannot_log_in_or_step_up_and_its_sessions_are_dead() -> None:
    # given a person logged in on one device
    _, username = registered()
    device = logged_in(username)
    user_id = user_id_of(username)
    # when an operator locks the account
    r = call("PUT", f"/admin/users/{user_id}/lock")
    assert r.status_code == 200, r.text
    assert r.json()["locked"] is True and r.json()["sessions_ended"] >= 2
    assert_audited("operator.account_locked", user_id)
    # then the open session is dead, for reading and for a step-up
    assert device.me().status_code == 401
    assert device.start_step_up().status_code == 401
    # and verify-login still answers as for any account, but a passed scan opens nothing
    other = Client()
    started = other.verify_login(username)
    assert started.status_code == 200
    scan(started.json()["iproov"]["token"], "passed")
    assert_error_shape(other.login(), 403, "account_locked")
    assert look_up(username).json()["locked"] is True

    # when the lock is lifted, then the person logs in again
    r = call("DELETE", f"/admin/users/{user_id}/lock")
    assert r.status_code == 200 and r.json()["locked"] is False
    assert_audited("operator.account_unlocked", user_id)
    again = logged_in(username)
    assert again.me().status_code == 200


def test_ending_sessions_logs_the_person_out_everywhere(person) -> None:
    _, username = person
    device = logged_in(username)
    user_id = user_id_of(username)
    r = call("DELETE", f"/admin/users/{user_id}/sessions")
    assert r.status_code == 200, r.text
    assert r.json()["sessions_ended"] >= 1
    assert device.me().status_code == 401
    assert_audited("operator.sessions_ended", user_id)


def test_ending_sessions_ends_the_persons_openid_connect_grants_too() -> None:
    # GIVEN a person signed in to a relying party through OpenID Connect
    _, username = registered()
    discovery, app = discover(), native_app()
    token, _ = sign_in(public_session(app), discovery, username, secrets.token_urlsafe(16))
    # WHEN an operator ends their sessions
    r = call("DELETE", f"/admin/users/{user_id_of(username)}/sessions")
    # THEN the grant ended with them: its refresh token is refused and its access token is dead
    assert r.status_code == 200, r.text
    assert r.json()["grants_ended"] == 1
    refreshed = refresh(discovery, app, token["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant", refreshed.text
    info = userinfo(discovery, token["access_token"])
    assert info.status_code == 401, info.text


def test_recent_attempts_are_listed_without_tokens(person) -> None:
    _, username = person
    logged_in(username)
    user_id = user_id_of(username)
    r = call("GET", f"/admin/users/{user_id}/attempts")
    assert r.status_code == 200, r.text
    attempts = r.json()["attempts"]
    assert attempts and attempts[0]["kind"] == "login" and attempts[0]["status"] == "passed"
    assert all(set(a) == {"at", "kind", "status", "reason"} for a in attempts)
    assert [a["at"] for a in attempts] == sorted((a["at"] for a in attempts), reverse=True)
    assert_audited("operator.attempts_listed", user_id)


def test_an_operator_erasure_removes_the_user_without_a_step_up() -> None:
    _, username = registered()
    user_id = user_id_of(username)
    r = call("DELETE", f"/admin/users/{user_id}")
    assert r.status_code == 202, r.text
    assert r.json() == {"status": "erasure_scheduled", "user_id": user_id}
    assert_audited("operator.erasure_requested", user_id)
    wait_for("the erasure", lambda: look_up(username).status_code == 404, timeout=45)
    assert call("GET", f"/admin/users/{user_id}").status_code == 404
