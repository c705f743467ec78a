"""A rotated iProov secret is picked up by the running functions, without a redeploy.

The rotation is done the way an operator does it (docs/operations.md): iProov issues new
credentials (here: the sandbox's PUT /sandbox/credentials, after which the old ones are refused)
and the new values are put into the IProovSecret in Secrets Manager (moto). Nothing restarts.
"""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from journeys import SANDBOX, Client, aws, scan, stack, unique_username

# Exclusive (tests/e2e/conftest.py): it replaces the iProov credentials every function reads.
pytestmark = pytest.mark.exclusive

ORIGINAL = {
    "api_key": "sandbox-api-key",
    "secret": "sandbox-secret",
    "oauth_client_id": "sandbox-oauth-id",
    "oauth_client_secret": "sandbox-oauth-secret",
}


def iproov_secret_id() -> str:
    return stack()["secrets"]["IProovSecret"]["name"]


def rotate(values: dict[str, str]) -> None:
    r = requests.put(f"{SANDBOX}/sandbox/credentials", json=values, timeout=10)
    assert r.status_code == 200, r.text
    aws("secretsmanager").put_secret_value(SecretId=iproov_secret_id(), SecretString=json.dumps(values))


@pytest.fixture
def restore_credentials():
    yield
    rotate(ORIGINAL)


def test_rotated_iproov_credentials_are_used_without_redeploying(restore_credentials):
    # GIVEN the functions are warm, with the current credentials cached
    first = Client()
    assert first.register(unique_username())["status"] == "completed"
    # WHEN iProov's credentials are rotated and the secret updated, with no restart
    new = {name: f"rotated-{name}-{uuid.uuid4().hex[:8]}" for name in ORIGINAL}
    rotate(new)
    old_refused = requests.get(
        f"{SANDBOX}/api/v2/availability", params={"api_key": ORIGINAL["api_key"]}, timeout=10
    )
    assert old_refused.status_code == 401, "the sandbox should now refuse the old credentials"
    # THEN registration (token issuer + validator) and login work at once with the new ones
    client = Client()
    username = unique_username()
    assert client.register(username)["status"] == "completed"
    device = Client()
    token = device.verify_login(username)
    assert token.status_code == 200, token.text
    scan(token.json()["iproov"]["token"], "passed")
    assert device.login().status_code == 200
