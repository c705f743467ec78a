"""The IAM evaluator: allow, deny, wildcards, resources, conditions, resource and key policies."""

from __future__ import annotations

import pytest

from iam_policy import Request, Statement, evaluate

ROLE = "arn:aws:iam::123456789012:role/fn-role"
ACCOUNT = "123456789012"
TABLE = "arn:aws:dynamodb:eu-west-1:123456789012:table/users"
KEY = "arn:aws:kms:eu-west-1:123456789012:key/k1"


def statement(sid: str = "S", effect: str = "Allow", **raw) -> Statement:
    return Statement.parse("Role/policy", 0, {"Sid": sid, "Effect": effect, **raw})


def decide(request: Request, *identity: Statement, resource_policy: tuple[Statement, ...] = (), required=False):
    return evaluate(request, identity, resource_policy, principal_arn=ROLE, account=ACCOUNT,
                    resource_policy_required=required)


def test_an_allow_for_the_action_and_resource_allows_and_names_the_grant_used():
    # GIVEN a statement allowing GetItem on the table
    allow = statement(Action="dynamodb:GetItem", Resource=TABLE)
    # WHEN GetItem on that table is asked
    decision = decide(Request("dynamodb:GetItem", TABLE), allow)
    # THEN it is allowed, and the (action, resource) pair is the grant that allowed it
    assert decision.allowed and decision.reason == "allowed"
    assert [(g.sid, g.action, g.resource) for g in decision.grants] == [("S", "dynamodb:GetItem", TABLE)]


def test_without_a_matching_allow_the_call_is_implicitly_denied():
    # GIVEN a role allowing only PutItem WHEN GetItem is asked THEN it is denied (no allow)
    decision = decide(Request("dynamodb:GetItem", TABLE), statement(Action="dynamodb:PutItem", Resource=TABLE))
    assert not decision.allowed and decision.reason == "implicit_deny"


def test_an_explicit_deny_beats_any_allow():
    # GIVEN an allow of everything and a deny of DeleteItem
    statements = (statement(Action="*", Resource="*"), statement("NoDelete", "Deny", Action="dynamodb:DeleteItem",
                                                                Resource="*"))
    # WHEN DeleteItem is asked THEN the deny wins and is named
    decision = decide(Request("dynamodb:DeleteItem", TABLE), *statements)
    assert decision.reason == "explicit_deny" and decision.denied_by == ["Role/policy/NoDelete"]


@pytest.mark.parametrize(("pattern", "action", "allowed"), [
    ("kms:Encrypt*", "kms:Encrypt", True),
    ("kms:Encrypt*", "kms:Decrypt", False),
    ("kms:GenerateDataKey*", "kms:GenerateDataKeyWithoutPlaintext", True),
    ("dynamodb:*", "dynamodb:Query", True),
    ("DynamoDB:getitem", "dynamodb:GetItem", True),  # actions are case-insensitive
    ("s3:Get?bject", "s3:GetObject", True),
])
def test_action_wildcards(pattern: str, action: str, allowed: bool):
    # GIVEN an allow with a wildcard action WHEN an action is asked THEN it matches as IAM does
    assert decide(Request(action, "*"), statement(Action=pattern, Resource="*")).allowed is allowed


@pytest.mark.parametrize(("pattern", "resource", "allowed"), [
    ("arn:aws:s3:::images/faces/*", "arn:aws:s3:::images/faces/a/b.jpg", True),
    ("arn:aws:s3:::images/faces/*", "arn:aws:s3:::images/other/b.jpg", False),
    ("arn:aws:s3:::images/*", "arn:aws:s3:::images", False),  # the bucket is not an object
    (TABLE, TABLE + "/index/by_user", False),  # an index is its own resource
    (TABLE + "/index/*", TABLE + "/index/by_user", True),
    ("arn:aws:dynamodb:eu-west-1:123456789012:table/Users", TABLE, False),  # resources are case-sensitive
])
def test_resource_matching(pattern: str, resource: str, allowed: bool):
    # GIVEN an allow on a resource pattern WHEN a resource is asked THEN ARNs match as in IAM
    assert decide(Request("s3:GetObject", resource), statement(Action="*", Resource=pattern)).allowed is allowed


