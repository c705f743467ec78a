"""The edge option (`EdgeProtection=cloudfront-waf`, docs/template.md "Edge protection"): behind
CloudFront the public functions serve only requests that carry the edge's origin header, and the
per-IP limits count the address CloudFront appended to X-Forwarded-For, never one the client
wrote.

CloudFront and WAF are not emulated locally; what the stack can show is what the functions do
behind them. So this runs a third local stack (other ports, its own state) with the edge's
parameters: the origin secret is generated into moto like any secret, and the requests here play
CloudFront by adding the header it would add.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import boto3
import pytest
import requests

from journeys import another_stack

# Exclusive (tests/e2e/conftest.py): it starts a second stack, whose functions' first starts (a `cargo run` each) queue on cargo's locks with everyone else's and slowed other tests' first calls past their timeouts. Its stack is its own (own_stack), so it runs beside the other exclusive tests.
pytestmark = [pytest.mark.exclusive, pytest.mark.own_stack]

PORTS = {"API_PORT": "3200", "AWS_PORT": "4766", "FAULT_PORT": "4767", "SANDBOX_PORT": "4800", "LAMBDA_PORT": "9200",
         "WEBHOOK_PORT": "4850"}
API = f"http://127.0.0.1:{PORTS['API_PORT']}"
WEB_ACL = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/0f0e0d0c-0b0a-0908-0706-050403020100"



@pytest.fixture(scope="module")
def edge_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The stack behind a (played) edge; yields the origin header's value CloudFront would add."""
    overrides = f"EdgeProtection=cloudfront-waf EdgeWebAclArn={WEB_ACL} TrustedProxyCount=1"
    with another_stack(tmp_path_factory.mktemp("edge-stack"), PORTS, overrides) as local_dir:
        stack = json.loads((local_dir / "stack.json").read_text())
        secrets = boto3.client("secretsmanager", endpoint_url=f"http://127.0.0.1:{PORTS['AWS_PORT']}",
                               region_name="eu-west-1", aws_access_key_id="local", aws_secret_access_key="local")
        secret_id = stack["secrets"]["EdgeOriginSecret"]["name"]
        yield json.loads(secrets.get_secret_value(SecretId=secret_id)["SecretString"])["value"]


def test_a_request_that_skipped_the_edge_is_refused(edge_stack: str):
    # WHEN a client calls the API's own address without the edge's header, or with a guess
    bare = requests.get(f"{API}/v1/consent", timeout=30)
    guessed = requests.get(f"{API}/v1/consent", headers={"X-Origin-Verify": "guess"}, timeout=30)
    # THEN both are refused in the API's error shape, and no route ran
    for answer in (bare, guessed):
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"] == "forbidden"


def test_a_request_through_the_edge_is_served(edge_stack: str):
    # WHEN the request carries the header CloudFront adds
    through = requests.get(f"{API}/v1/consent", headers={"X-Origin-Verify": edge_stack}, timeout=30)
    # THEN it is served
    assert through.status_code == 200, through.text
    assert through.json()["version"]


def test_the_per_ip_limit_counts_the_address_the_edge_saw_not_one_the_client_wrote(edge_stack: str):
    # GIVEN one client that forges a fresh X-Forwarded-For entry on every request, behind the
    # edge, which appends the address it really saw (198.51.100.77)
    def verify_login(forged: str) -> requests.Response:
        return requests.post(
            f"{API}/v1/verify-login",
            json={"username": f"nobody-{uuid.uuid4().hex[:8]}"},
            headers={"X-Origin-Verify": edge_stack, "X-Forwarded-For": f"{forged}, 198.51.100.77"},
            timeout=30,
        )

    # WHEN it calls verify-login more often than the per-IP limit allows
    statuses = [verify_login(f"10.{i}.0.1").status_code for i in range(40)]
    # THEN the forged addresses did not spread it over many buckets: it is limited
    assert 429 in statuses, statuses
