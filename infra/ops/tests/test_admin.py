"""infra/ops/admin.py: each command's request, and a signature the local gateway accepts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from botocore.credentials import Credentials

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "infra" / "ops"))
sys.path.insert(0, str(ROOT / "infra" / "local"))

import admin  # noqa: E402
from iam_authorizer import Allowed, IamAuthorizer, Refused, SignedRequest  # noqa: E402
from iam_policy import Statement  # noqa: E402
from settings import ACCOUNT_ID, LOCAL_CALLERS, REGION, local_caller  # noqa: E402

USER = "00112233445566778899aabbccddeeff"
POLICY = {"OperatorApiPolicy": (Statement.parse("OperatorApiPolicy", 0, {
    "Effect": "Allow", "Action": "execute-api:Invoke",
    "Resource": f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:local/*/*/admin/*"}),)}


def test_a_username_travels_in_the_body_never_the_url() -> None:
    method, path, body = admin.request_for("lookup", None, "alice")
    assert (method, path) == ("POST", "/admin/users/lookup")
    assert json.loads(body) == {"username": "alice"}


def test_each_user_command_names_its_route() -> None:
    routes = {name: admin.request_for(name, USER, None)[:2] for name in admin.COMMANDS}
    assert routes == {
        "show": ("GET", f"/admin/users/{USER}"),
        "lock": ("PUT", f"/admin/users/{USER}/lock"),
        "unlock": ("DELETE", f"/admin/users/{USER}/lock"),
        "end-sessions": ("DELETE", f"/admin/users/{USER}/sessions"),
        "erase": ("DELETE", f"/admin/users/{USER}"),
        "attempts": ("GET", f"/admin/users/{USER}/attempts"),
    }


def as_received(request) -> SignedRequest:  # noqa: ANN001 - urllib's Request
    path = request.full_url.split("127.0.0.1:3300", 1)[1]
    headers = [("host", "127.0.0.1:3300"), *request.header_items()]
    return SignedRequest(request.get_method(), path, "", headers, request.data or b"")


def test_the_local_gateway_accepts_what_the_command_signs_as_the_operator() -> None:
    operator = local_caller("operator")
    method, path, body = admin.request_for("lookup", None, "alice")
    request = admin.signed(method, "http://127.0.0.1:3300" + path, body,
                           Credentials(operator.access_key, operator.secret_key), REGION)
    decision = IamAuthorizer(LOCAL_CALLERS, POLICY, "local").authorize(as_received(request))
    assert isinstance(decision, Allowed)


def test_the_same_command_signed_by_the_principal_without_the_policy_is_refused() -> None:
    other = local_caller("no-policy")
    method, path, body = admin.request_for("lock", USER, None)
    request = admin.signed(method, "http://127.0.0.1:3300" + path, body,
                           Credentials(other.access_key, other.secret_key), REGION)
    decision = IamAuthorizer(LOCAL_CALLERS, POLICY, "local").authorize(as_received(request))
    assert isinstance(decision, Refused) and decision.message == "Forbidden"
