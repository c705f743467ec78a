"""What the local IAM enforcement knows about the stack, read from template.yaml.

Per function: its execution role's policies (inline ``Policies``, ``AWS::IAM::Policy`` and
``AWS::IAM::ManagedPolicy`` resources attached to the role), with every intrinsic resolved the
way ``template.py`` resolves them against the physical ids moto holds (``.local/stack.json``),
and the access key id that identifies the function to the AWS fault proxy. Per resource: the
policies AWS evaluates besides the caller's (S3 bucket policies, SQS queue policies, KMS key
policies) and the facts that turn one call into several checks (which key encrypts a bucket,
a queue or a secret; a table's partition key).

Every function gets its own access key id, ``LOCAL<LOGICALID>`` (``LOCALSCANVALIDATORFUNCTION``);
``function_runner.py`` puts it into the function's environment. moto accepts any key, so the
key serves only as the caller's identity.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cfn_yaml
import template as tpl
from iam_policy import Statement
from intrinsics import Resolver, Unresolvable
from settings import ACCOUNT_ID, REGION, Ports, function_access_key

log = logging.getLogger("iam")


@dataclass(frozen=True)
class FunctionIdentity:
    logical_id: str
    binary: str
    role: str  # logical id of the role
    role_arn: str
    access_key: str
    statements: tuple[Statement, ...]
    not_modelled: tuple[str, ...] = ()  # managed policies and the like, named for the report


@dataclass
class IamStack:
    """Identities by access key, resource policies by resource ARN, and encryption facts."""

    functions: dict[str, FunctionIdentity] = field(default_factory=dict)  # access key -> identity
    bucket_policies: dict[str, tuple[Statement, ...]] = field(default_factory=dict)  # bucket name
    queue_policies: dict[str, tuple[Statement, ...]] = field(default_factory=dict)  # queue ARN
    key_policies: dict[str, tuple[Statement, ...]] = field(default_factory=dict)  # key ARN
    key_ids: dict[str, str] = field(default_factory=dict)  # key id, key ARN or alias -> key ARN
    bucket_keys: dict[str, tuple[str, bool]] = field(default_factory=dict)  # bucket -> (key ARN, bucket key)
    queue_keys: dict[str, str] = field(default_factory=dict)  # queue ARN -> key ARN
    secrets: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # name -> (ARN, key ARN)
    partition_keys: dict[str, str] = field(default_factory=dict)  # table name -> HASH attribute
    sqs_mappings: list[tuple[str, str]] = field(default_factory=list)  # (access key, queue ARN)
    warnings: list[str] = field(default_factory=list)

    @property
    def region(self) -> str:
        return REGION

    @property
    def account(self) -> str:
        return ACCOUNT_ID

    def key_arn(self, key: str | None) -> str | None:
        """A key id, key ARN, alias name or alias ARN -> the key's ARN (None if unknown)."""
        if not key:
            return None
        if key in self.key_ids:
            return self.key_ids[key]
        if ":alias/" in key:
            return self.key_ids.get("alias/" + key.split(":alias/", 1)[1])
        if key.startswith("arn:aws:kms:"):
            return key
        if not key.startswith("alias/"):
            return f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/{key}"
        return None

    def function_named(self, logical_id: str) -> FunctionIdentity | None:
        return next((f for f in self.functions.values() if f.logical_id == logical_id), None)


def load(template_path: Path, stack_file: Path | None, ports: Ports | None = None,
         overrides: Mapping[str, str] | None = None) -> IamStack:
    """The IAM view of the template, resolved against the physical ids in ``stack_file``, and
    against the parameters that stack was provisioned with (its ``LOCAL_PARAMETER_OVERRIDES``),
    so that a resource's ``Condition`` is judged as it was when the stack was made."""
    physical = None
    if stack_file is not None and stack_file.is_file():
        provisioned = json.loads(stack_file.read_text())
        physical = tpl.physical_from_json(provisioned["physical"])
        if overrides is None:
            overrides = {k: v for k, v in (provisioned.get("parameters") or {}).items() if isinstance(v, str)}
    return build(cfn_yaml.load(template_path), ports=ports, overrides=overrides, physical=physical)