def test_not_action_and_not_resource():
    # GIVEN an allow of everything but deletes, on everything but one table
    allow = statement(NotAction="dynamodb:Delete*", NotResource=TABLE)
    # THEN other actions on other tables are allowed; deletes and the excluded table are not
    assert decide(Request("dynamodb:GetItem", TABLE + "x"), allow).allowed
    assert not decide(Request("dynamodb:DeleteItem", TABLE + "x"), allow).allowed
    assert not decide(Request("dynamodb:GetItem", TABLE), allow).allowed


VIA_SQS = {"kms:viaservice": ("sqs.eu-west-1.amazonaws.com",)}


@pytest.mark.parametrize(("operator", "values", "context", "allowed"), [
    ("StringEquals", ["sqs.eu-west-1.amazonaws.com"], VIA_SQS, True),
    ("StringEquals", ["s3.eu-west-1.amazonaws.com"], VIA_SQS, False),
    ("StringEquals", ["sqs.eu-west-1.amazonaws.com"], {}, False),  # absent key: no match
    ("StringLike", ["*.eu-west-1.amazonaws.com"], VIA_SQS, True),
    ("StringNotEquals", ["s3.eu-west-1.amazonaws.com"], VIA_SQS, True),
    ("StringNotEquals", ["s3.eu-west-1.amazonaws.com"], {}, True),  # absent key: negation holds
    ("StringEqualsIfExists", ["s3.eu-west-1.amazonaws.com"], {}, True),
    ("Null", ["true"], {}, True),
    ("Null", ["false"], {}, False),
])
def test_conditions_on_kms_via_service(operator: str, values: list[str], context: dict, allowed: bool):
    # GIVEN an allow of Decrypt with a condition on kms:ViaService
    allow = statement(Action="kms:Decrypt", Resource=KEY, Condition={operator: {"kms:ViaService": values}})
    # WHEN Decrypt is asked with (or without) the key in the request context THEN IAM's rule applies
    assert decide(Request("kms:Decrypt", KEY, context), allow).allowed is allowed


def test_encryption_context_conditions_compare_the_named_context_key():
    # GIVEN GenerateDataKey allowed only with the personal-fields encryption context
    allow = statement(Action="kms:GenerateDataKey", Resource=KEY,
                      Condition={"StringEquals": {"kms:EncryptionContext:purpose": "personal-fields"}})
    # THEN the right context allows, another value or no context does not
    right = {"kms:encryptioncontext:purpose": ("personal-fields",)}
    assert decide(Request("kms:GenerateDataKey", KEY, right), allow).allowed
    assert not decide(Request("kms:GenerateDataKey", KEY, {"kms:encryptioncontext:purpose": ("x",)}), allow).allowed
    assert not decide(Request("kms:GenerateDataKey", KEY), allow).allowed


