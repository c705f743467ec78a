"""The signing-key rotation drill of docs/oidc.md ("Signing keys and rotation"), step 1: with the
other key made active, new tokens are signed by it, and every token already issued keeps working.

Locally, "deploy with OidcActiveSigningKey=B" is the oidc-token function's instances replaced by
one whose environment says B (infra/local/function_instances.py), as Lambda replaces execution
environments after a deploy; only that function signs. The drill puts A back afterwards.
"""

from __future__ import annotations

import secrets

import function_instances  # infra/local (conftest.py puts it on sys.path)
import pytest
import requests

from journeys import API, registered
from oidc_flow import discover, id_token_claims, jwt_header, native_app, public_session, sign_in, userinfo

# Exclusive (tests/e2e/conftest.py): it changes which key signs every token of the stack.
pytestmark = pytest.mark.exclusive

SIGNER = "oidc-token"


def kid(token: str) -> str:
    return jwt_header(token)["kid"]


@pytest.fixture
def rotation():
    """Makes the other signing key active (`rotate("B")`), and the original one again after."""
    original: dict[str, str] = {}

    def rotate(label: str) -> None:
        for name, value in function_instances.redeploy(SIGNER, OIDC_ACTIVE_SIGNING_KEY=label).items():
            original.setdefault(name, value)

    yield rotate
    if original:
        function_instances.redeploy(SIGNER, **original)


def test_switching_the_active_key_signs_new_tokens_with_it_and_keeps_old_ones_valid(rotation):
    # GIVEN a person signed in to an app while key A signs (this also starts the signer)
    discovery, app = discover(), native_app()
    published = {k["kid"] for k in requests.get(discovery["jwks_uri"], timeout=10).json()["keys"]}
    _, username = registered()
    nonce = secrets.token_urlsafe(16)
    session = public_session(app)
    before, _ = sign_in(session, discovery, username, nonce)
    kid_a = kid(before["id_token"])
    assert len(published) == 2 and kid_a in published
    # WHEN the operator deploys with the other key active
    rotation("B")
    # THEN a new sign-in gets an ID token and an access token signed by B, both published before
    _, other = registered()
    other_nonce = secrets.token_urlsafe(16)
    after, _ = sign_in(public_session(app), discovery, other, other_nonce)
    assert kid(after["id_token"]) == kid(after["access_token"]) != kid_a
    assert kid(after["id_token"]) in published
    id_token_claims(discovery, after, app["client_id"], other_nonce)
    assert userinfo(discovery, after["access_token"]).status_code == 200
    me = requests.get(f"{API}/v1/users", headers={"Authorization": f"Bearer {after['access_token']}"}, timeout=10)
    assert me.status_code == 200, me.text
    # AND the tokens A signed before the switch still verify and are accepted until they expire
    id_token_claims(discovery, before, app["client_id"], nonce)
    assert userinfo(discovery, before["access_token"]).status_code == 200
    # AND refreshing a grant made under A issues tokens signed by B
    refreshed = session.refresh_token(discovery["token_endpoint"], refresh_token=before["refresh_token"])
    assert kid(refreshed["access_token"]) == kid(after["id_token"])
