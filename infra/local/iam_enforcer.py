"""IAM enforcement inside the AWS fault proxy: who is calling, may they, and what was used.

The proxy already sits between every function and moto and reads the SigV4 credential scope,
so it is the one place that sees each AWS call with its caller. The caller is the access key
id of the signature: each function runs with its own (``settings.function_access_key``), which
maps to the function's role in template.yaml. Calls signed with any other key (the
provisioner, the tests, the SQS emulator talking to moto) are not evaluated.

A denied call is answered as AWS answers it (403/400 AccessDenied in the service's protocol),
logged as ``{"event":"iam_denied","function":…,"action":…,"resource":…}`` and kept for
``GET /_iam``, which ``iam_report.py`` reads at the end of ``make e2e`` to fail the run and to
list the grants no test used. ``LOCAL_IAM=report`` records denials but forwards the call;
``LOCAL_IAM=off`` turns evaluation off. A call carrying ``X-Local-Iam-Probe: 1`` is answered the
same way but recorded nowhere: tests/e2e/test_iam_enforced.py proves enforcement with it
without failing the run.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import iam_stack
import jsonlog
from iam_policy import Decision, Grant, Request, Statement, evaluate
from iam_requests import Unmodelled, checks_for, event_source_checks
from iam_stack import FunctionIdentity, IamStack

CONTROL_PATH = "/_iam"
PROBE_HEADER = "X-Local-Iam-Probe"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")
MODES = ("enforce", "report", "off")
# The JSON protocols' error namespaces, so the SDKs recognise AccessDeniedException.
_JSON_NAMESPACE = {
    "dynamodb": "com.amazonaws.dynamodb.v20120810",
    "kms": "com.amazonaws.kms",
    "secretsmanager": "com.amazonaws.secretsmanager",
    "sqs": "com.amazonaws.sqs",
}


def access_key_of(headers: Mapping[str, str], path: str) -> str:
    """The access key id of a SigV4 Authorization header or of a presigned URL ("" if none)."""
    found = _CREDENTIAL.search(headers.get("Authorization", "") or "")
    if found:
        return found.group(1)
    credential = (parse_qs(urlsplit(path).query).get("X-Amz-Credential") or [""])[0]
    return credential.split("/", 1)[0]


@dataclass(frozen=True)
class Denial:
    function: str
    action: str
    resource: str
    reason: str
    via: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"function": self.function, "action": self.action, "resource": self.resource,
                "reason": self.reason, "via": self.via, "detail": self.detail}


class IamEnforcer:
    """Evaluates calls against the template's roles; records denials and the grants used.

    The model is (re)loaded from template.yaml and .local/stack.json whenever stack.json
    changes, since the physical ids it resolves against (key ids, secret ARNs) exist only after
    provisioning, which happens after the proxy starts.
    """

    def __init__(self, template: Path, stack_file: Path, mode: str = "enforce",
                 loader: Any = iam_stack.load) -> None:
        if mode not in MODES:
            raise ValueError(f"LOCAL_IAM must be one of {', '.join(MODES)}, got {mode!r}")
        self.template = template
        self.stack_file = stack_file
        self.mode = mode
        self._loader = loader
        self._lock = threading.Lock()
        self._stack: IamStack | None = None
        self._loaded_mtime: float | None = None
        self._load_error = ""
        self._denied: dict[tuple[str, str, str, str], Denial] = {}
        self._unevaluable: dict[tuple[str, str, str], str] = {}
        self._used: set[tuple[str, Grant]] = set()
        self._calls = 0
        self._unidentified: dict[str, int] = {}

    @classmethod
    def from_stack(cls, stack: IamStack, mode: str = "enforce") -> "IamEnforcer":
        """An enforcer over a ready model (tests)."""
        enforcer = cls(Path("-"), Path("-"), mode)
        enforcer._stack = stack
        enforcer._loaded_mtime = -1.0
        enforcer._check_event_sources(stack)
        return enforcer

    # ----- model --------------------------------------------------------------------------
    def stack(self) -> IamStack | None:
        if self._loaded_mtime == -1.0:
            return self._stack
        try:
            mtime = self.stack_file.stat().st_mtime
        except OSError:
            return self._stack
        with self._lock:
            if mtime != self._loaded_mtime:
                try:
                    stack = self._loader(self.template, self.stack_file)
                except Exception as exc:  # noqa: BLE001 - a broken template must not kill the proxy
                    self._load_error = f"{type(exc).__name__}: {exc}"
                    jsonlog.emit("aws-faults", "iam_load_failed", level="error", error=self._load_error)
                    self._loaded_mtime = mtime
                    return self._stack
                self._stack, self._loaded_mtime, self._load_error = stack, mtime, ""
                jsonlog.emit("aws-faults", "iam_loaded", warnings=stack.warnings,
                             functions=sorted(f.logical_id for f in stack.functions.values()))
                new = True
            else:
                new = False
        if new:
            self._check_event_sources(self._stack)
        return self._stack

    def _check_event_sources(self, stack: IamStack | None) -> None:
        """Lambda polls SQS with the function's role: check that once per load, without traffic."""
        if stack is None:
            return
        for access_key, queue_arn in stack.sqs_mappings:
            identity = stack.functions[access_key]
            for check in event_source_checks(queue_arn, stack):
                self._decide(stack, identity, check)

    # ----- evaluation ---------------------------------------------------------------------
    def authorise(self, service: str, method: str, path: str, headers: Mapping[str, str],
                  body: bytes) -> Denial | None:
        """None to forward the call; a Denial to answer it with AccessDenied."""
        if self.mode == "off":
            return None
        access_key = access_key_of(headers, path)
        if not access_key.startswith("LOCAL"):
            return None  # not a function: the provisioner, a test, a tool
        stack = self.stack()
        identity = stack.functions.get(access_key) if stack else None
        if identity is None:
            with self._lock:
                self._unidentified[access_key] = self._unidentified.get(access_key, 0) + 1
            return None
        record = not headers.get(PROBE_HEADER)
        if record:
            with self._lock:
                self._calls += 1
        try:
            checks = checks_for(service, method, headers.get("X-Amz-Target", "") or "", path, headers, body, stack)
        except Unmodelled as exc:
            if record:
                self._record_unevaluable(identity, f"{service}:{method}", urlsplit(path).path, str(exc))
            return None
        for check in checks:
            denial = self._decide(stack, identity, check, record)
            if denial is not None:
                return denial if self.mode == "enforce" else None
        return None

    def _decide(self, stack: IamStack, identity: FunctionIdentity, check: Request,
                record: bool = True) -> Denial | None:
        request = Request(check.action, check.resource, {**self._base_context(stack, identity, check),
                                                         **check.context}, check.unavailable, check.via)
        policies, required = self._resource_policies(stack, request)
        decision = evaluate(request, identity.statements, policies, principal_arn=identity.role_arn,
                            account=stack.account, resource_policy_required=required)
        if decision.allowed:
            if not record:
                return None
            with self._lock:
                self._used.update((identity.logical_id, grant) for grant in decision.grants)
            return None
        if decision.reason == "unevaluable":
            if record:
                self._record_unevaluable(identity, request.action, request.resource, "; ".join(decision.unevaluable))
            return None
        denial = Denial(identity.logical_id, request.action, request.resource, decision.reason, request.via,
                        _detail(decision, required))
        if not record:
            return denial
        key = (denial.function, denial.action, denial.resource, denial.via)
        with self._lock:
            first = key not in self._denied
            self._denied.setdefault(key, denial)
        if first:
            jsonlog.emit("aws-faults", "iam_denied", level="error", **denial.to_json())
        return denial

    @staticmethod
    def _base_context(stack: IamStack, identity: FunctionIdentity, check: Request) -> dict[str, tuple[str, ...]]:
        context = {
            "aws:securetransport": ("true",),
            "aws:requestedregion": (stack.region,),
            "aws:principalaccount": (stack.account,),
            "aws:principalarn": (identity.role_arn,),
            "aws:viaawsservice": ("false",),
        }
        if check.action.lower().startswith("kms:"):
            context["kms:calleraccount"] = (stack.account,)
        return context

    @staticmethod
    def _resource_policies(stack: IamStack, request: Request) -> tuple[tuple[Statement, ...], bool]:
        service = request.action.split(":", 1)[0].lower()
        if service == "s3" and request.resource.startswith("arn:aws:s3:::"):
            bucket = request.resource[len("arn:aws:s3:::"):].split("/", 1)[0]
            return stack.bucket_policies.get(bucket, ()), False
        if service == "sqs":
            return stack.queue_policies.get(request.resource, ()), False
        if service == "kms" and request.resource in stack.key_policies:
            return stack.key_policies[request.resource], True
        return (), False

    def _record_unevaluable(self, identity: FunctionIdentity, action: str, resource: str, why: str) -> None:
        key = (identity.logical_id, action, resource)
        with self._lock:
            first = key not in self._unevaluable
            self._unevaluable.setdefault(key, why)
        if first:
            jsonlog.emit("aws-faults", "iam_unevaluable", level="error", function=identity.logical_id,
                         action=action, resource=resource, why=why)

    # ----- control surface ----------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        stack = self.stack()
        with self._lock:
            used = set(self._used)
            report = {
                "mode": self.mode,
                "loaded": stack is not None,
                "load_error": self._load_error,
                "warnings": list(stack.warnings) if stack else [],
                "functions": {f.logical_id: {"access_key": f.access_key, "role": f.role,
                                             "not_modelled": list(f.not_modelled)}
                              for f in (stack.functions.values() if stack else [])},
                "calls_evaluated": self._calls,
                "unidentified_keys": dict(self._unidentified),
                "denied": [d.to_json() for d in self._denied.values()],
                "unevaluable": [{"function": f, "action": a, "resource": r, "why": w}
                                for (f, a, r), w in self._unevaluable.items()],
            }
        report["grants"] = [
            {"function": function, "policy": grant.source, "sid": grant.sid, "action": grant.action,
             "resource": grant.resource, "used": (function, grant) in used}
            for function, grant in all_grants(stack)
        ] if stack else []
        return report

    def reset(self) -> None:
        with self._lock:
            self._denied.clear()
            self._unevaluable.clear()
            self._used.clear()
            self._unidentified.clear()
            self._calls = 0


