"""The OpenID Connect flow as a relying party and the hosted sign-in page run it, for the
end-to-end tests that need a person signed in through it (test_oidc.py, the operator API's
grant revocation, the signing-key rotation drill).
"""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

from journeys import API, ROOT, Client, scanned_login_attempt

REDIRECT = "http://127.0.0.1/callback"
# A native app's loopback redirect: any port matches the registered portless URI (RFC 8252).
PRESENTED_REDIRECT = "http://127.0.0.1:53682/callback"


def register_client(*args: str) -> dict:
    """`make oidc-client LOCAL=1 ARGS='add …'`, as an operator runs it."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "infra" / "ops" / "oidc_client.py"), "--local", "add", *args],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def face_login(username: str) -> Client:
    """The person logs in with their face, as the sign-in page does it."""
    device, _ = scanned_login_attempt(username)
    assert device.login().status_code == 200
    return device


def face_login_after_request(username: str) -> Client:
    """The face login the sign-in page runs for a request just made. A real scan takes
    seconds; here it is instant, and the session must be opened after the request (whole
    seconds, strictly) to count as a sign-in made for it."""
    time.sleep(1.05)
    return face_login(username)


def authorize(session: OAuth2Session, discovery: dict, **params) -> tuple[str, str, str]:
    """Authorize like a browser: returns (request id for the sign-in page, state, code verifier)."""
    verifier = secrets.token_urlsafe(48)
    url, state = session.create_authorization_url(discovery["authorization_endpoint"], code_verifier=verifier, **params)
    r = requests.get(url, allow_redirects=False, timeout=10)
    assert r.status_code == 302, r.text
    location = urlsplit(r.headers["location"])
    assert location.path == "/signin.html", r.headers["location"]
    return parse_qs(location.query)["request"][0], state, verifier


def complete(device: Client, request_id: str, decision: str = "allow") -> requests.Response:
    return device.call("POST", "/oauth2/authorize/complete", credential=device.session,
                       json={"request": request_id, "decision": decision})


def sign_in(session: OAuth2Session, discovery: dict, username: str, nonce: str) -> tuple[dict, str]:
    """Authorize → face login → complete → code exchange: (token answer, the redirect URL)."""
    request_id, state, verifier = authorize(session, discovery, nonce=nonce)
    device = face_login_after_request(username)
    done = complete(device, request_id)
    assert done.status_code == 200, done.text
    redirect_to = done.json()["redirect_to"]
    token = session.fetch_token(discovery["token_endpoint"], authorization_response=redirect_to,
                                code_verifier=verifier, state=state)
    return token, redirect_to


def jwks(discovery: dict):
    return JsonWebKey.import_key_set(requests.get(discovery["jwks_uri"], timeout=10).json())


def id_token_claims(discovery: dict, token: dict, client_id: str, nonce: str) -> dict:
    claims = jwt.decode(
        token["id_token"], jwks(discovery), claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": discovery["issuer"]}},
        claims_params={"nonce": nonce, "client_id": client_id},
    )
    claims.validate()
    return dict(claims)


def public_session(client: dict, **kw) -> OAuth2Session:
    return OAuth2Session(client["client_id"], redirect_uri=PRESENTED_REDIRECT, scope="openid profile",
                         code_challenge_method="S256", token_endpoint_auth_method="none", **kw)


def refresh(discovery: dict, client: dict, refresh_token: str) -> requests.Response:
    """A public client's refresh-token request, as sent (no library): the answer is asserted on."""
    return requests.post(discovery["token_endpoint"], data={
        "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client["client_id"]},
        timeout=10)


def userinfo(discovery: dict, access_token: str) -> requests.Response:
    """`GET /oauth2/userinfo` with `access_token` as the Bearer credential."""
    return requests.get(discovery["userinfo_endpoint"], headers={"Authorization": f"Bearer {access_token}"},
                        timeout=10)


def jwt_header(token: str) -> dict:
    """The decoded (unverified) header of a compact JWS."""
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))


def discover() -> dict:
    """The discovery document, as a relying party reads it."""
    r = requests.get(f"{API}/.well-known/openid-configuration", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def native_app() -> dict:
    """A public native app (PKCE, loopback redirect), registered as an operator does it."""
    return register_client("--name", "Native test app", "--type", "public", "--redirect-uri", REDIRECT,
                           "--scope", "openid", "--scope", "profile", "--post-logout-redirect-uri", REDIRECT)
