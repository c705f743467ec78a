#!/usr/bin/env python3
"""Register, list, show, rotate and remove OpenID Connect clients (relying parties).

    oidc_client.py --local add --name "My app" --type public --redirect-uri http://127.0.0.1/cb
    oidc_client.py --stack iproov-onboarding-dev add --name Portal --type confidential \\
        --redirect-uri https://portal.example.com/oidc/callback --scope openid --scope profile
    oidc_client.py --local list | show ID | rotate-secret ID | remove ID

Client registrations are deployment data, never code: they live in the stack's OIDC table
(output `OidcTableName`, or the local stack's `.local/stack.json`) under `client#<client_id>`,
where the oidc functions read them. A confidential client's secret is 256 random bits generated
here, printed once, and stored only as its SHA-256 (a fast hash is enough for a full-entropy
secret: there is nothing to guess). A `private-key-jwt` client gives its public keys as a JWKS
file instead of a secret.

Redirect URIs are refused unless they are https, a loopback http URI for native apps (RFC 8252
7.3: `http://127.0.0.1/...` or `http://[::1]/...`, any port accepted at authorize) or a
private-use scheme with a dot (`com.example.app:/callback`, RFC 8252 7.1); never a fragment.
Prints no personal data (clients have none). Exit status: 0 done, 1 AWS error, 2 usage error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import secrets
import string
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[2]
TYPES = {"public": "none", "confidential": "client_secret_basic", "private-key-jwt": "private_key_jwt"}
SCOPES = ("openid", "profile", "offline_access")
PRIVATE_USE_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+$")
# A client id is typed on command lines (this tool's own `show ID`, curl, shell scripts): one
# that begins with "-" is read there as an option, so none may.
CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]{7,63}")


class UsageError(Exception):
    """Wrong arguments, or a registration this tool refuses to write."""


# ----- rules --------------------------------------------------------------------------------
def check_redirect_uri(uri: str) -> str:
    """The URI if a client may register it, else UsageError saying why."""
    if len(uri) > 512:
        raise UsageError("redirect URI longer than 512 characters")
    parts = urlsplit(uri)
    if parts.fragment or "#" in uri:
        raise UsageError(f"redirect URI {uri!r} has a fragment (RFC 6749 3.1.2)")
    if parts.scheme == "https" and parts.hostname:
        return uri
    if parts.scheme == "http" and parts.hostname in ("127.0.0.1", "::1"):
        return uri
    if parts.scheme not in ("http", "https") and PRIVATE_USE_SCHEME.match(parts.scheme):
        return uri
    raise UsageError(
        f"redirect URI {uri!r} must be https, http://127.0.0.1 or http://[::1] (native apps), "
        "or a private-use scheme such as com.example.app:/callback"
    )


def check_jwks(text: str) -> str:
    """A JWKS with at least one public EC P-256 or RSA signing key and no private parts."""
    try:
        jwks = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"JWKS is not JSON: {exc.msg}") from exc
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not keys:
        raise UsageError('JWKS must be {"keys": [...]} with at least one key')
    for key in keys:
        if not isinstance(key, dict) or key.get("kty") not in ("EC", "RSA"):
            raise UsageError("every JWKS key must be kty EC (P-256) or RSA")
        if "d" in key or "p" in key:
            raise UsageError("the JWKS holds a private key: give the public keys only")
    return json.dumps(jwks, separators=(",", ":"), sort_keys=True)


def new_client_id() -> str:
    """22 random letters and digits (about 131 bits): unguessable, and safe on any command line."""
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(22))


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_item(args: argparse.Namespace, now: int) -> tuple[dict[str, Any], str | None]:
    """The DynamoDB item of a new client, and its secret (shown once) if it has one."""
    client_id = args.client_id or new_client_id()
    if not CLIENT_ID.fullmatch(client_id):
        raise UsageError("client id must be 8-64 characters of A-Z a-z 0-9 . _ ~ -, starting with a letter or digit")
    if not args.redirect_uri:
        raise UsageError("at least one --redirect-uri is required")
    scopes = list(dict.fromkeys(args.scope or ["openid", "profile"]))
    if "openid" not in scopes or any(s not in SCOPES for s in scopes):
        raise UsageError(f"scopes must include openid and be among {', '.join(SCOPES)}")
    item: dict[str, Any] = {
        "pk": {"S": f"client#{client_id}"},
        "client_id": {"S": client_id},
        "client_name": {"S": args.name},
        "auth_method": {"S": TYPES[args.type]},
        "redirect_uris": {"L": [{"S": check_redirect_uri(u)} for u in args.redirect_uri]},
        "post_logout_redirect_uris": {
            "L": [{"S": check_redirect_uri(u)} for u in (args.post_logout_redirect_uri or [])]
        },
        "scopes": {"L": [{"S": s} for s in scopes]},
        "sector": {"S": args.sector or client_id},
        "created_at": {"N": str(now)},
    }
    secret = None
    if args.type == "confidential":
        secret = secrets.token_urlsafe(32)
        item["secret_sha256"] = {"S": secret_hash(secret)}
    elif args.type == "private-key-jwt":
        if not args.jwks_file:
            raise UsageError("--jwks-file is required for a private-key-jwt client")
        item["jwks"] = {"S": check_jwks(Path(args.jwks_file).read_text())}
    if len(args.name) > 100 or not args.name.strip():
        raise UsageError("--name must be 1-100 characters")
    return item, secret


def describe(item: dict[str, Any]) -> dict[str, Any]:
    """What an operator may see of a registration (never the secret's hash)."""
    return {
        "client_id": item["client_id"]["S"],
        "client_name": item["client_name"]["S"],
        "type": next(k for k, v in TYPES.items() if v == item["auth_method"]["S"]),
        "redirect_uris": [v["S"] for v in item["redirect_uris"]["L"]],
        "post_logout_redirect_uris": [v["S"] for v in item.get("post_logout_redirect_uris", {}).get("L", [])],
        "scopes": [v["S"] for v in item["scopes"]["L"]],
        "sector": item["sector"]["S"],
        "created_at": int(item["created_at"]["N"]),
    }


# ----- where the table is -------------------------------------------------------------------
def table_from_local(stack_file: Path) -> tuple[str, str]:
    """(table name, endpoint) of the local stack."""
    try:
        stack = json.loads(stack_file.read_text())
    except FileNotFoundError as exc:
        raise UsageError(f"{stack_file} not found: is the local stack up (make up)?") from exc
    try:
        return stack["tables"]["OidcTable"]["name"], stack["endpoints"]["aws"]
    except KeyError as exc:
        raise UsageError(f"the local stack has no OidcTable ({exc.args[0]} missing)") from exc


def table_from_stack(cfn: Any, stack: str) -> str:
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])}
    if "OidcTableName" not in outputs:
        raise UsageError(f"stack {stack} has no output OidcTableName")
    return outputs["OidcTableName"]