def all_grants(stack: IamStack) -> list[tuple[str, Grant]]:
    """Every (action, resource) pair of every Allow statement of every function's role."""
    grants = []
    for identity in sorted(stack.functions.values(), key=lambda f: f.logical_id):
        for statement in identity.statements:
            if statement.effect != "Allow":
                continue
            actions = statement.actions or ("NotAction",)
            resources = statement.resources or ("NotResource",)
            grants.extend((identity.logical_id, Grant(statement.source, statement.sid, a, r))
                          for a in actions for r in resources)
    return grants


def _detail(decision: Decision, key_policy: bool) -> str:
    if decision.denied_by:
        return "explicit deny in " + ", ".join(decision.denied_by)
    if key_policy:
        return "no statement of the role's policies and the key policy together allows it"
    return "no identity-based policy allows it"


def access_denied(service: str, identity_role: str, function: str, denial: Denial,
                  json_protocol: bool) -> tuple[int, dict[str, str], bytes]:
    """The status, headers and body AWS sends for AccessDenied, in the service's protocol."""
    principal = f"arn:aws:sts::{identity_role.split(':')[4]}:assumed-role/{identity_role.rsplit('/', 1)[-1]}/{function}"
    message = (f"User: {principal} is not authorized to perform: {denial.action} on resource: {denial.resource} "
               f"({denial.detail}) [local IAM enforcement]")
    if service == "s3" or (service == "sqs" and not json_protocol) or service not in _JSON_NAMESPACE:
        code = "AccessDenied"
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{code}</Code><Message>{_xml_escape(message)}</Message></Error>").encode()
        if service == "sqs":
            body = (f'<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>'
                    f"<Message>{_xml_escape(message)}</Message></Error></ErrorResponse>").encode()
        return (403 if service == "s3" else 400), {"Content-Type": "application/xml"}, body
    code = "AccessDeniedException"
    body = json.dumps({"__type": f"{_JSON_NAMESPACE[service]}#{code}", "message": message}).encode()
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-ErrorType": code}
    if service == "sqs":
        headers["x-amzn-query-error"] = "AccessDenied;Sender"
    return 400, headers, body


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mode_from_env() -> str:
    return os.environ.get("LOCAL_IAM", "enforce").strip().lower() or "enforce"
