"""From one AWS API request on the wire to the IAM authorisation checks AWS would make for it.

AWS does not authorise "a request": it authorises actions on resources, sometimes several per
request (each item of a DynamoDB transaction, each key of an S3 multi-object delete), and some
services call KMS *with the caller's permissions* (S3 SSE-KMS, SQS SSE-KMS, Secrets Manager).
This module derives those checks from what the proxy sees: the SigV4 signing name, method,
path, query, headers and body. Resources are ARNs in the local stack's account and region.

A request it cannot map raises ``Unmodelled``; the enforcer reports it rather than allow it.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from xml.etree import ElementTree
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from iam_policy import Request
from iam_stack import IamStack

# The lowest TLS version the functions' SDK (rustls) can negotiate: what s3:TlsVersion would be
# at worst in AWS. aws:SecureTransport is true there, as every SDK endpoint is https.
SDK_TLS_VERSION = "1.2"


class Unmodelled(ValueError):
    """The request is not one the local model can turn into IAM checks."""


def checks_for(service: str, method: str, target: str, path: str, headers: Mapping[str, str], body: bytes,
               stack: IamStack) -> list[Request]:
    """The IAM checks for one request. ``target`` is the X-Amz-Target header ("" if none)."""
    operation = target.rsplit(".", 1)[-1] if target else ""
    if service == "dynamodb":
        return dynamodb_checks(operation, _json(body), stack)
    if service == "kms":
        return [kms_check(operation, _json(body), stack)]
    if service == "secretsmanager":
        return secretsmanager_checks(operation, _json(body), stack)
    if service == "sqs":
        if not operation:  # the query protocol: Action=... in the form body or the query string
            form = parse_qs(body.decode("utf-8", "replace")) or parse_qs(urlsplit(path).query)
            operation = (form.get("Action") or [""])[0]
            params: dict[str, Any] = {k: v[0] for k, v in form.items()}
        else:
            params = _json(body)
        return sqs_checks(operation, params, stack)
    if service == "s3":
        return s3_checks(method, path, headers, body, stack)
    if not operation:
        raise Unmodelled(f"{service} {method} {urlsplit(path).path}: no X-Amz-Target to name the action")
    return [Request(f"{service}:{operation}", "*")]


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError as exc:
        raise Unmodelled("the JSON body cannot be parsed") from exc
    return value if isinstance(value, dict) else {}


def _arn(stack: IamStack, service: str, resource: str) -> str:
    return f"arn:aws:{service}:{stack.region}:{stack.account}:{resource}"


# ----- DynamoDB ---------------------------------------------------------------------------
_TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                     "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


def dynamodb_checks(operation: str, body: Mapping[str, Any], stack: IamStack) -> list[Request]:
    """Transactions are authorised per item; Query/Scan on an index name the index's ARN."""
    if operation in ("TransactWriteItems", "TransactGetItems"):
        checks = []
        for item in body.get("TransactItems") or []:
            for kind, spec in item.items():
                if kind not in _TRANSACT_ACTIONS:
                    raise Unmodelled(f"dynamodb {operation} item kind {kind}")
                checks.append(_item_check(_TRANSACT_ACTIONS[kind], spec, stack, via=f"dynamodb:{operation}"))
        return checks
    if operation in ("BatchWriteItem", "BatchGetItem"):
        # Authorised by the batch action on each table (not per item, unlike transactions).
        return [Request(f"dynamodb:{operation}", _arn(stack, "dynamodb", f"table/{table}"))
                for table in (body.get("RequestItems") or {})]
    if operation in ("GetItem", "PutItem", "UpdateItem", "DeleteItem"):
        return [_item_check(operation, body, stack)]
    table = body.get("TableName")
    if not operation or not table:
        return [Request(f"dynamodb:{operation or 'Unknown'}", "*")]
    resource = _arn(stack, "dynamodb", f"table/{table}")
    if body.get("IndexName"):
        resource += f"/index/{body['IndexName']}"
    # LeadingKeys of a Query would need its KeyConditionExpression; not modelled.
    unavailable = frozenset({"dynamodb:leadingkeys"}) if operation in ("Query", "Scan") else frozenset()
    return [Request(f"dynamodb:{operation}", resource, unavailable=unavailable)]


def _item_check(action: str, spec: Mapping[str, Any], stack: IamStack, via: str = "") -> Request:
    table = str(spec.get("TableName", ""))
    item = spec.get("Key") or spec.get("Item") or {}
    context: dict[str, tuple[str, ...]] = {}
    leading = _attribute_text(item.get(stack.partition_keys.get(table, "")))
    if leading is not None:
        context["dynamodb:leadingkeys"] = (leading,)
    return Request(f"dynamodb:{action}", _arn(stack, "dynamodb", f"table/{table}"), context, via=via)