# ----- commands -----------------------------------------------------------------------------
def run(args: argparse.Namespace, dynamodb: Any, table: str, out=sys.stdout) -> int:
    if args.command == "add":
        item, secret = new_item(args, int(time.time()))
        try:
            dynamodb.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except dynamodb.exceptions.ConditionalCheckFailedException as exc:
            raise UsageError(f"client {item['client_id']['S']} already exists") from exc
        shown = describe(item)
        if secret:
            shown["client_secret"] = secret
            shown["note"] = "the secret is shown once; only its hash is stored"
        print(json.dumps(shown, indent=2), file=out)
        return 0
    if args.command == "list":
        items = []
        for page in dynamodb.get_paginator("scan").paginate(
            TableName=table,
            FilterExpression="begins_with(pk, :p)",
            ExpressionAttributeValues={":p": {"S": "client#"}},
        ):
            items.extend(describe(i) for i in page["Items"])
        print(json.dumps(sorted(items, key=lambda c: c["client_id"]), indent=2), file=out)
        return 0
    key = {"pk": {"S": f"client#{args.client_id}"}}
    if args.command == "show":
        item = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        if not item:
            raise UsageError(f"no client {args.client_id}")
        print(json.dumps(describe(item), indent=2), file=out)
        return 0
    if args.command == "rotate-secret":
        secret = secrets.token_urlsafe(32)
        try:
            dynamodb.update_item(
                TableName=table,
                Key=key,
                UpdateExpression="SET secret_sha256 = :h",
                ConditionExpression="auth_method = :m",
                ExpressionAttributeValues={":h": {"S": secret_hash(secret)}, ":m": {"S": "client_secret_basic"}},
            )
        except dynamodb.exceptions.ConditionalCheckFailedException as exc:
            raise UsageError(f"no confidential client {args.client_id}") from exc
        print(json.dumps({"client_id": args.client_id, "client_secret": secret}, indent=2), file=out)
        return 0
    if args.command == "remove":
        # Its grants stop refreshing at once (the token function reads the client on every call).
        dynamodb.delete_item(TableName=table, Key=key)
        print(json.dumps({"removed": args.client_id}), file=out)
        return 0
    raise UsageError(f"unknown command {args.command}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="CloudFormation stack name (uses its OidcTableName output)")
    where.add_argument("--local", action="store_true", help="the local stack (LOCAL_DIR/stack.json)")
    parser.add_argument("--region", default=None, help="AWS region (default: the usual AWS settings)")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="register a client")
    add.add_argument("--name", required=True, help="shown to the person on the sign-in page")
    add.add_argument("--type", choices=sorted(TYPES), required=True)
    add.add_argument("--client-id", help="default: 22 random letters and digits")
    add.add_argument("--redirect-uri", action="append", help="repeat for several")
    add.add_argument("--post-logout-redirect-uri", action="append", help="repeat for several")
    add.add_argument("--scope", action="append", help=f"among {', '.join(SCOPES)}; default openid and profile")
    add.add_argument("--sector", help="pairwise subject sector (default: the client id)")
    add.add_argument("--jwks-file", help="public keys of a private-key-jwt client")
    commands.add_parser("list", help="list clients")
    for name in ("show", "rotate-secret", "remove"):
        commands.add_parser(name).add_argument("client_id")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    args = parse_args(argv)
    try:
        if args.local:
            table, endpoint = table_from_local(Path(os.environ.get("LOCAL_DIR", REPO_ROOT / ".local")) / "stack.json")
            for key, value in {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}.items():
                os.environ.setdefault(key, value)
            session = boto3.session.Session(region_name=args.region or "eu-west-1")
            dynamodb = session.client("dynamodb", endpoint_url=endpoint)
        else:
            session = boto3.session.Session(region_name=args.region)
            table = table_from_stack(session.client("cloudformation"), args.stack)
            dynamodb = session.client("dynamodb")
        return run(args, dynamodb, table)
    except UsageError as exc:
        print(f"oidc-client: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as exc:
        print(f"oidc-client: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
