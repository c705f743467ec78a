"""infra/ops/oidc_client.py against in-process moto (`moto.mock_aws`): no server, no network."""

from __future__ import annotations

import hashlib
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import oidc_client  # noqa: E402

REGION = "eu-west-1"
TABLE = "oidc"


@pytest.fixture()
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def run(dynamodb: Any, *argv: str) -> dict | list:
    out = io.StringIO()
    assert oidc_client.run(oidc_client.parse_args(["--local", *argv]), dynamodb, TABLE, out) == 0
    return json.loads(out.getvalue())


def test_a_confidential_client_gets_a_secret_once_and_only_its_hash_is_stored(dynamodb: Any):
    # WHEN an operator registers a confidential client
    shown = run(dynamodb, "add", "--name", "Portal", "--type", "confidential",
                "--redirect-uri", "https://portal.example.com/cb")
    # THEN the secret is printed, and the table holds its SHA-256 only
    item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"client#{shown['client_id']}"}})["Item"]
    assert item["secret_sha256"]["S"] == hashlib.sha256(shown["client_secret"].encode()).hexdigest()
    assert shown["client_secret"] not in json.dumps(item)
    assert item["auth_method"]["S"] == "client_secret_basic"
    # AND showing it later never reveals the secret or its hash
    again = run(dynamodb, "show", shown["client_id"])
    assert "client_secret" not in again and "secret_sha256" not in json.dumps(again)


def test_a_public_client_has_no_secret_and_defaults_to_openid_profile(dynamodb: Any):
    shown = run(dynamodb, "add", "--name", "Native", "--type", "public", "--client-id", "native-app-1",
                "--redirect-uri", "http://127.0.0.1/callback")
    assert "client_secret" not in shown
    assert shown["scopes"] == ["openid", "profile"] and shown["sector"] == "native-app-1"
    assert [c["client_id"] for c in run(dynamodb, "list")] == ["native-app-1"]


@pytest.mark.parametrize("uri", [
    "http://example.com/cb",            # plain http off loopback
    "http://localhost/cb",              # localhost is not loopback here (RFC 8252 8.3)
    "https://app.example.com/cb#frag",  # fragment
    "javascript:alert(1)",              # not a private-use scheme with a dot
    "myapp:/cb",
])
def test_unsafe_redirect_uris_are_refused(dynamodb: Any, uri: str):
    args = oidc_client.parse_args(["--local", "add", "--name", "X", "--type", "public", "--redirect-uri", uri])
    with pytest.raises(oidc_client.UsageError):
        oidc_client.run(args, dynamodb, TABLE, io.StringIO())
    assert dynamodb.scan(TableName=TABLE)["Count"] == 0


def test_a_private_use_scheme_and_ipv6_loopback_are_accepted(dynamodb: Any):
    shown = run(dynamodb, "add", "--name", "Phone", "--type", "public",
                "--redirect-uri", "com.example.app:/oauth2redirect", "--redirect-uri", "http://[::1]/cb")
    assert shown["redirect_uris"] == ["com.example.app:/oauth2redirect", "http://[::1]/cb"]


def test_every_generated_client_id_can_be_given_back_on_the_command_line():
    # GIVEN many client ids the tool generates (base64url ids began with "-" once in 64 draws,
    # and `show -hRrpr...` then read as the -h option)
    ids = [oidc_client.new_client_id() for _ in range(500)]
    # THEN each is 22 letters and digits, unique, and parses back as the positional argument
    assert all(len(i) == 22 and i.isalnum() and i.isascii() for i in ids)
    assert len(set(ids)) == len(ids)
    for client_id in ids:
        assert oidc_client.parse_args(["--local", "show", client_id]).client_id == client_id


def test_a_chosen_client_id_starting_with_a_dash_is_refused(dynamodb: Any):
    # WHEN an operator chooses an id that later command lines would read as an option
    args = oidc_client.parse_args(["--local", "add", "--name", "X", "--type", "public",
                                   "--client-id=-hidden-app", "--redirect-uri", "https://a.example/cb"])
    # THEN it is refused and nothing is written
    with pytest.raises(oidc_client.UsageError, match="starting with a letter or digit"):
        oidc_client.run(args, dynamodb, TABLE, io.StringIO())
    assert dynamodb.scan(TableName=TABLE)["Count"] == 0


def test_a_client_id_cannot_be_registered_twice(dynamodb: Any):
    run(dynamodb, "add", "--name", "A", "--type", "public", "--client-id", "same-client", "--redirect-uri", "https://a.example/cb")
    args = oidc_client.parse_args(["--local", "add", "--name", "B", "--type", "public", "--client-id", "same-client",
                                   "--redirect-uri", "https://b.example/cb"])
    with pytest.raises(oidc_client.UsageError, match="already exists"):
        oidc_client.run(args, dynamodb, TABLE, io.StringIO())
    assert run(dynamodb, "show", "same-client")["client_name"] == "A"


def test_rotating_a_secret_replaces_the_hash_and_refuses_public_clients(dynamodb: Any):
    shown = run(dynamodb, "add", "--name", "Portal", "--type", "confidential", "--redirect-uri", "https://p.example/cb")
    rotated = run(dynamodb, "rotate-secret", shown["client_id"])
    item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"client#{shown['client_id']}"}})["Item"]
    assert item["secret_sha256"]["S"] == hashlib.sha256(rotated["client_secret"].encode()).hexdigest()
    public = run(dynamodb, "add", "--name", "Native", "--type", "public", "--redirect-uri", "http://127.0.0.1/cb")
    with pytest.raises(oidc_client.UsageError):
        oidc_client.run(oidc_client.parse_args(["--local", "rotate-secret", public["client_id"]]), dynamodb, TABLE, io.StringIO())


def test_a_private_key_jwt_client_needs_public_keys_only(dynamodb: Any, tmp_path: Path):
    private = tmp_path / "private.json"
    private.write_text(json.dumps({"keys": [{"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "d": "secret"}]}))
    args = oidc_client.parse_args(["--local", "add", "--name", "S2S", "--type", "private-key-jwt",
                                   "--redirect-uri", "https://s.example/cb", "--jwks-file", str(private)])
    with pytest.raises(oidc_client.UsageError, match="private key"):
        oidc_client.run(args, dynamodb, TABLE, io.StringIO())
    public = tmp_path / "public.json"
    public.write_text(json.dumps({"keys": [{"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "kid": "k1"}]}))
    shown = run(dynamodb, "add", "--name", "S2S", "--type", "private-key-jwt",
                "--redirect-uri", "https://s.example/cb", "--jwks-file", str(public))
    assert shown["type"] == "private-key-jwt" and "client_secret" not in shown


def test_removing_a_client_deletes_its_registration(dynamodb: Any):
    shown = run(dynamodb, "add", "--name", "Gone", "--type", "public", "--redirect-uri", "https://g.example/cb")
    run(dynamodb, "remove", shown["client_id"])
    assert run(dynamodb, "list") == []