def _attribute_text(value: Any) -> str | None:
    if not isinstance(value, dict) or len(value) != 1:
        return None
    (kind, raw), = value.items()
    return str(raw) if kind in ("S", "N", "B") else None


# ----- KMS --------------------------------------------------------------------------------
def kms_check(operation: str, body: Mapping[str, Any], stack: IamStack) -> Request:
    key = body.get("KeyId") or body.get("DestinationKeyId") or _key_in_ciphertext(body.get("CiphertextBlob"))
    resource = (stack.key_arn(str(key)) or _arn(stack, "kms", str(key))) if key else "*"
    keys = encryption_context(body.get("EncryptionContext"))
    if operation in ("Sign", "Verify"):
        # What a signing key's policy may pin: the algorithm, and RAW versus DIGEST.
        keys["kms:signingalgorithm"] = (str(body.get("SigningAlgorithm", "")),)
        keys["kms:messagetype"] = (str(body.get("MessageType", "RAW")),)
    return Request(f"kms:{operation}", resource, keys)


def _key_in_ciphertext(blob: Any) -> str | None:
    """moto's ciphertext starts with the key id (36 characters); Decrypt may omit KeyId."""
    try:
        head = base64.b64decode(str(blob))[:36].decode("ascii")
        return str(uuid.UUID(head))
    except (ValueError, TypeError, UnicodeDecodeError):
        return None