def build(template: Mapping[str, Any], *, ports: Ports | None = None, overrides: Mapping[str, str] | None = None,
          physical: Mapping[str, Any] | None = None) -> IamStack:
    model = tpl.build_model(template, ports=ports, overrides=overrides, physical=physical)
    resolver = Resolver(template, model.parameters, model.physical)
    resources: Mapping[str, Any] = template.get("Resources") or {}
    stack = IamStack()

    for key in model.keys.values():
        ids = model.physical[key.logical_id]
        arn = ids.attributes["Arn"]
        for name in (ids.ref, arn, *key.aliases, f"alias/{tpl.local_name(key.logical_id)}"):
            stack.key_ids[name] = arn
        raw_policy = (resources[key.logical_id].get("Properties") or {}).get("KeyPolicy")
        stack.key_policies[arn] = _key_policy(resolver, key.logical_id, raw_policy, arn)
    for bucket in model.buckets.values():
        if bucket.kms_key:
            key_arn = stack.key_arn(bucket.kms_key) or bucket.kms_key
            stack.bucket_keys[bucket.name] = (key_arn, _bucket_key_enabled(resolver, resources[bucket.logical_id]))
    for queue in model.queues.values():
        if queue.kms_key:
            stack.queue_keys[queue.arn] = stack.key_arn(queue.kms_key) or queue.kms_key
    for secret in model.secrets.values():
        stack.secrets[secret.name] = (model.physical[secret.logical_id].ref, stack.key_arn(secret.kms_key))
    for table in model.tables.values():
        stack.partition_keys[table.name] = next((k.name for k in table.keys if k.key_type == "HASH"), "")

    for logical_id, resource in resources.items():
        if not isinstance(resource, dict) or not resolver.resource_enabled(resource):
            continue
        kind = resource.get("Type")
        props = resource.get("Properties") or {}
        if kind == "AWS::S3::BucketPolicy":
            bucket = resolver.resolve_str(props.get("Bucket"))
            stack.bucket_policies[bucket] = stack.bucket_policies.get(bucket, ()) + _statements(
                resolver, logical_id, props.get("PolicyDocument"), resource_policy=True)
        elif kind == "AWS::SQS::QueuePolicy":
            statements = _statements(resolver, logical_id, props.get("PolicyDocument"), resource_policy=True)
            for url in resolver.resolve(props.get("Queues") or []):
                queue = next((q for q in model.queues.values() if url in {q.url, q.name, q.arn}), None)
                if queue is not None:
                    stack.queue_policies[queue.arn] = stack.queue_policies.get(queue.arn, ()) + statements

    attached = _attached_policies(resolver, resources)
    for function in model.functions.values():
        identity = _identity(resolver, resources, function, attached, stack.warnings)
        if identity is not None:
            stack.functions[identity.access_key] = identity
    for mapping in model.sqs_mappings:
        identity = stack.function_named(mapping.function)
        if identity is not None and mapping.enabled:
            stack.sqs_mappings.append((identity.access_key, mapping.queue_arn))
    return stack


def _statements(resolver: Resolver, source: str, document: Any, *, resource_policy: bool = False,
                implicit_resource: str | None = None) -> tuple[Statement, ...]:
    resolved = resolver.resolve(document or {})
    raw = resolved.get("Statement") or []
    if isinstance(raw, dict):
        raw = [raw]
    return tuple(Statement.parse(source, i, s, resource_policy=resource_policy, implicit_resource=implicit_resource)
                 for i, s in enumerate(raw))


def _key_policy(resolver: Resolver, logical_id: str, raw: Any, key_arn: str) -> tuple[Statement, ...]:
    """The key's policy; without one, AWS's default (the account may use IAM to grant it)."""
    if raw is None:
        raw = {"Statement": [{"Sid": "DefaultKeyPolicy", "Effect": "Allow", "Action": "kms:*", "Resource": "*",
                              "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}}]}
    return _statements(resolver, logical_id, raw, resource_policy=True, implicit_resource=key_arn)


def _bucket_key_enabled(resolver: Resolver, resource: Mapping[str, Any]) -> bool:
    encryption = resolver.resolve((resource.get("Properties") or {}).get("BucketEncryption") or {})
    rules = encryption.get("ServerSideEncryptionConfiguration") or []
    return any(tpl._truthy(rule.get("BucketKeyEnabled")) for rule in rules)


def _attached_policies(resolver: Resolver, resources: Mapping[str, Any]) -> dict[str, list[tuple[str, Any]]]:
    """Role logical id -> [(policy name, document)] of AWS::IAM::Policy/ManagedPolicy resources."""
    attached: dict[str, list[tuple[str, Any]]] = {}
    for logical_id, resource in resources.items():
        kind = resource.get("Type") if isinstance(resource, dict) else None
        if kind not in {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}:
            continue
        # A policy whose Condition is false does not exist in the stack: it grants nothing.
        if not resolver.resource_enabled(resource):
            continue
        props = resource.get("Properties") or {}
        for role in props.get("Roles") or []:
            role_id = tpl._logical_id_of(role)
            if role_id:
                attached.setdefault(role_id, []).append((logical_id, props.get("PolicyDocument")))
    return attached


def _identity(resolver: Resolver, resources: Mapping[str, Any], function: tpl.Function,
              attached: Mapping[str, list[tuple[str, Any]]], warnings: list[str]) -> FunctionIdentity | None:
    props = resources[function.logical_id].get("Properties") or {}
    role_id = tpl._logical_id_of(props.get("Role"))
    if role_id is None or (resources.get(role_id) or {}).get("Type") != "AWS::IAM::Role":
        detail = "SAM Policies/policy templates" if props.get("Policies") else "a role outside the template"
        warnings.append(f"{function.logical_id}: its role is not an AWS::IAM::Role of this template "
                        f"({detail}); its calls are reported as unevaluable")
        return None
    role = resources[role_id].get("Properties") or {}
    statements: list[Statement] = []
    try:
        for policy in resolver.resolve(role.get("Policies") or []):
            source = f"{role_id}/{policy.get('PolicyName', '?')}"
            statements.extend(_statements(resolver, source, policy.get("PolicyDocument")))
        for source, document in attached.get(role_id, []):
            statements.extend(_statements(resolver, source, document))
        managed = tuple(str(arn) for arn in resolver.resolve(role.get("ManagedPolicyArns") or []))
    except Unresolvable as exc:
        warnings.append(f"{role_id}: a policy cannot be resolved locally ({exc})")
        return None
    return FunctionIdentity(
        logical_id=function.logical_id,
        binary=function.binary,
        role=role_id,
        role_arn=resolver.get_att(role_id, "Arn"),
        access_key=function_access_key(function.logical_id),
        statements=tuple(statements),
        not_modelled=managed,
    )
