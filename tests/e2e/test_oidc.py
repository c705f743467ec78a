"""OpenID Connect: a certified relying-party library (Authlib) signs a person in with their face.

The whole flow runs against the local stack: discovery, authorize with PKCE, the hosted sign-in
page's two calls (done here over HTTP as the page does them), the person's face login through
the iProov sandbox, the code exchange, the ID token checked against the JWKS with Authlib's
OpenID Connect claim rules, userinfo, refresh rotation, revocation and introspection; then the
bad input: unknown clients and redirect URIs are never redirected to, codes are single-use,
refresh-token reuse revokes the grant, forged tokens are refused. Clients are registered with the
operator command (`make oidc-client`), as an operator would.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import jwt

from journeys import API, aws, last_seen, registered, set_last_seen, stack
from oidc_flow import (
    PRESENTED_REDIRECT, REDIRECT, authorize, complete, discover, face_login, face_login_after_request,
    id_token_claims, jwks, jwt_header, native_app, public_session, refresh, register_client, sign_in, userinfo,
)

@pytest.fixture(scope="module")
def discovery() -> dict:
    return discover()


@pytest.fixture(scope="module")
def public_client() -> dict:
    return native_app()


@pytest.fixture(scope="module")
def confidential_client() -> dict:
    return register_client("--name", "Portal", "--type", "confidential",
                           "--redirect-uri", "https://portal.example.com/cb", "--scope", "openid")


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# ----- the whole flow ---------------------------------------------------------------------------
def test_a_relying_party_signs_a_person_in_with_their_face(discovery: dict, public_client: dict):
    # GIVEN a registered person and a public native app using Authlib
    _, username = registered()
    assert discovery["issuer"] == API and discovery["code_challenge_methods_supported"] == ["S256"]
    session = public_session(public_client)
    nonce = secrets.token_urlsafe(16)
    # WHEN the app runs the authorization code flow with PKCE and the person scans their face
    token, redirect_to = sign_in(session, discovery, username, nonce)
    # THEN the redirect carried the issuer (RFC 9207) and the tokens are standard
    assert parse_qs(urlsplit(redirect_to).query)["iss"] == [discovery["issuer"]]
    assert token["token_type"].lower() == "bearer" and token["refresh_token"] and token["access_token"]
    # AND the ID token verifies against the JWKS, with the face-login claims
    claims = id_token_claims(discovery, token, public_client["client_id"], nonce)
    assert claims["amr"] == ["face"] and claims["acr"].startswith("urn:iproov:assurance:")
    assert claims["name"] == "Test Person" and abs(claims["auth_time"] - time.time()) < 120
    header = jwt_header(token["id_token"])
    assert header["alg"] == "ES256" and header["kid"] in {k["kid"] for k in requests.get(discovery["jwks_uri"], timeout=10).json()["keys"]}
    # AND userinfo answers with the same pairwise subject and the display name
    info = session.get(discovery["userinfo_endpoint"])
    assert info.status_code == 200, info.text
    assert info.json() == {"sub": claims["sub"], "name": "Test Person"}
    # AND the v1 API accepts the access token as a Bearer credential
    me = requests.get(f"{API}/v1/users", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10)
    assert me.status_code == 200 and me.json()["display_name"] == "Test Person", me.text


def test_refresh_tokens_rotate_and_reusing_an_old_one_revokes_the_grant(discovery: dict, public_client: dict):
    _, username = registered()
    session = public_session(public_client)
    nonce = secrets.token_urlsafe(16)
    first, _ = sign_in(session, discovery, username, nonce)
    # WHEN the app refreshes
    second = session.refresh_token(discovery["token_endpoint"], refresh_token=first["refresh_token"])
    # THEN it gets a new refresh token and a new ID token with the original auth_time
    assert second["refresh_token"] != first["refresh_token"]
    before = id_token_claims(discovery, first, public_client["client_id"], nonce)
    after = jwt.decode(second["id_token"], jwks(discovery))
    assert after["auth_time"] == before["auth_time"] and after["sub"] == before["sub"]
    # WHEN the old refresh token is presented again (stolen and replayed)
    replay = refresh(discovery, public_client, first["refresh_token"])
    # THEN it is refused, and the whole grant is gone: the newest refresh and access tokens too
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant", replay.text
    newest = refresh(discovery, public_client, second["refresh_token"])
    assert newest.status_code == 400 and newest.json()["error"] == "invalid_grant"
    info = userinfo(discovery, second['access_token'])
    assert info.status_code == 401 and "invalid_token" in info.headers.get("www-authenticate", "")


def test_revocation_ends_the_grant_and_introspection_reports_it(discovery: dict, confidential_client: dict):
    # GIVEN a confidential client (client_secret_basic) that signed a person in
    _, username = registered()
    portal = (confidential_client["client_id"], confidential_client["client_secret"])
    session = OAuth2Session(confidential_client["client_id"], confidential_client["client_secret"],
                            redirect_uri="https://portal.example.com/cb", scope="openid",
                            code_challenge_method="S256", token_endpoint_auth_method="client_secret_basic")
    token, _ = sign_in(session, discovery, username, secrets.token_urlsafe(16))
    # AND introspection (confidential clients only) sees its access token as active
    seen = requests.post(discovery["introspection_endpoint"], data={"token": token["access_token"]}, auth=portal, timeout=10)
    assert seen.status_code == 200 and seen.json()["active"] is True, seen.text
    assert seen.json()["client_id"] == confidential_client["client_id"] and seen.json()["iss"] == discovery["issuer"]
    # AND its refresh token too, under the same pairwise subject
    refresh_seen = requests.post(discovery["introspection_endpoint"], data={"token": token["refresh_token"]}, auth=portal, timeout=10)
    assert refresh_seen.json()["active"] is True and refresh_seen.json()["sub"] == seen.json()["sub"], refresh_seen.text
    # WHEN the client revokes its refresh token (RFC 7009)
    revoked = session.revoke_token(discovery["revocation_endpoint"], token=token["refresh_token"],
                                   token_type_hint="refresh_token")
    assert revoked.status_code == 200, revoked.text
    # THEN neither token works any more, and introspection says so
    refresh = requests.post(discovery["token_endpoint"], data={
        "grant_type": "refresh_token", "refresh_token": token["refresh_token"]}, auth=portal, timeout=10)
    assert refresh.json()["error"] == "invalid_grant"
    seen = requests.post(discovery["introspection_endpoint"], data={"token": token["access_token"]}, auth=portal, timeout=10)
    assert seen.json() == {"active": False}


def test_introspection_is_refused_to_public_clients_and_blind_to_other_clients_tokens(
        discovery: dict, public_client: dict, confidential_client: dict):
    _, username = registered()
    token, _ = sign_in(public_session(public_client), discovery, username, secrets.token_urlsafe(16))
    # A public client cannot introspect at all
    public = requests.post(discovery["introspection_endpoint"],
                           data={"token": token["access_token"], "client_id": public_client["client_id"]}, timeout=10)
    assert public.status_code in (400, 401) and public.json()["error"] in ("invalid_client", "unauthorized_client")
    # Another (confidential) client learns nothing about a token that is not its own
    portal = (confidential_client["client_id"], confidential_client["client_secret"])
    other = requests.post(discovery["introspection_endpoint"], data={"token": token["access_token"]}, auth=portal, timeout=10)
    assert other.json() == {"active": False}


def test_two_clients_see_two_unlinkable_subjects_for_one_person(discovery: dict, public_client: dict):
    _, username = registered()
    other = register_client("--name", "Other app", "--type", "public", "--redirect-uri", REDIRECT)
    nonce = secrets.token_urlsafe(16)
    mine, _ = sign_in(public_session(public_client), discovery, username, nonce)
    theirs, _ = sign_in(OAuth2Session(other["client_id"], redirect_uri=PRESENTED_REDIRECT, scope="openid",
                                      code_challenge_method="S256", token_endpoint_auth_method="none"),
                        discovery, username, nonce)
    a = id_token_claims(discovery, mine, public_client["client_id"], nonce)
    b = id_token_claims(discovery, theirs, other["client_id"], nonce)
    assert a["sub"] != b["sub"]
    # AND without the profile scope there is no name
    assert "name" not in b


def test_completing_a_sign_in_records_the_login_sessions_activity(discovery: dict, public_client: dict):
    # GIVEN a person whose login session was last used two minutes ago (moved back in the record;
    # activity is written at most once a minute, and the idle timeout is far longer)
    _, username = registered()
    request_id, _, _ = authorize(public_session(public_client), discovery, nonce=secrets.token_urlsafe(16))
    device = face_login_after_request(username)
    two_minutes_ago = int(time.time()) - 120
    set_last_seen(device.session, two_minutes_ago)
    # WHEN the sign-in page completes the sign-in with that session
    done = complete(device, request_id)
    assert done.status_code == 200, done.text
    # THEN the session's activity is recorded, as on every route a session uses
    assert last_seen(device.session) >= two_minutes_ago + 115


# ----- bad input ------------------------------------------------------------------------------
def test_an_unknown_client_or_unregistered_redirect_uri_is_never_redirected_to(discovery: dict, public_client: dict):
    base = {"response_type": "code", "scope": "openid", "code_challenge": "A" * 43, "code_challenge_method": "S256"}
    for params in ({**base, "client_id": "no-such-client", "redirect_uri": REDIRECT},
                   {**base, "client_id": public_client["client_id"], "redirect_uri": "https://evil.example/cb"}):
        r = requests.get(discovery["authorization_endpoint"], params=params, allow_redirects=False, timeout=10)
        assert r.status_code == 400 and "location" not in r.headers, r.headers
        assert set(r.json()) >= {"error", "error_description"}


def test_a_public_client_without_pkce_or_with_plain_gets_an_error_at_its_redirect_uri(discovery: dict, public_client: dict):
    base = {"response_type": "code", "scope": "openid", "client_id": public_client["client_id"],
            "redirect_uri": PRESENTED_REDIRECT, "state": "s-123"}
    for extra in ({}, {"code_challenge": "A" * 43, "code_challenge_method": "plain"}):
        r = requests.get(discovery["authorization_endpoint"], params={**base, **extra}, allow_redirects=False, timeout=10)
        assert r.status_code == 302, r.text
        query = parse_qs(urlsplit(r.headers["location"]).query)
        assert r.headers["location"].startswith(PRESENTED_REDIRECT)
        assert query["error"] == ["invalid_request"] and query["state"] == ["s-123"]


def test_prompt_none_answers_login_required(discovery: dict, public_client: dict):
    session = public_session(public_client)
    url, _ = session.create_authorization_url(discovery["authorization_endpoint"], code_verifier=secrets.token_urlsafe(48), prompt="none")
    r = requests.get(url, allow_redirects=False, timeout=10)
    assert parse_qs(urlsplit(r.headers["location"]).query)["error"] == ["login_required"]


def test_a_session_opened_before_the_request_must_scan_again(discovery: dict, public_client: dict):
    # GIVEN a person already logged in, and an authorization request made after that login
    _, username = registered()
    device = face_login(username)
    time.sleep(1.1)
    request_id, _, _ = authorize(public_session(public_client), discovery)
    # WHEN the page hands back that older session
    r = complete(device, request_id)
    # THEN a fresh face login is required
    assert r.status_code == 403 and r.json()["error"] == "fresh_login_required", r.text


def test_cancel_redirects_access_denied_and_the_request_is_single_use(discovery: dict, public_client: dict):
    _, username = registered()
    request_id, state, _ = authorize(public_session(public_client), discovery)
    device = face_login_after_request(username)
    denied = complete(device, request_id, "deny")
    assert denied.status_code == 200
    query = parse_qs(urlsplit(denied.json()["redirect_to"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == [state]
    again = complete(device, request_id)
    assert again.status_code in (404, 410), again.text


def test_a_replayed_code_is_refused_and_revokes_what_it_issued(discovery: dict, public_client: dict):
    _, username = registered()
    session = public_session(public_client)
    request_id, state, verifier = authorize(session, discovery)
    device = face_login_after_request(username)
    redirect_to = complete(device, request_id).json()["redirect_to"]
    code = parse_qs(urlsplit(redirect_to).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": PRESENTED_REDIRECT,
            "client_id": public_client["client_id"], "code_verifier": verifier}
    first = requests.post(discovery["token_endpoint"], data=form, timeout=10)
    assert first.status_code == 200, first.text
    replay = requests.post(discovery["token_endpoint"], data=form, timeout=10)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    info = userinfo(discovery, first.json()['access_token'])
    assert info.status_code == 401


def test_a_wrong_code_verifier_is_invalid_grant(discovery: dict, public_client: dict):
    _, username = registered()
    request_id, _, _ = authorize(public_session(public_client), discovery)
    redirect_to = complete(face_login_after_request(username), request_id).json()["redirect_to"]
    code = parse_qs(urlsplit(redirect_to).query)["code"][0]
    r = requests.post(discovery["token_endpoint"], data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": PRESENTED_REDIRECT,
        "client_id": public_client["client_id"], "code_verifier": secrets.token_urlsafe(48)}, timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_an_expired_code_is_invalid_grant(discovery: dict, public_client: dict):
    _, username = registered()
    request_id, _, verifier = authorize(public_session(public_client), discovery)
    redirect_to = complete(face_login_after_request(username), request_id).json()["redirect_to"]
    code = parse_qs(urlsplit(redirect_to).query)["code"][0]
    # GIVEN the code's 60 seconds have passed (moved back in the table instead of waiting)
    table = stack()["tables"]["OidcTable"]["name"]
    aws("dynamodb").update_item(TableName=table, Key={"pk": {"S": f"code#{code.split('.')[0]}"}},
                                UpdateExpression="SET expires_at = :old",
                                ExpressionAttributeValues={":old": {"N": str(int(time.time()) - 1)}})
    r = requests.post(discovery["token_endpoint"], data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": PRESENTED_REDIRECT,
        "client_id": public_client["client_id"], "code_verifier": verifier}, timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_a_confidential_client_with_a_wrong_secret_is_invalid_client(discovery: dict, confidential_client: dict):
    r = requests.post(discovery["token_endpoint"], data={"grant_type": "authorization_code", "code": "x.y",
                      "redirect_uri": "https://portal.example.com/cb"},
                      auth=(confidential_client["client_id"], "not-the-secret"), timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert r.headers.get("www-authenticate", "").lower().startswith("basic")


@pytest.mark.parametrize("forge", ["none", "hs256", "wrong_kid", "wrong_iss", "expired"])
def test_forged_or_stale_access_tokens_are_refused(discovery: dict, public_client: dict, forge: str):
    _, username = registered()
    session = public_session(public_client)
    token, _ = sign_in(session, discovery, username, secrets.token_urlsafe(16))
    header_b64, claims_b64, signature = token["access_token"].split(".")
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=="))
    claims = json.loads(base64.urlsafe_b64decode(claims_b64 + "=="))
    if forge == "none":
        forged = f"{b64({**header, 'alg': 'none'})}.{claims_b64}."
    elif forge == "hs256":
        forged = f"{b64({**header, 'alg': 'HS256'})}.{claims_b64}.{signature}"
    elif forge == "wrong_kid":
        forged = f"{b64({**header, 'kid': 'not-a-key'})}.{claims_b64}.{signature}"
    elif forge == "wrong_iss":
        forged = f"{header_b64}.{b64({**claims, 'iss': 'https://evil.example'})}.{signature}"
    else:
        forged = f"{header_b64}.{b64({**claims, 'exp': int(time.time()) - 10})}.{signature}"
    info = userinfo(discovery, forged)
    assert info.status_code == 401, info.text
    me = requests.get(f"{API}/v1/users", headers={"Authorization": f"Bearer {forged}"}, timeout=10)
    assert me.status_code == 401


def test_erasure_ends_the_persons_grants(discovery: dict, public_client: dict):
    device, username = registered()
    session = public_session(public_client)
    token, _ = sign_in(session, discovery, username, secrets.token_urlsafe(16))
    # WHEN the person erases their account
    assert device.erase().status_code == 202

    def refused() -> bool:
        r = refresh(discovery, public_client, token["refresh_token"])
        return r.status_code == 400

    # THEN their refresh token stops working once the erasure has run
    deadline = time.monotonic() + 45
    while not refused():
        assert time.monotonic() < deadline, "the grant outlived the erasure"
        time.sleep(0.5)


def test_rp_initiated_logout_ends_the_grant_and_returns_to_a_registered_uri_only(discovery: dict, public_client: dict):
    _, username = registered()
    token, _ = sign_in(public_session(public_client), discovery, username, secrets.token_urlsafe(16))
    # GIVEN a logout asking to return somewhere that is not registered: shown, never redirected
    elsewhere = requests.get(discovery["end_session_endpoint"], params={
        "id_token_hint": token["id_token"], "post_logout_redirect_uri": "https://evil.example/",
        "state": "s-1"}, allow_redirects=False, timeout=10)
    assert elsewhere.status_code == 400 and "location" not in elsewhere.headers
    # WHEN the app logs the person out with its ID token and its registered URI
    out = requests.get(discovery["end_session_endpoint"], params={
        "id_token_hint": token["id_token"], "post_logout_redirect_uri": REDIRECT, "state": "s-2"},
        allow_redirects=False, timeout=10)
    # THEN the browser goes back there with the state, and the grant is over
    assert out.status_code == 302, out.text
    assert out.headers["location"].startswith(REDIRECT) and parse_qs(urlsplit(out.headers["location"]).query)["state"] == ["s-2"]
    refreshed = refresh(discovery, public_client, token["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


def test_a_private_key_jwt_client_authenticates_with_a_signed_assertion_once(discovery: dict, tmp_path):
    from authlib.oauth2.rfc7523 import PrivateKeyJWT
    from joserfc.jwk import ECKey

    # GIVEN a server-side client registered with its public key only
    key = ECKey.generate_key("P-256", {"kid": "rp-key-1"}, private=True)
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    client = register_client("--name", "Service", "--type", "private-key-jwt", "--jwks-file", str(tmp_path / "jwks.json"),
                             "--redirect-uri", "https://service.example/cb", "--scope", "openid")
    session = OAuth2Session(client["client_id"], key, redirect_uri="https://service.example/cb", scope="openid",
                            code_challenge_method="S256", token_endpoint_auth_method="private_key_jwt")
    signer = PrivateKeyJWT(discovery["token_endpoint"], alg="ES256", headers={"kid": "rp-key-1"})
    session.register_client_auth_method(signer)
    # WHEN it signs a person in, authenticating at the token endpoint with a signed assertion
    _, username = registered()
    nonce = secrets.token_urlsafe(16)
    token, _ = sign_in(session, discovery, username, nonce)
    # THEN it gets tokens
    assert id_token_claims(discovery, token, client["client_id"], nonce)["amr"] == ["face"]
    # AND an assertion replayed as is (same jti) is refused
    assertion = signer.sign(SimpleNamespace(client_id=client["client_id"], client_secret=key), discovery["token_endpoint"])
    form = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"],
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion}
    first = requests.post(discovery["token_endpoint"], data=form, timeout=10)
    assert first.status_code == 200, first.text
    replay = requests.post(discovery["token_endpoint"], data={**form, "refresh_token": first.json()["refresh_token"]}, timeout=10)
    assert replay.status_code == 401 and replay.json()["error"] == "invalid_client"


def test_logging_out_of_the_v1_api_with_an_access_token_ends_its_grant(discovery: dict, public_client: dict):
    _, username = registered()
    token, _ = sign_in(public_session(public_client), discovery, username, secrets.token_urlsafe(16))
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    # WHEN the app logs out through the v1 API with its access token
    out = requests.post(f"{API}/v1/logout", headers=bearer, timeout=10)
    assert out.status_code == 204, out.text
    # THEN that token opens nothing any more, and the grant's refresh token is worthless
    assert requests.get(f"{API}/v1/users", headers=bearer, timeout=10).status_code == 401
    refreshed = refresh(discovery, public_client, token["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