def encryption_context(context: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(context, dict) or not context:
        return {}
    out = {f"kms:encryptioncontext:{k}": (str(v),) for k, v in context.items()}
    out["kms:encryptioncontextkeys"] = tuple(str(k) for k in context)
    return out


def via_service(stack: IamStack, action: str, key_arn: str, service: str, context: Mapping[str, str],
                via: str, unavailable: frozenset[str] = frozenset()) -> Request:
    """A KMS call a service makes with the caller's permissions (kms:ViaService is set)."""
    keys = encryption_context(dict(context))
    keys["kms:viaservice"] = (f"{service}.{stack.region}.amazonaws.com",)
    keys["aws:viaawsservice"] = ("true",)
    return Request(action, key_arn, keys, unavailable=unavailable, via=via)


# ----- Secrets Manager --------------------------------------------------------------------
def secretsmanager_checks(operation: str, body: Mapping[str, Any], stack: IamStack) -> list[Request]:
    secret_id = str(body.get("SecretId") or body.get("Name") or "")
    arn, key = _secret(secret_id, stack)
    checks = [Request(f"secretsmanager:{operation}", arn or "*")]
    kms_action = {"GetSecretValue": "kms:Decrypt", "PutSecretValue": "kms:GenerateDataKey",
                  "CreateSecret": "kms:GenerateDataKey"}.get(operation)
    if kms_action and key and arn:
        checks.append(via_service(stack, kms_action, key, "secretsmanager", {"SecretARN": arn},
                                  via=f"secretsmanager:{operation}",
                                  unavailable=frozenset({"kms:encryptioncontext:SecretVersionId"})))
    return checks


def _secret(secret_id: str, stack: IamStack) -> tuple[str | None, str | None]:
    for name, (arn, key) in stack.secrets.items():
        if secret_id in (name, arn) or (secret_id.startswith("arn:") and arn.startswith(secret_id + "-")):
            return arn, key
    if secret_id.startswith("arn:"):
        return secret_id, None
    return (_arn(stack, "secretsmanager", f"secret:{secret_id}") if secret_id else None), None


# ----- SQS --------------------------------------------------------------------------------
# Batch operations are authorised as their single-message action.
_SQS_ACTIONS = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
                "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}


def sqs_checks(operation: str, params: Mapping[str, Any], stack: IamStack) -> list[Request]:
    if not operation:
        raise Unmodelled("sqs request without an action")
    name = str(params.get("QueueName") or urlsplit(str(params.get("QueueUrl") or "")).path.rstrip("/").split("/")[-1])
    arn = _arn(stack, "sqs", name) if name else "*"
    action = f"sqs:{_SQS_ACTIONS.get(operation, operation)}"
    checks = [Request(action, arn)]
    key = stack.queue_keys.get(arn)
    if key:
        context = {"aws:sqs:arn": arn}
        if action == "sqs:SendMessage":
            checks.append(via_service(stack, "kms:GenerateDataKey", key, "sqs", context, via=action))
            checks.append(via_service(stack, "kms:Decrypt", key, "sqs", context, via=action))
        elif action == "sqs:ReceiveMessage":
            checks.append(via_service(stack, "kms:Decrypt", key, "sqs", context, via=action))
    return checks


def event_source_checks(queue_arn: str, stack: IamStack) -> list[Request]:
    """What Lambda's SQS event source mapping does with the function's role (not the code)."""
    via = "lambda:EventSourceMapping"
    actions = ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes")
    checks = [Request(f"sqs:{a}", queue_arn, via=via) for a in actions]
    key = stack.queue_keys.get(queue_arn)
    if key:
        checks.append(via_service(stack, "kms:Decrypt", key, "sqs", {"aws:sqs:arn": queue_arn}, via=via))
    return checks


# ----- S3 ---------------------------------------------------------------------------------
_VIRTUAL_HOST = re.compile(r"^(?P<bucket>[a-z0-9.-]+)\.s3[.-]")


def s3_checks(method: str, raw_path: str, headers: Mapping[str, str], body: bytes, stack: IamStack) -> list[Request]:
    """Path-style (``/bucket/key``) or virtual-hosted (``bucket.s3.…``) S3 REST requests."""
    parts = urlsplit(raw_path)
    query = parse_qs(parts.query, keep_blank_values=True)
    path = parts.path.lstrip("/")
    host = _VIRTUAL_HOST.match(headers.get("Host", "") or "")
    bucket, _, key = (host.group("bucket"), "", path) if host else path.partition("/")
    key = unquote(key)
    if not bucket:
        if method == "GET":
            return [Request("s3:ListAllMyBuckets", "*")]
        raise Unmodelled(f"s3 {method} without a bucket")
    bucket_arn = f"arn:aws:s3:::{bucket}"
    context = _s3_context(headers, query)
    version = "versionId" in query
    if not key:
        return [_s3_bucket_check(method, query, bucket_arn, context, body)] if "delete" not in query else \
            _s3_delete_objects(body, bucket_arn, context)
    object_arn = f"{bucket_arn}/{key}"
    sub = next((s for s in ("tagging", "acl", "retention", "legal-hold", "attributes") if s in query), None)
    if method in ("GET", "HEAD"):
        action = {"tagging": "GetObjectTagging", "acl": "GetObjectAcl", "attributes": "GetObjectAttributes",
                  "retention": "GetObjectRetention", "legal-hold": "GetObjectLegalHold"}.get(sub or "", "GetObject")
        if version:
            action = {"GetObject": "GetObjectVersion", "GetObjectTagging": "GetObjectVersionTagging",
                      "GetObjectAcl": "GetObjectVersionAcl"}.get(action, action)
        if "uploadId" in query:
            action = "ListMultipartUploadParts"
        checks = [Request(f"s3:{action}", object_arn, context)]
        if action in ("GetObject", "GetObjectVersion") and method == "GET":
            checks += _s3_kms(stack, bucket, object_arn, headers, "kms:Decrypt", f"s3:{action}", for_get=True)
        return checks
    if method == "PUT":
        if sub:
            action = {"tagging": "PutObjectTagging", "acl": "PutObjectAcl", "retention": "PutObjectRetention",
                      "legal-hold": "PutObjectLegalHold"}.get(sub, "PutObject")
            return [Request(f"s3:{action}", object_arn, context)]
        checks = [Request("s3:PutObject", object_arn, context)]
        copy_source = headers.get("x-amz-copy-source")
        if copy_source:
            source = unquote(copy_source.split("?", 1)[0]).lstrip("/")
            checks.append(Request("s3:GetObject", f"arn:aws:s3:::{source}", via="s3:CopyObject"))
        if "uploadId" not in query:  # UploadPart reuses the upload's data key
            checks += _s3_kms(stack, bucket, object_arn, headers, "kms:GenerateDataKey", "s3:PutObject")
        return checks
    if method == "POST" and ("uploads" in query or "uploadId" in query):
        checks = [Request("s3:PutObject", object_arn, context)]
        if "uploads" in query:
            checks += _s3_kms(stack, bucket, object_arn, headers, "kms:GenerateDataKey", "s3:PutObject")
        return checks
    if method == "DELETE":
        if "uploadId" in query:
            return [Request("s3:AbortMultipartUpload", object_arn, context)]
        if sub == "tagging":
            return [Request("s3:DeleteObjectVersionTagging" if version else "s3:DeleteObjectTagging", object_arn)]
        return [Request("s3:DeleteObjectVersion" if version else "s3:DeleteObject", object_arn, context)]
    raise Unmodelled(f"s3 {method} on an object with ?{'&'.join(sorted(query))}")


def _s3_context(headers: Mapping[str, str], query: Mapping[str, list[str]]) -> dict[str, tuple[str, ...]]:
    context: dict[str, tuple[str, ...]] = {"s3:tlsversion": (SDK_TLS_VERSION,)}
    for name in ("x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id"):
        value = headers.get(name)
        if value:
            context[f"s3:{name}"] = (value,)
    if query.get("versionId"):
        context["s3:versionid"] = (query["versionId"][0],)
    for name in ("prefix", "delimiter", "max-keys"):  # the list operations' condition keys
        if name in query:
            context[f"s3:{name}"] = (query[name][0],)
    return context


_BUCKET_ACTIONS = {
    ("GET", "versions"): "ListBucketVersions",
    ("GET", "uploads"): "ListBucketMultipartUploads",
    ("GET", "location"): "GetBucketLocation",
    ("GET", "versioning"): "GetBucketVersioning",
    ("GET", "encryption"): "GetEncryptionConfiguration",
    ("GET", "policy"): "GetBucketPolicy",
    ("GET", "lifecycle"): "GetLifecycleConfiguration",
    ("GET", "acl"): "GetBucketAcl",
    ("GET", "tagging"): "GetBucketTagging",
    ("GET", "publicAccessBlock"): "GetBucketPublicAccessBlock",
}


def _s3_bucket_check(method: str, query: Mapping[str, Any], bucket_arn: str, context: Mapping[str, tuple[str, ...]],
                     body: bytes) -> Request:
    for (verb, sub), action in _BUCKET_ACTIONS.items():
        if method == verb and sub in query:
            return Request(f"s3:{action}", bucket_arn, context)
    if method in ("GET", "HEAD") and not (set(query) - {"list-type", "prefix", "delimiter", "max-keys", "marker",
                                                          "continuation-token", "start-after", "encoding-type",
                                                          "fetch-owner"}):
        return Request("s3:ListBucket", bucket_arn, context)  # ListObjects(V2), HeadBucket
    if method == "PUT" and not query:
        return Request("s3:CreateBucket", bucket_arn, context)
    if method == "DELETE" and not query:
        return Request("s3:DeleteBucket", bucket_arn, context)
    raise Unmodelled(f"s3 {method} on a bucket with ?{'&'.join(sorted(query))}")


def _s3_delete_objects(body: bytes, bucket_arn: str, context: Mapping[str, tuple[str, ...]]) -> list[Request]:
    """DeleteObjects is authorised per key: s3:DeleteObject, or s3:DeleteObjectVersion."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise Unmodelled("s3 DeleteObjects body is not XML") from exc
    checks = []
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] != "Object":
            continue
        fields = {child.tag.rsplit("}", 1)[-1]: (child.text or "") for child in element}
        action = "s3:DeleteObjectVersion" if fields.get("VersionId") else "s3:DeleteObject"
        checks.append(Request(action, f"{bucket_arn}/{fields.get('Key', '')}", context, via="s3:DeleteObjects"))
    return checks


def _s3_kms(stack: IamStack, bucket: str, object_arn: str, headers: Mapping[str, str], action: str, via: str,
            for_get: bool = False) -> list[Request]:
    """SSE-KMS: S3 asks KMS with the caller's permissions (GenerateDataKey on put, Decrypt on get).

    The key is the request's (``x-amz-server-side-encryption-aws-kms-key-id``) or the bucket's
    default; a get is assumed to read an object written with the bucket's default encryption.
    The encryption context is the bucket ARN with an S3 Bucket Key, else the object ARN.
    """
    default_key, bucket_key = stack.bucket_keys.get(bucket, (None, False))
    algorithm = headers.get("x-amz-server-side-encryption", "")
    if for_get:
        key = default_key
    elif algorithm.startswith("aws:kms"):
        key = stack.key_arn(headers.get("x-amz-server-side-encryption-aws-kms-key-id")) or default_key
    elif not algorithm:
        key = default_key
    else:
        key = None  # SSE-S3 asked for explicitly
    if not key or key == "aws/s3":
        return []
    requested = headers.get("x-amz-server-side-encryption-bucket-key-enabled", "")
    bucket_key = bucket_key if not requested else requested.lower() == "true"
    arn = object_arn.split("/", 1)[0] if bucket_key else object_arn
    return [via_service(stack, action, key, "s3", {"aws:s3:arn": arn}, via=via)]
