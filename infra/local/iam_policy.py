"""IAM policy evaluation for the local stack: statements, wildcards, conditions, decisions.

moto does not enforce IAM, so on its own the local stack shows that the code works, not that
template.yaml's roles let it work. This module decides one authorisation question the way IAM
does for a principal in the same account as the resource: an explicit Deny in any policy wins;
otherwise one Allow (from an identity policy, or from a resource policy naming the principal)
is needed. Only what the local stack can model is evaluated; a condition on a key it cannot
supply is *reported* as unevaluable instead of being guessed (see ``MODELLED_KEYS``).

Nothing here knows about HTTP or templates: ``iam_requests`` turns a call into ``Request``s,
``iam_roles`` turns template.yaml into ``Statement``s.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

# Condition keys the local model supplies when they apply to a request (lower case). A key in
# this set that a request does not carry is "absent" (IAM semantics: the condition is false,
# except for Null, ...IfExists and ForAllValues). Any other key is unknown: reported, never
# guessed. kms:EncryptionContext:<key> is modelled for every <key>.
MODELLED_KEYS = frozenset({
    "aws:securetransport",
    "aws:requestedregion",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:viaawsservice",
    "kms:viaservice",
    "kms:calleraccount",
    "kms:encryptioncontextkeys",
    "kms:signingalgorithm",
    "kms:messagetype",
    "dynamodb:leadingkeys",
    "s3:x-amz-server-side-encryption",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "s3:tlsversion",
    "s3:versionid",
    "s3:prefix",
    "s3:delimiter",
    "s3:max-keys",
})
ENCRYPTION_CONTEXT_PREFIX = "kms:encryptioncontext:"

_STRING_OPS = {"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
               "StringLike", "StringNotLike"}
_ARN_OPS = {"ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike"}
_NUMERIC_OPS = {"NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
                "NumericGreaterThan", "NumericGreaterThanEquals"}
_OTHER_OPS = {"Bool", "Null"}
SUPPORTED_OPERATORS = _STRING_OPS | _ARN_OPS | _NUMERIC_OPS | _OTHER_OPS


def normalise_key(key: str) -> str:
    """Condition key names are case-insensitive, except the encryption-context key itself."""
    if key.lower().startswith(ENCRYPTION_CONTEXT_PREFIX):
        return ENCRYPTION_CONTEXT_PREFIX + key[len(ENCRYPTION_CONTEXT_PREFIX):]
    return key.lower()


def is_modelled_key(key: str) -> bool:
    key = normalise_key(key)
    return key in MODELLED_KEYS or key.startswith(ENCRYPTION_CONTEXT_PREFIX)


@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """IAM wildcards: ``*`` any run of characters (``:`` and ``/`` included), ``?`` one."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case).fullmatch(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    """``kms:Encrypt*`` matches ``kms:Encrypt``; actions are case-insensitive."""
    return wildcard_match(pattern, action, ignore_case=True)


# ----- policy model -----------------------------------------------------------------------
@dataclass(frozen=True)
class Statement:
    """One statement of one policy, with the values of its intrinsics already resolved.

    ``source`` names the policy (``ScanValidatorRole/scan-validator``) and ``sid`` the statement
    (its Sid, or ``#<index>`` when it has none), so that a report can point at the template.
    ``principals`` is only set for resource policies: the AWS principals it names, ``*`` for all.
    """

    source: str
    sid: str
    effect: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    conditions: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # (operator, key, values)
    principals: tuple[str, ...] | None = None

    @classmethod
    def parse(cls, source: str, index: int, raw: Mapping[str, Any], *, resource_policy: bool = False,
              implicit_resource: str | None = None) -> "Statement":
        """A statement from its (resolved) JSON form; ``implicit_resource`` for key policies."""
        conditions: list[tuple[str, str, tuple[str, ...]]] = []
        for operator, block in (raw.get("Condition") or {}).items():
            for key, values in (block or {}).items():
                conditions.append((str(operator), str(key), _strings(values)))
        resources = _strings(raw.get("Resource"))
        if implicit_resource and resources == ("*",):
            resources = (implicit_resource,)
        principals = _principals(raw.get("Principal"), raw.get("NotPrincipal")) if resource_policy else None
        return cls(
            source=source,
            sid=str(raw.get("Sid") or f"#{index}"),
            effect=str(raw.get("Effect", "Allow")),
            actions=_strings(raw.get("Action")),
            not_actions=_strings(raw.get("NotAction")),
            resources=resources,
            not_resources=_strings(raw.get("NotResource")),
            conditions=tuple(conditions),
            principals=principals,
        )

    def matching_actions(self, action: str) -> tuple[str, ...]:
        if self.not_actions:
            return () if any(action_matches(p, action) for p in self.not_actions) else ("NotAction",)
        return tuple(p for p in self.actions if action_matches(p, action))

    def matching_resources(self, resource: str) -> tuple[str, ...]:
        if self.not_resources:
            return () if any(wildcard_match(p, resource) for p in self.not_resources) else ("NotResource",)
        return tuple(p for p in self.resources if wildcard_match(p, resource))

    def applies_to(self, principal_arn: str, account: str) -> bool:
        """For resource policies: does the statement name this principal?

        ``*`` and the role's own ARN name it; the account root (``arn:...:root`` or the bare id)
        names every principal of the account for a Deny, but for an Allow only *delegates* to
        IAM (the identity policy must allow too), which ``evaluate`` handles as delegation.
        """
        if self.principals is None:
            return True
        names = set(self.principals)
        return "*" in names or principal_arn in names or (self.effect == "Deny" and _names_account(names, account))

    def delegates_to_account(self, account: str) -> bool:
        return self.principals is not None and self.effect == "Allow" and _names_account(set(self.principals), account)


def _names_account(names: set[str], account: str) -> bool:
    return account in names or f"arn:aws:iam::{account}:root" in names


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple("true" if v is True else "false" if v is False else str(v) for v in value)
    if isinstance(value, bool):
        return ("true" if value else "false",)
    return (str(value),)


def _principals(principal: Any, not_principal: Any) -> tuple[str, ...]:
    if not_principal is not None:
        return ()  # NotPrincipal: not modelled; the statement then names no one
    if principal == "*":
        return ("*",)
    if isinstance(principal, Mapping):
        return _strings(principal.get("AWS"))
    return ()


# ----- requests and decisions -------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    """One authorisation question: may the caller do ``action`` on ``resource``?

    ``context`` holds the condition keys (normalised names) the local model supplies, each
    with one or more values; ``unavailable`` names keys that apply to this request but that the
    model cannot supply (a condition on them is reported, like an unknown key). ``via`` says
    which call caused a derived check (``s3:PutObject`` for S3's own kms:GenerateDataKey).
    """

    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    unavailable: frozenset[str] = frozenset()
    via: str = ""

    def value(self, key: str) -> tuple[str, ...] | None:
        return self.context.get(normalise_key(key))


@dataclass(frozen=True)
class Grant:
    """An (action pattern, resource pattern) pair of one statement: the unit of "used"."""

    source: str
    sid: str
    action: str
    resource: str


@dataclass
class Decision:
    allowed: bool
    reason: str  # "allowed", "explicit_deny", "implicit_deny", "unevaluable"
    grants: list[Grant] = field(default_factory=list)  # identity grants that allowed it
    denied_by: list[str] = field(default_factory=list)  # "source/sid" of explicit denies
    unevaluable: list[str] = field(default_factory=list)  # "source/sid: why"


class _Unknown(Exception):
    """A condition cannot be evaluated locally; the message says which key or operator."""


def evaluate(
    request: Request,
    identity: Sequence[Statement],
    resource_policies: Sequence[Statement] = (),
    *,
    principal_arn: str,
    account: str,
    resource_policy_required: bool = False,
) -> Decision:
    """Same-account IAM evaluation of ``request`` for ``principal_arn``.

    ``resource_policies``: statements of the resource's policy (bucket, queue or key policy).
    ``resource_policy_required`` models KMS: a key's policy must allow, either naming the
    principal or delegating to the account (and then the identity policy must allow as well).
    """
    decision = Decision(allowed=False, reason="implicit_deny")
    identity_allows = False
    resource_allows = False
    delegated = False
    for statement, is_identity in [(s, True) for s in identity] + [(s, False) for s in resource_policies]:
        if not is_identity and not (statement.applies_to(principal_arn, account)
                                    or statement.delegates_to_account(account)):
            continue
        actions = statement.matching_actions(request.action)
        resources = statement.matching_resources(request.resource) if actions else ()
        if not actions or not resources:
            continue
        try:
            holds = conditions_hold(statement.conditions, request)
        except _Unknown as exc:
            decision.unevaluable.append(f"{statement.source}/{statement.sid}: {exc}")
            continue
        if not holds:
            continue
        if statement.effect == "Deny":
            decision.denied_by.append(f"{statement.source}/{statement.sid}")
        elif is_identity:
            identity_allows = True
            decision.grants.extend(Grant(statement.source, statement.sid, a, r) for a in actions for r in resources)
        elif statement.delegates_to_account(account) and not statement.applies_to(principal_arn, account):
            delegated = True
        else:
            resource_allows = True
    if resource_policy_required:
        allowed = resource_allows or (delegated and identity_allows)
    else:
        allowed = identity_allows or resource_allows
    if decision.denied_by:
        decision.reason = "explicit_deny"
    elif decision.unevaluable:
        # An allow that might be cancelled by an unevaluable deny, or a deny for want of an
        # allow that might have held: either way the local run cannot vouch for AWS's answer.
        decision.reason = "unevaluable"
    elif allowed:
        decision.allowed, decision.reason = True, "allowed"
    if not decision.allowed:
        decision.grants = []
    return decision


# ----- conditions -------------------------------------------------------------------------
def conditions_hold(conditions: Iterable[tuple[str, str, tuple[str, ...]]], request: Request) -> bool:
    """All condition blocks must hold (AND); raises ``_Unknown`` for what cannot be evaluated."""
    return all(condition_holds(op, key, values, request) for op, key, values in conditions)


def condition_holds(operator: str, key: str, policy_values: Sequence[str], request: Request) -> bool:
    qualifier, base, if_exists = _split_operator(operator)
    if base not in SUPPORTED_OPERATORS:
        raise _Unknown(f"condition operator {operator} is not modelled")
    if not is_modelled_key(key) or normalise_key(key) in request.unavailable:
        raise _Unknown(f"condition key {key} is not modelled for {request.action}")
    values = request.value(key)
    if base == "Null":
        absent = values is None or len(values) == 0
        return any((v.lower() == "true") == absent for v in policy_values)
    negated = "Not" in base
    if values is None or len(values) == 0:
        # IAM: a missing key matches no value, so a negated operator holds (which is why
        # "deny unless encrypted" policies pair StringNotEquals with Null "false").
        return if_exists or qualifier == "ForAllValues" or (negated and qualifier == "")
    positive = base.replace("Not", "")
    if qualifier == "ForAllValues":
        return all(_single(positive, negated, v, policy_values) for v in values)
    if qualifier == "ForAnyValue":
        return any(_single(positive, negated, v, policy_values) for v in values)
    if len(values) > 1:
        raise _Unknown(f"{key} has several values; use ForAnyValue/ForAllValues")
    return _single(positive, negated, values[0], policy_values)


def _split_operator(operator: str) -> tuple[str, str, bool]:
    qualifier = ""
    if ":" in operator:
        qualifier, operator = operator.split(":", 1)
        if qualifier not in ("ForAnyValue", "ForAllValues"):
            return qualifier, f"{qualifier}:{operator}", False
    if_exists = operator.endswith("IfExists")
    return qualifier, operator.removesuffix("IfExists"), if_exists


def _single(positive: str, negated: bool, value: str, policy_values: Sequence[str]) -> bool:
    """Does one context value satisfy the operator against the policy's values (ORed)?"""
    matched = any(_compare(positive, value, p) for p in policy_values)
    return not matched if negated else matched


def _compare(operator: str, value: str, policy_value: str) -> bool:
    if operator == "StringEquals" or operator == "ArnEquals":
        return value == policy_value if operator == "StringEquals" else wildcard_match(policy_value, value)
    if operator == "StringEqualsIgnoreCase":
        return value.lower() == policy_value.lower()
    if operator in ("StringLike", "ArnLike"):
        return wildcard_match(policy_value, value)
    if operator == "Bool":
        return value.lower() == policy_value.lower()
    if operator.startswith("Numeric"):
        try:
            left, right = float(value), float(policy_value)
        except ValueError:
            return False
        return {
            "NumericEquals": left == right,
            "NumericLessThan": left < right,
            "NumericLessThanEquals": left <= right,
            "NumericGreaterThan": left > right,
            "NumericGreaterThanEquals": left >= right,
        }[operator]
    raise _Unknown(f"condition operator {operator} is not modelled")
