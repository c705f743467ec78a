"""API Gateway's IAM authorizer for the local gateway: routes whose template auth is ``AWS_IAM``.

In AWS, API Gateway checks a SigV4 signature before it invokes anything: an unsigned request,
an unknown access key, a wrong signature, a date more than five minutes off, or a principal
whose policies do not allow ``execute-api:Invoke`` on the route's ARN is refused with 403 and
``{"message": ...}``, and the function never runs. A valid request reaches the function with
``requestContext.authorizer.iam`` naming the principal. This module does the same with the local
callers of settings.py (``LOCAL_CALLERS``): the signature is recomputed with botocore's signer
(the one the AWS SDKs and the operator command use), and the principal's managed policies are
the template's documents, evaluated by iam_policy.py.
"""

from __future__ import annotations

import calendar
import hmac
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import cfn_yaml
import template as tpl
from iam_policy import Request, Statement, evaluate
from intrinsics import Resolver
from settings import ACCOUNT_ID, LOCAL_CALLERS, REGION, LocalCaller

SERVICE = "execute-api"
ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_SECONDS = 300
AMZ_DATE = "%Y%m%dT%H%M%SZ"

# API Gateway's own words for each refusal.
FORBIDDEN = "Forbidden"
INVALID_KEY = "The security token included in the request is invalid."
BAD_SIGNATURE = ("The request signature we calculated does not match the signature you provided. "
                 "Check your AWS Secret Access Key and signing method. Consult the service documentation "
                 "for details.")

_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class Allowed:
    """The request may reach the function; ``iam`` is ``requestContext.authorizer.iam``."""

    iam: dict[str, Any]


@dataclass(frozen=True)
class Refused:
    """403 with ``{"message": message}``; ``reason`` is for the gateway's log only."""

    message: str
    reason: str


@dataclass(frozen=True)
class SignedRequest:
    method: str
    raw_path: str
    raw_query: str
    headers: Sequence[tuple[str, str]]  # as received
    body: bytes


class IamAuthorizer:
    """Decides, like API Gateway's ``AWS_IAM`` authorizer, whether a request may invoke a route."""

    def __init__(
        self,
        callers: Sequence[LocalCaller],
        policies: Mapping[str, tuple[Statement, ...]],
        api_id: str,
        *,
        region: str = REGION,
        account: str = ACCOUNT_ID,
        stage: str = "$default",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._callers = {c.access_key: c for c in callers}
        self._policies = policies
        self._arn_prefix = f"arn:aws:{SERVICE}:{region}:{account}:{api_id}/{stage}"
        self._region = region
        self._account = account
        self._clock = clock

    def route_arn(self, method: str, raw_path: str) -> str:
        """The resource ``execute-api:Invoke`` is asked for: ``…:{api}/{stage}/{METHOD}{path}``."""
        return f"{self._arn_prefix}/{method.upper()}{raw_path}"

    def authorize(self, request: SignedRequest) -> Allowed | Refused:
        headers = {name.lower(): value for name, value in request.headers}
        found = _AUTHORIZATION.match(headers.get("authorization", "").strip())
        if not found:
            return Refused(FORBIDDEN, "unsigned")
        scope = found["credential"].split("/")
        if len(scope) != 5 or scope[4] != "aws4_request":
            return Refused(FORBIDDEN, "malformed_credential")
        access_key, day, region, service = scope[:4]
        caller = self._callers.get(access_key)
        if caller is None:
            return Refused(INVALID_KEY, "unknown_access_key")
        if region != self._region:
            return Refused("Credential should be scoped to a valid region. ", "wrong_region")
        if service != SERVICE:
            return Refused(f"Credential should be scoped to correct service: '{SERVICE}'. ", "wrong_service")
        amz_date = headers.get("x-amz-date", "")
        signed_at = _parse_amz_date(amz_date)
        if signed_at is None or not amz_date.startswith(day):
            return Refused(FORBIDDEN, "bad_date")
        now = self._clock()
        if signed_at < now - MAX_SKEW_SECONDS:
            return Refused(
                f"Signature expired: {amz_date} is now earlier than "
                f"{_format(now - MAX_SKEW_SECONDS)} ({_format(now)} - 5 min.)", "stale_date")
        if signed_at > now + MAX_SKEW_SECONDS:
            return Refused(
                f"Signature not yet current: {amz_date} is still later than "
                f"{_format(now + MAX_SKEW_SECONDS)} ({_format(now)} + 5 min.)", "future_date")
        signed = found["signed"].split(";")
        if "host" not in signed or any(name not in headers for name in signed):
            return Refused(BAD_SIGNATURE, "unsigned_host_or_missing_header")
        expected = _signature(caller, region, request, headers, signed, amz_date)
        if not hmac.compare_digest(expected, found["signature"]):
            return Refused(BAD_SIGNATURE, "bad_signature")
        statements = tuple(s for name in caller.managed_policies for s in self._policies.get(name, ()))
        decision = evaluate(
            Request(action=f"{SERVICE}:Invoke", resource=self.route_arn(request.method, request.raw_path)),
            statements,
            principal_arn=caller.arn,
            account=self._account,
        )
        if not decision.allowed:
            return Refused(FORBIDDEN, f"policy:{decision.reason}")
        return Allowed({
            "accessKey": caller.access_key,
            "accountId": self._account,
            "callerId": caller.user_id,
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": caller.arn,
            "userId": caller.user_id,
        })


def _parse_amz_date(value: str) -> float | None:
    try:
        return float(calendar.timegm(time.strptime(value, AMZ_DATE)))
    except ValueError:
        return None


def _format(epoch: float) -> str:
    return time.strftime(AMZ_DATE, time.gmtime(epoch))


def _signature(caller: LocalCaller, region: str, request: SignedRequest, headers: Mapping[str, str],
               signed: Sequence[str], amz_date: str) -> str:
    """The signature botocore computes for this request with the caller's secret."""
    url = f"http://{headers['host']}{request.raw_path}" + (f"?{request.raw_query}" if request.raw_query else "")
    aws_request = AWSRequest(method=request.method, url=url, data=request.body,
                             headers={name: headers[name] for name in signed})
    aws_request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(caller.access_key, caller.secret_key), SERVICE, region)
    canonical = signer.canonical_request(aws_request)
    return signer.signature(signer.string_to_sign(aws_request, canonical), aws_request)


def managed_policies(template: Mapping[str, Any], model: tpl.StackModel) -> dict[str, tuple[Statement, ...]]:
    """Every ``AWS::IAM::ManagedPolicy`` of the template, resolved: logical id -> statements."""
    resolver = Resolver(template, model.parameters, model.physical)
    policies: dict[str, tuple[Statement, ...]] = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::IAM::ManagedPolicy":
            continue
        document = resolver.resolve((resource.get("Properties") or {}).get("PolicyDocument") or {})
        raw = document.get("Statement") or []
        raw = [raw] if isinstance(raw, dict) else raw
        policies[logical_id] = tuple(Statement.parse(logical_id, i, s) for i, s in enumerate(raw))
    return policies


def load(template_path: Path, model: tpl.StackModel, api_id: str) -> IamAuthorizer:
    """The authorizer for ``model``'s API, with the local callers and the template's policies."""
    return IamAuthorizer(LOCAL_CALLERS, managed_policies(cfn_yaml.load(template_path), model), api_id)
