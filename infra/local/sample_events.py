"""Writes events/: one sample event per function, built by the same code that builds the local
stack's events (apigw_events.py for API Gateway HTTP API payload 2.0, sqs_events.py for SQS), so
the samples have exactly the shape the functions get locally and on AWS.

Each sample is harmless against any stack (it names nobody): the API samples ask for things a
stranger may ask for, and the queue samples name a registration and a user that do not exist.
tests/e2e/test_invoke.py sends each one through ``make invoke`` and checks the answer, and
tests/unit/test_sample_events.py checks that this script and events/ agree.

Usage: python infra/local/sample_events.py [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import apigw_events  # noqa: E402
import sqs_events  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
EVENTS_DIR = REPO_ROOT / "events"
# A fixed instant, so the samples do not change each time they are written.
RECEIVED_AT = 1_767_225_600.0  # 2026-01-01T00:00:00Z
SOURCE_IP = "203.0.113.10"
ACCOUNT = "123456789012"
REGION = "eu-west-1"


def api(method: str, path: str, route_key: str, body: bytes = b"", request_id: str = "sample",
        content_type: str = "application/json", path_parameters: dict | None = None,
        authorizer: dict | None = None) -> dict:
    headers = [("host", "api.example.com"), ("user-agent", "sample-event/1.0")]
    if body:
        headers.append(("content-type", content_type))
    request = apigw_events.IncomingRequest(
        method=method, raw_path=path, raw_query="", headers=headers, body=body,
        source_ip=SOURCE_IP, port=443, received_at=RECEIVED_AT,
    )
    event = apigw_events.build_event(request, route_key=route_key, path_parameters=path_parameters or {},
                                     request_id=request_id, authorizer=authorizer)
    event["headers"]["x-forwarded-proto"] = "https"
    event["headers"]["x-amzn-trace-id"] = "Root=1-67748580-000000000000000000000000"
    return event


def sqs(queue: str, body: dict) -> dict:
    message = {
        "MessageId": "00000000-0000-4000-8000-000000000001",
        "ReceiptHandle": "sample-receipt-handle",
        "Body": json.dumps(body, separators=(",", ":")),
        "Attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": str(int(RECEIVED_AT * 1000)),
            "SenderId": ACCOUNT,
            "ApproximateFirstReceiveTimestamp": str(int(RECEIVED_AT * 1000)),
        },
    }
    return sqs_events.build_event([message], f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}", REGION)


def samples() -> dict[str, dict]:
    """File name (without .json) -> event; named for the function that takes it."""
    return {
        "health": api("GET", "/v1/health", "GET /v1/health"),
        "token-issuer": api(
            "POST", "/v1/verify-login", "POST /v1/verify-login", b'{"username":"sample-nobody"}'
        ),
        "registration": api("GET", "/v1/users/registration", "GET /v1/users/registration"),
        "account": api("GET", "/v1/users", "GET /v1/users"),
        "oidc": api("GET", "/.well-known/openid-configuration", "GET /.well-known/openid-configuration"),
        "oidc-token": api(
            "POST", "/oauth2/token", "POST /oauth2/token",
            b"grant_type=authorization_code&code=sample.code&client_id=sample-nobody",
            content_type="application/x-www-form-urlencoded",
        ),
        "scan-validator": sqs(
            "RegistrationQueue",
            {"registration_id": "00000000000000000000000000000000", "attempt": 1, "request_id": "sample"},
        ),
        # An operator (IAM principal, as API Gateway's authorizer names it) asking for nobody.
        "admin": api(
            "GET", "/admin/users/00000000000000000000000000000000", "GET /admin/users/{user_id}",
            path_parameters={"user_id": "00000000000000000000000000000000"},
            authorizer={"iam": {
                "accessKey": "AKIASAMPLE", "accountId": ACCOUNT, "callerId": "AIDASAMPLE",
                "cognitoIdentity": None, "principalOrgId": None,
                "userArn": f"arn:aws:iam::{ACCOUNT}:user/sample-operator", "userId": "AIDASAMPLE",
            }},
        ),
        "erasure": sqs("ErasureQueue", {"user_id": "00000000000000000000000000000000", "request_id": "sample"}),
        "webhook-dispatcher": sqs(
            "WebhookQueue",
            {"id": "00000000000000000000000000000000", "type": "login.succeeded", "occurred_at": 1700000000,
             "user_id": "00000000000000000000000000000000"},
        ),
        "audit-writer": sqs(
            "AuditQueue",
            {"id": "00000000000000000000000000000001", "at": 1767225600, "kind": "session.logged_out",
             "actor": {"type": "person"}, "user_id": "00000000000000000000000000000000", "request_id": "sample"},
        ),
    }


def rendered(event: dict) -> str:
    return json.dumps(event, indent=2, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if events/ differs from what this writes")
    args = parser.parse_args()
    stale = []
    for name, event in samples().items():
        path = EVENTS_DIR / f"{name}.json"
        text = rendered(event)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            EVENTS_DIR.mkdir(exist_ok=True)
            path.write_text(text)
    if stale:
        print(f"events/ is stale ({', '.join(stale)}): run python infra/local/sample_events.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