def test_for_any_value_and_for_all_values_on_multivalued_keys():
    keys = {"kms:encryptioncontextkeys": ("purpose", "tenant")}
    any_value = statement(Action="kms:Decrypt", Resource="*",
                          Condition={"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": ["purpose"]}})
    all_values = statement(Action="kms:Decrypt", Resource="*",
                           Condition={"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["purpose"]}})
    # GIVEN a request with two context keys THEN ForAnyValue holds and ForAllValues does not
    assert decide(Request("kms:Decrypt", KEY, keys), any_value).allowed
    assert not decide(Request("kms:Decrypt", KEY, keys), all_values).allowed
    # AND ForAllValues holds when the key is absent (an empty set), ForAnyValue does not
    assert decide(Request("kms:Decrypt", KEY), all_values).allowed
    assert not decide(Request("kms:Decrypt", KEY), any_value).allowed


def test_leading_keys_condition():
    allow = statement(Action="dynamodb:GetItem", Resource=TABLE,
                      Condition={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["user#*"]}})
    # GIVEN an allow limited to user# partition keys THEN another partition key is denied
    assert decide(Request("dynamodb:GetItem", TABLE, {"dynamodb:leadingkeys": ("user#1",)}), allow).allowed
    assert not decide(Request("dynamodb:GetItem", TABLE, {"dynamodb:leadingkeys": ("name#x",)}), allow).allowed


def test_an_unknown_condition_key_is_reported_not_allowed():
    # GIVEN an allow whose condition uses a key the local model cannot supply
    allow = statement(Action="dynamodb:GetItem", Resource=TABLE,
                      Condition={"StringEquals": {"aws:SourceVpce": "vpce-1"}})
    # WHEN the call is evaluated THEN it is neither allowed nor silently denied: it is unevaluable
    decision = decide(Request("dynamodb:GetItem", TABLE), allow)
    assert not decision.allowed and decision.reason == "unevaluable"
    assert "aws:SourceVpce" in decision.unevaluable[0]


def test_a_key_unavailable_for_this_request_is_reported():
    # GIVEN LeadingKeys on a Query (not derivable from a KeyConditionExpression here)
    allow = statement(Action="dynamodb:Query", Resource="*",
                      Condition={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["a"]}})
    request = Request("dynamodb:Query", TABLE + "/index/by_user", unavailable=frozenset({"dynamodb:leadingkeys"}))
    # THEN the decision is unevaluable
    assert decide(request, allow).reason == "unevaluable"


def test_a_bucket_policy_deny_applies_to_every_principal():
    # GIVEN the role may put objects, and the bucket denies puts that ask for another encryption
    allow = statement(Action="s3:PutObject", Resource="arn:aws:s3:::images/*")
    deny = Statement.parse("ImagesBucketPolicy", 0, {
        "Sid": "DenyPutWithOtherEncryption", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::images/*",
        "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                      "Null": {"s3:x-amz-server-side-encryption": "false"}}}, resource_policy=True)
    obj = "arn:aws:s3:::images/faces/1"
    # THEN a put with aws:kms, or with no header, is allowed; a put asking for AES256 is denied
    assert decide(Request("s3:PutObject", obj, {"s3:x-amz-server-side-encryption": ("aws:kms",)}), allow,
                  resource_policy=(deny,)).allowed
    assert decide(Request("s3:PutObject", obj), allow, resource_policy=(deny,)).allowed
    denied = decide(Request("s3:PutObject", obj, {"s3:x-amz-server-side-encryption": ("AES256",)}), allow,
                    resource_policy=(deny,))
    assert denied.reason == "explicit_deny" and denied.denied_by == ["ImagesBucketPolicy/DenyPutWithOtherEncryption"]


def test_a_key_policy_must_allow_the_principal_or_delegate_to_the_account():
    root = Statement.parse("DataKey", 0, {"Sid": "Root", "Effect": "Allow", "Action": "kms:*", "Resource": "*",
                                          "Principal": {"AWS": "arn:aws:iam::123456789012:root"}},
                           resource_policy=True, implicit_resource=KEY)
    logs_only = Statement.parse("DataKey", 1, {"Sid": "Logs", "Effect": "Allow", "Action": "kms:*", "Resource": "*",
                                               "Principal": {"Service": "logs.amazonaws.com"}},
                                resource_policy=True, implicit_resource=KEY)
    allow = statement(Action="kms:Decrypt", Resource=KEY)
    request = Request("kms:Decrypt", KEY)
    # GIVEN a key policy delegating to the account THEN the role's own allow is enough
    assert decide(request, allow, resource_policy=(root,), required=True).allowed
    # AND without the role's allow the delegation alone does not allow
    assert not decide(request, resource_policy=(root,), required=True).allowed
    # GIVEN a key policy that names only a service THEN even the role's allow is not enough
    assert not decide(request, allow, resource_policy=(logs_only,), required=True).allowed
