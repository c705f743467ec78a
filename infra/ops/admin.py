#!/usr/bin/env python3
"""Call the operator API (`/admin/...`) with your own AWS credentials, signed with SigV4.

    admin.py --local lookup --username alice
    admin.py --stack iproov-onboarding-dev --region eu-west-1 show USER_ID
    admin.py ... lock USER_ID | unlock USER_ID | end-sessions USER_ID | erase USER_ID | attempts USER_ID

The routes are authorised by IAM: your principal needs the stack's `OperatorApiPolicy` (output
`OperatorApiPolicyArn`) attached. The API's address is the stack's `ApiUrl` output; with
`--local`, the local gateway (`API_PORT`) and the local operator's credentials
(infra/local/settings.py, `LOCAL_CALLERS`), since the local gateway checks signatures against
those. Every call is audited with your principal.

A username goes in the request body, never the URL, and is not printed: the answers name users
by id only. Prints the JSON answer. Exit status: 0 done, 1 refused or failed (the answer is
printed), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REPO_ROOT = Path(__file__).resolve().parents[2]

# command -> (method, path template); {user_id} is the positional argument.
COMMANDS = {
    "show": ("GET", "/admin/users/{user_id}"),
    "lock": ("PUT", "/admin/users/{user_id}/lock"),
    "unlock": ("DELETE", "/admin/users/{user_id}/lock"),
    "end-sessions": ("DELETE", "/admin/users/{user_id}/sessions"),
    "erase": ("DELETE", "/admin/users/{user_id}"),
    "attempts": ("GET", "/admin/users/{user_id}/attempts"),
}


def request_for(command: str, user_id: str | None, username: str | None) -> tuple[str, str, bytes]:
    """(method, path, body) of one command."""
    if command == "lookup":
        return "POST", "/admin/users/lookup", json.dumps({"username": username}).encode()
    method, template = COMMANDS[command]
    return method, template.format(user_id=user_id), b""


def signed(method: str, url: str, body: bytes, credentials: Credentials, region: str) -> urllib.request.Request:
    """The request with SigV4 headers for execute-api in `region`."""
    headers = {"content-type": "application/json"} if body else {}
    aws_request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(credentials, "execute-api", region).add_auth(aws_request)
    return urllib.request.Request(url, data=body or None, method=method, headers=dict(aws_request.headers.items()))


def send(request: urllib.request.Request) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            return err.code, json.loads(raw)
        except ValueError:
            return err.code, {"message": raw.decode(errors="replace")}


def local_target() -> tuple[str, Credentials, str]:
    sys.path.insert(0, str(REPO_ROOT / "infra" / "local"))
    from settings import REGION, Ports, local_caller  # noqa: PLC0415 - the local stack's own settings

    operator = local_caller(os.environ.get("ADMIN_LOCAL_CALLER", "operator"))
    return Ports.from_env().api_url, Credentials(operator.access_key, operator.secret_key), REGION


def stack_target(stack: str, region: str) -> tuple[str, Credentials, str]:
    import boto3  # noqa: PLC0415 - only for a deployed stack

    session = boto3.Session(region_name=region)
    outputs = {o["OutputKey"]: o["OutputValue"]
               for o in session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])}
    credentials = session.get_credentials()
    if credentials is None:
        raise SystemExit("no AWS credentials: set AWS_PROFILE or sign in first")
    return outputs["ApiUrl"].rstrip("/"), credentials.get_frozen_credentials(), region


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Call the operator API (/admin/...), signed with SigV4.")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--local", action="store_true", help="the local stack (its gateway and local operator)")
    where.add_argument("--stack", help="a deployed stack's name")
    p.add_argument("--region", help="the deployed stack's region")
    sub = p.add_subparsers(dest="command", required=True)
    lookup = sub.add_parser("lookup", help="find an account by username")
    lookup.add_argument("--username", required=True)
    for name in COMMANDS:
        sub.add_parser(name).add_argument("user_id")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.stack and not args.region:
        print("admin: --region is required with --stack", file=sys.stderr)
        return 2
    base, credentials, region = local_target() if args.local else stack_target(args.stack, args.region)
    method, path, body = request_for(args.command, getattr(args, "user_id", None), getattr(args, "username", None))
    status, answer = send(signed(method, base + path, body, credentials, region))
    print(json.dumps(answer, indent=2))
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
