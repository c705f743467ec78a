"""The local gateway's AWS_IAM authorizer refuses what API Gateway refuses, before any function.

Requests are signed the way an operator's SDK signs them (botocore's SigV4 signer), then handed
to the authorizer; the last tests put it in front of a fake function inside the real gateway.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import gateway
import iam_authorizer
import template as tpl
from conftest import serve_in_thread
from iam_authorizer import Allowed, IamAuthorizer, Refused, SignedRequest
from iam_policy import Statement
from routing import Router
from settings import ACCOUNT_ID, LOCAL_CALLERS, REGION, local_caller

NOW = 1_700_000_000.0
HOST = "127.0.0.1:3300"
POLICY = {
    "OperatorApiPolicy": (Statement.parse("OperatorApiPolicy", 0, {
        "Effect": "Allow",
        "Action": "execute-api:Invoke",
        "Resource": f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:local/*/*/admin/*",
    }),),
}


def authorizer(clock: float = NOW) -> IamAuthorizer:
    return IamAuthorizer(LOCAL_CALLERS, POLICY, "local", clock=lambda: clock)


def signed(method: str = "GET", path: str = "/admin/users/ab", body: bytes = b"", *,
           caller: str = "operator", secret: str | None = None, at: float = NOW,
           service: str = "execute-api", access_key: str | None = None) -> SignedRequest:
    """A request signed by botocore at ``at`` with ``caller``'s key (or another secret)."""
    who = local_caller(caller)
    request = AWSRequest(method=method, url=f"http://{HOST}{path}", data=body,
                         headers={"content-type": "application/json"} if body else {})
    signer = SigV4Auth(Credentials(access_key or who.access_key, secret or who.secret_key), service, REGION)
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(at))
    request.context["timestamp"] = amz_date
    request.headers["X-Amz-Date"] = amz_date
    request.headers["host"] = HOST
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    scope = f"{access_key or who.access_key}/{amz_date[:8]}/{REGION}/{service}/aws4_request"
    headers = [(k, v) for k, v in request.headers.items()]
    headers.append(("Authorization", f"AWS4-HMAC-SHA256 Credential={scope}, "
                                     f"SignedHeaders={signer.signed_headers(signer.headers_to_sign(request))}, "
                                     f"Signature={signature}"))
    query = path.partition("?")[2]
    return SignedRequest(method, path.partition("?")[0], query, headers, body)


def test_a_valid_signature_of_the_operator_is_allowed_with_its_principal() -> None:
    # given a request the operator signed just now; when it is authorised
    decision = authorizer().authorize(signed(body=b'{"username":"alice"}', method="POST",
                                             path="/admin/users/lookup"))
    # then it passes, naming the operator as API Gateway does
    assert isinstance(decision, Allowed)
    assert decision.iam["userArn"] == local_caller("operator").arn
    assert decision.iam["accessKey"] == local_caller("operator").access_key
    assert decision.iam["accountId"] == ACCOUNT_ID


def test_an_unsigned_request_is_forbidden() -> None:
    request = SignedRequest("GET", "/admin/users/ab", "", [("host", HOST)], b"")
    assert authorizer().authorize(request) == Refused("Forbidden", "unsigned")


def test_a_wrong_secret_does_not_match() -> None:
    decision = authorizer().authorize(signed(secret="not-the-secret"))
    assert isinstance(decision, Refused) and decision.reason == "bad_signature"
    assert decision.message.startswith("The request signature we calculated does not match")


def test_an_unknown_access_key_is_invalid() -> None:
    decision = authorizer().authorize(signed(access_key="AKIANOBODY"))
    assert decision == Refused(iam_authorizer.INVALID_KEY, "unknown_access_key")


def test_a_signature_older_than_five_minutes_has_expired() -> None:
    decision = authorizer(clock=NOW + 301).authorize(signed(at=NOW))
    assert isinstance(decision, Refused) and decision.message.startswith("Signature expired:")


def test_a_signature_within_five_minutes_is_still_good() -> None:
    assert isinstance(authorizer(clock=NOW + 299).authorize(signed(at=NOW)), Allowed)


def test_a_body_changed_after_signing_does_not_match() -> None:
    request = signed(method="POST", path="/admin/users/lookup", body=b'{"username":"alice"}')
    tampered = SignedRequest(request.method, request.raw_path, request.raw_query, request.headers,
                             b'{"username":"mallory"}')
    assert authorizer().authorize(tampered).reason == "bad_signature"  # type: ignore[union-attr]


def test_another_path_than_the_signed_one_does_not_match() -> None:
    request = signed(path="/admin/users/ab")
    moved = SignedRequest(request.method, "/admin/users/cd", "", request.headers, b"")
    assert authorizer().authorize(moved).reason == "bad_signature"  # type: ignore[union-attr]


def test_a_signature_for_another_service_is_refused() -> None:
    decision = authorizer().authorize(signed(service="s3"))
    assert isinstance(decision, Refused) and decision.reason == "wrong_service"


def test_a_principal_without_the_operator_policy_is_forbidden() -> None:
    decision = authorizer().authorize(signed(caller="no-policy"))
    assert decision == Refused("Forbidden", "policy:implicit_deny")


def test_the_operator_policy_covers_admin_routes_only() -> None:
    decision = authorizer().authorize(signed(path="/v1/users"))
    assert isinstance(decision, Refused) and decision.reason == "policy:implicit_deny"


def test_the_route_arn_names_stage_method_and_path() -> None:
    assert authorizer().route_arn("get", "/admin/users/ab") == (
        f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:local/$default/GET/admin/users/ab")


# ----- in the gateway ---------------------------------------------------------------------
INVOKED: list[dict[str, Any]] = []


class EchoLambda(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        event = json.loads(self.rfile.read(int(self.headers["content-length"])))
        INVOKED.append(event)
        body = json.dumps({"statusCode": 200, "body": "{}"}).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def gateway_url() -> Iterator[str]:
    fake = ThreadingHTTPServer(("127.0.0.1", 0), EchoLambda)
    serve_in_thread(fake)
    routes = [tpl.Route("GET", "/admin/users/{user_id}", "admin", "admin", "AWS_IAM")]
    config = gateway.GatewayConfig(
        router=Router(routes), functions={"admin": tpl.Function("admin", "admin", "admin", 1, 128, {})},
        cors=None, lambda_url=f"http://127.0.0.1:{fake.server_address[1]}", port=3300,
        iam_authorizer=IamAuthorizer(LOCAL_CALLERS, POLICY, "local"),
    )
    server = gateway.make_server(config, port=0)
    serve_in_thread(server)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    fake.shutdown()


def send(url: str, request: SignedRequest) -> requests.Response:
    headers = {k: v for k, v in request.headers if k.lower() != "host"}
    return requests.get(url + request.raw_path, headers={**headers, "Host": HOST}, timeout=5)


def test_the_gateway_refuses_an_unsigned_request_without_invoking(gateway_url: str) -> None:
    INVOKED.clear()
    response = requests.get(f"{gateway_url}/admin/users/ab", headers={"Host": HOST}, timeout=5)
    assert response.status_code == 403 and response.json() == {"message": "Forbidden"}
    assert INVOKED == []


def test_the_gateway_passes_the_principal_of_a_signed_request(gateway_url: str) -> None:
    INVOKED.clear()
    response = send(gateway_url, signed(at=time.time()))
    assert response.status_code == 200
    assert INVOKED[0]["requestContext"]["authorizer"]["iam"]["userArn"] == local_caller("operator").arn
