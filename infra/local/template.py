"""The local stack's view of template.yaml: functions, routes, queues, tables, buckets, keys.

template.yaml is the single source of truth for what exists (docs/template-conventions.md).
This module turns it into a small typed model that the provisioner, the gateway emulator and
the SQS event-source emulator share, so none of them keeps a second hand-written list.

Resources get deterministic local physical ids (``onboarding-local-<logical-id-in-kebab>``
unless the template names them); ``provision.py`` may replace predicted ids with the ones moto
actually returned (secret ARNs, KMS key ids), and everything is re-resolved from those.
"""

from __future__ import annotations

import copy
import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cfn_yaml
from intrinsics import Physical, Resolver, Unresolvable, resolve_parameters
from settings import ACCOUNT_ID, REGION, STACK_NAME, Ports

log = logging.getLogger("template")

FUNCTION_TYPES = {"AWS::Serverless::Function"}
HTTP_API_TYPES = {"AWS::Serverless::HttpApi"}
DEFAULT_FUNCTION_TIMEOUT = 3


# ----- model ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    """One HTTP API route: ``method`` may be ``ANY``; ``path`` may hold ``{param}``/``{p+}``."""

    method: str
    path: str
    function: str  # logical id
    binary: str
    # The route's authorizer as the template names it (``AWS_IAM``: SigV4, checked by the
    # gateway's IAM authorizer, iam_authorizer.py); None for a public route.
    authorizer: str | None = None

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass(frozen=True)
class SqsMapping:
    """An SQS event source mapping: which queue feeds which function, and how."""

    function: str
    binary: str
    queue: str  # logical id
    queue_url: str
    queue_arn: str
    batch_size: int
    batching_window: int
    report_batch_item_failures: bool
    maximum_concurrency: int | None
    enabled: bool


@dataclass(frozen=True)
class Function:
    logical_id: str
    binary: str
    name: str
    timeout: int
    memory: int
    env: dict[str, str]


@dataclass(frozen=True)
class KeyElement:
    name: str
    key_type: str  # HASH or RANGE
    attribute_type: str  # S, N or B


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[KeyElement, ...]
    projection: dict[str, Any]


@dataclass(frozen=True)
class Table:
    logical_id: str
    name: str
    keys: tuple[KeyElement, ...]
    global_indexes: tuple[Index, ...]
    ttl_attribute: str | None
    point_in_time_recovery: bool
    kms_key: str | None  # resolved KMSMasterKeyId (key id or ARN), None = AWS owned key
    stream_view_type: str | None


@dataclass(frozen=True)
class Redrive:
    dead_letter_queue: str  # logical id
    max_receive_count: int


@dataclass(frozen=True)
class Queue:
    logical_id: str
    name: str
    url: str
    arn: str
    visibility_timeout: int | None
    message_retention: int | None
    receive_wait: int | None
    fifo: bool
    kms_key: str | None
    redrive: Redrive | None


@dataclass(frozen=True)
class Bucket:
    logical_id: str
    name: str
    versioning: bool
    kms_key: str | None  # set when the default encryption is SSE-KMS
    block_public_access: bool
    lifecycle_rules: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class KmsKey:
    logical_id: str
    description: str
    aliases: tuple[str, ...]
    rotation: bool
    # Asymmetric keys (the OpenID Connect signing keys) must be created as such locally too, or
    # kms:Sign would fail only in AWS.
    spec: str = "SYMMETRIC_DEFAULT"
    usage: str = "ENCRYPT_DECRYPT"


@dataclass(frozen=True)
class Secret:
    logical_id: str
    name: str
    kms_key: str | None
    generated: bool  # the template has GenerateSecretString


@dataclass(frozen=True)
class Cors:
    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...]
    allow_headers: tuple[str, ...]
    expose_headers: tuple[str, ...]
    max_age: int | None
    allow_credentials: bool


@dataclass
class StackModel:
    """Everything the local tools need, with intrinsic values already resolved."""

    parameters: dict[str, Any]
    functions: dict[str, Function] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    sqs_mappings: list[SqsMapping] = field(default_factory=list)
    tables: dict[str, Table] = field(default_factory=dict)
    queues: dict[str, Queue] = field(default_factory=dict)
    buckets: dict[str, Bucket] = field(default_factory=dict)
    keys: dict[str, KmsKey] = field(default_factory=dict)
    secrets: dict[str, Secret] = field(default_factory=dict)
    cors: Cors | None = None
    physical: dict[str, Physical] = field(default_factory=dict)
    ignored: dict[str, str] = field(default_factory=dict)  # logical id -> type

    def function_by_binary(self, binary: str) -> Function:
        for function in self.functions.values():
            if function.binary == binary:
                return function
        raise KeyError(binary)

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly summary (for .local/stack.json and the tests)."""
        return {
            "parameters": self.parameters,
            "functions": {k: asdict(v) for k, v in self.functions.items()},
            "routes": [asdict(r) | {"route_key": r.route_key} for r in self.routes],
            "sqs_mappings": [asdict(m) for m in self.sqs_mappings],
            "tables": {k: asdict(v) for k, v in self.tables.items()},
            "queues": {k: asdict(v) for k, v in self.queues.items()},
            "buckets": {k: asdict(v) for k, v in self.buckets.items()},
            "keys": {k: asdict(v) for k, v in self.keys.items()},
            "secrets": {k: asdict(v) for k, v in self.secrets.items()},
            "cors": asdict(self.cors) if self.cors else None,
            "physical": {k: asdict(v) for k, v in self.physical.items()},
            "ignored": self.ignored,
        }


# ----- naming -----------------------------------------------------------------------------
def kebab(logical_id: str) -> str:
    """``RegistrationQueueDLQ`` -> ``registration-queue-dlq`` (deterministic, DNS/S3 safe)."""
    text = logical_id.replace("IProov", "Iproov")  # the brand is one word: iproov-secret
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1-\2", text)
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


def local_name(logical_id: str) -> str:
    return f"{STACK_NAME}-{kebab(logical_id)}"


def predicted_physical(
    logical_id: str, resource: Mapping[str, Any], explicit_name: str | None, ports: Ports
) -> Physical:
    """Local ``Ref``/``GetAtt`` values of a resource before (or without) creating it."""
    kind = resource.get("Type", "")
    props = resource.get("Properties") or {}
    name = explicit_name or local_name(logical_id)
    arn_prefix = f"arn:aws:{{}}:{REGION}:{ACCOUNT_ID}"
    if kind == "AWS::DynamoDB::Table":
        arn = f"{arn_prefix.format('dynamodb')}:table/{name}"
        return Physical(name, {"Arn": arn, "StreamArn": f"{arn}/stream/local"})
    if kind == "AWS::SQS::Queue":
        if _truthy(props.get("FifoQueue")) and not name.endswith(".fifo"):
            name += ".fifo"
        url = f"{ports.aws_endpoint}/{ACCOUNT_ID}/{name}"
        return Physical(url, {"Arn": f"{arn_prefix.format('sqs')}:{name}", "QueueName": name, "QueueUrl": url})
    if kind == "AWS::S3::Bucket":
        return Physical(
            name,
            {
                "Arn": f"arn:aws:s3:::{name}",
                "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{REGION}.amazonaws.com",
            },
        )
    if kind == "AWS::KMS::Key":
        key_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{STACK_NAME}/{logical_id}"))
        return Physical(key_id, {"Arn": f"{arn_prefix.format('kms')}:key/{key_id}", "KeyId": key_id})
    if kind == "AWS::KMS::Alias":
        alias = explicit_name or f"alias/{name}"
        return Physical(alias, {})
    if kind == "AWS::SecretsManager::Secret":
        arn = f"{arn_prefix.format('secretsmanager')}:secret:{name}"
        return Physical(arn, {"Id": arn, "Name": name})
    if kind in FUNCTION_TYPES or kind == "AWS::Lambda::Function":
        return Physical(name, {"Arn": f"{arn_prefix.format('lambda')}:function:{name}"})
    if kind in HTTP_API_TYPES or kind == "AWS::ApiGatewayV2::Api":
        return Physical("local", {"ApiEndpoint": ports.api_url, "ApiId": "local"})
    if kind == "AWS::Logs::LogGroup":
        return Physical(name, {"Arn": f"{arn_prefix.format('logs')}:log-group:{name}:*"})
    if kind == "AWS::SNS::Topic":
        arn = f"{arn_prefix.format('sns')}:{name}"
        return Physical(arn, {"TopicArn": arn, "TopicName": name})
    if kind == "AWS::IAM::Role":
        return Physical(name, {"Arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{name}", "RoleId": name})
    service = kind.split("::")[1].lower() if kind.count("::") >= 2 else "local"
    return Physical(name, {"Arn": f"{arn_prefix.format(service)}:{name}"})


_NAME_PROPERTY = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::KMS::Alias": "AliasName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Logs::LogGroup": "LogGroupName",
}


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


# ----- globals ----------------------------------------------------------------------------
def merge_globals(global_props: Mapping[str, Any], props: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's Globals rules: maps merge recursively, lists concatenate, scalars are overridden."""
    merged: dict[str, Any] = copy.deepcopy(dict(global_props))
    for key, value in props.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict) and not _is_intrinsic(value):
            merged[key] = merge_globals(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            merged[key] = current + copy.deepcopy(value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _is_intrinsic(value: Mapping[str, Any]) -> bool:
    if len(value) != 1:
        return False
    key = str(next(iter(value)))
    return key in {"Ref", "Condition"} or key.startswith("Fn::")


# ----- loading ----------------------------------------------------------------------------
def parameter_overrides(template: Mapping[str, Any], ports: Ports, extra: Mapping[str, str]) -> dict[str, str]:
    """Local parameter values: the sandbox as iProov, our own origins for CORS, the local
    webhook receiver, then ``extra``."""
    params = template.get("Parameters") or {}
    overrides: dict[str, str] = {}
    if "IProovBaseUrl" in params:
        overrides["IProovBaseUrl"] = ports.iproov_base_url
    if "IProovSdkBaseUrl" in params:
        overrides["IProovSdkBaseUrl"] = ""
    if "AllowedOrigins" in params:
        overrides["AllowedOrigins"] = ",".join(ports.local_origins())
    if "OidcIssuer" in params:
        # The origin browsers and relying parties use locally (http is allowed for loopback only).
        overrides["OidcIssuer"] = ports.local_origins()[0]
    if "WebhookEndpoints" in params:
        # The local receiver (webhook_receiver.py), and retries within a test's patience.
        overrides["WebhookEndpoints"] = ",".join(ports.webhook_endpoints())
        overrides["WebhookRetryBaseSeconds"] = "1"
        overrides["WebhookRetryCapSeconds"] = "2"
    overrides.update(extra)
    return overrides


def parse_overrides(text: str) -> dict[str, str]:
    """``"Key=Value Other=x"`` (SAM's --parameter-overrides style) -> dict."""
    out: dict[str, str] = {}
    for item in text.split():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"parameter override must look like Key=Value, got {item!r}")
        out[key] = value
    return out


def load_model(
    path: Path,
    *,
    ports: Ports | None = None,
    overrides: Mapping[str, str] | None = None,
    physical: Mapping[str, Physical] | None = None,
) -> StackModel:
    """Parse ``path`` and build the model (see ``build_model``)."""
    return build_model(cfn_yaml.load(path), ports=ports, overrides=overrides, physical=physical)


def build_model(
    template: Mapping[str, Any],
    *,
    ports: Ports | None = None,
    overrides: Mapping[str, str] | None = None,
    physical: Mapping[str, Physical] | None = None,
) -> StackModel:
    """Resolve the template for the local stack.

    ``physical`` replaces predicted ids for resources that exist already (from provisioning);
    ``overrides`` are parameter values on top of the local defaults.
    """
    ports = ports or Ports.from_env()
    resources: dict[str, Any] = dict(template.get("Resources") or {})
    params = resolve_parameters(template, parameter_overrides(template, ports, overrides or {}))

    # First pass: names may themselves use intrinsics (e.g. !Sub "${AWS::StackName}-users"),
    # which only need parameters and pseudo parameters.
    naming = Resolver(template, params, {})
    ids: dict[str, Physical] = {}
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict):
            continue
        explicit = None
        prop = _NAME_PROPERTY.get(str(resource.get("Type")))
        raw_name = (resource.get("Properties") or {}).get(prop) if prop else None
        if raw_name is not None:
            try:
                explicit = naming.resolve_str(raw_name) or None
            except Unresolvable as exc:
                log.debug("name of %s not resolvable locally (%s); using the local name", logical_id, exc)
        ids[logical_id] = predicted_physical(logical_id, resource, explicit, ports)
    ids.update(physical or {})

    resolver = Resolver(template, params, ids)
    model = StackModel(parameters=params, physical=ids)
    global_function = (template.get("Globals") or {}).get("Function") or {}
    global_http_api = (template.get("Globals") or {}).get("HttpApi") or {}

    for logical_id, resource in resources.items():
        if not isinstance(resource, dict):
            continue
        kind = str(resource.get("Type"))
        if not resolver.resource_enabled(resource):
            log.debug("skipping %s: its condition is false", logical_id)
            continue
        props = resource.get("Properties") or {}
        if kind in FUNCTION_TYPES:
            _add_function(model, resolver, logical_id, resource, merge_globals(global_function, props))
        elif kind == "AWS::DynamoDB::Table":
            model.tables[logical_id] = _table(resolver, logical_id, ids[logical_id].ref, props)
        elif kind == "AWS::SQS::Queue":
            model.queues[logical_id] = _queue(resolver, logical_id, ids[logical_id], props, resources)
        elif kind == "AWS::S3::Bucket":
            model.buckets[logical_id] = _bucket(resolver, logical_id, ids[logical_id].ref, props)
        elif kind == "AWS::KMS::Key":
            model.keys[logical_id] = KmsKey(
                logical_id,
                resolver.resolve_str(props.get("Description", "")),
                (),
                _truthy(resolver.resolve(props.get("EnableKeyRotation", False))),
                resolver.resolve_str(props.get("KeySpec", "SYMMETRIC_DEFAULT")),
                resolver.resolve_str(props.get("KeyUsage", "ENCRYPT_DECRYPT")),
            )
        elif kind == "AWS::SecretsManager::Secret":
            model.secrets[logical_id] = Secret(
                logical_id,
                ids[logical_id].attributes["Name"],
                _optional_str(resolver, props.get("KmsKeyId")),
                "GenerateSecretString" in props,
            )
        elif kind in HTTP_API_TYPES:
            merged = merge_globals(global_http_api, props)
            model.cors = _cors(resolver, merged.get("CorsConfiguration")) or _openapi_cors(
                resolver, merged.get("DefinitionBody")
            ) or model.cors
        elif kind in {"AWS::KMS::Alias", "AWS::Lambda::EventSourceMapping"}:
            continue  # handled below, once keys and functions are known
        else:
            model.ignored[logical_id] = kind
            log.debug("ignoring %s (%s): not emulated locally", logical_id, kind)

    for logical_id, resource in resources.items():
        if not isinstance(resource, dict) or not resolver.resource_enabled(resource):
            continue
        props = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::KMS::Alias":
            _add_alias(model, ids, logical_id, props)
        elif resource.get("Type") == "AWS::Lambda::EventSourceMapping":
            _add_event_source_mapping(model, resolver, logical_id, props)

    _attach_sqs_mappings(model, resolver, resources)
    return model


def _optional_str(resolver: Resolver, value: Any) -> str | None:
    if value is None:
        return None
    text = resolver.resolve_str(value)
    return text or None


def _add_function(
    model: StackModel, resolver: Resolver, logical_id: str, resource: Mapping[str, Any], props: Mapping[str, Any]
) -> None:
    build = (resource.get("Metadata") or {}).get("BuildProperties") or {}
    binary = build.get("Binary")
    if not binary:
        log.warning("function %s has no Metadata.BuildProperties.Binary; it cannot run locally", logical_id)
        model.ignored[logical_id] = str(resource.get("Type"))
        return
    env: dict[str, str] = {}
    variables = ((props.get("Environment") or {}).get("Variables")) or {}
    for name, value in resolver.resolve(variables).items():
        env[name] = "" if value is None else (str(value).lower() if isinstance(value, bool) else str(value))
    # Lambda hands a JSON-logging function its LoggingConfig's level as AWS_LAMBDA_LOG_LEVEL.
    logging = resolver.resolve(props.get("LoggingConfig") or {})
    if logging.get("LogFormat") == "JSON" and logging.get("ApplicationLogLevel"):
        env["AWS_LAMBDA_LOG_LEVEL"] = str(logging["ApplicationLogLevel"])
    timeout = int(resolver.resolve(props.get("Timeout", DEFAULT_FUNCTION_TIMEOUT)))
    memory = int(resolver.resolve(props.get("MemorySize", 128)))
    model.functions[logical_id] = Function(
        logical_id, str(binary), model.physical[logical_id].ref, timeout, memory, env
    )
    for event_id, event in (props.get("Events") or {}).items():
        event_type = (event or {}).get("Type")
        event_props = (event or {}).get("Properties") or {}
        if event_type == "HttpApi":
            path = resolver.resolve_str(event_props["Path"]) if "Path" in event_props else "$default"
            method = resolver.resolve_str(event_props.get("Method", "ANY")).upper()
            if method in {"X-AMAZON-APIGATEWAY-ANY-METHOD", "*"}:
                method = "ANY"
            auth = resolver.resolve(event_props.get("Auth") or {})
            authorizer = str(auth["Authorizer"]) if isinstance(auth, dict) and auth.get("Authorizer") else None
            model.routes.append(Route(method, path, logical_id, str(binary), authorizer))
        elif event_type == "SQS":
            pass  # needs every queue; see _attach_sqs_mappings
        else:
            log.debug("ignoring event %s.%s of type %s", logical_id, event_id, event_type)


def _attach_sqs_mappings(model: StackModel, resolver: Resolver, resources: Mapping[str, Any]) -> None:
    for logical_id, function in model.functions.items():
        props = resources[logical_id].get("Properties") or {}
        for event in (props.get("Events") or {}).values():
            if (event or {}).get("Type") != "SQS":
                continue
            event_props = event.get("Properties") or {}
            mapping = _sqs_mapping(model, resolver, function, event_props.get("Queue"), event_props)
            if mapping:
                model.sqs_mappings.append(mapping)


def _queue_for(model: StackModel, resolver: Resolver, raw: Any) -> Queue | None:
    arn = resolver.resolve_str(raw)
    for queue in model.queues.values():
        if arn in {queue.arn, queue.url, queue.name}:
            return queue
    return None


def _sqs_mapping(
    model: StackModel, resolver: Resolver, function: Function, raw_queue: Any, props: Mapping[str, Any]
) -> SqsMapping | None:
    queue = _queue_for(model, resolver, raw_queue)
    if queue is None:
        log.warning("SQS event of %s points at a queue not in the template; ignored", function.logical_id)
        return None
    scaling = resolver.resolve(props.get("ScalingConfig") or {})
    concurrency = scaling.get("MaximumConcurrency")
    response_types = resolver.resolve(props.get("FunctionResponseTypes") or [])
    return SqsMapping(
        function=function.logical_id,
        binary=function.binary,
        queue=queue.logical_id,
        queue_url=queue.url,
        queue_arn=queue.arn,
        batch_size=int(resolver.resolve(props.get("BatchSize", 10))),
        batching_window=int(resolver.resolve(props.get("MaximumBatchingWindowInSeconds", 0))),
        report_batch_item_failures="ReportBatchItemFailures" in response_types,
        maximum_concurrency=int(concurrency) if concurrency is not None else None,
        enabled=_truthy(resolver.resolve(props.get("Enabled", True))),
    )


def _add_event_source_mapping(model: StackModel, resolver: Resolver, logical_id: str, props: Mapping[str, Any]) -> None:
    target = resolver.resolve_str(props.get("FunctionName", ""))
    function = next(
        (f for f in model.functions.values() if target in {f.name, model.physical[f.logical_id].attributes["Arn"]}),
        None,
    )
    if function is None:
        log.debug("ignoring event source mapping %s: function %r not emulated", logical_id, target)
        return
    mapping = _sqs_mapping(model, resolver, function, props.get("EventSourceArn"), props)
    if mapping:
        model.sqs_mappings.append(mapping)


def _key_elements(resolver: Resolver, schema: Any, types: Mapping[str, str]) -> tuple[KeyElement, ...]:
    return tuple(
        KeyElement(str(k["AttributeName"]), str(k["KeyType"]), types.get(str(k["AttributeName"]), "S"))
        for k in resolver.resolve(schema or [])
    )


def _table(resolver: Resolver, logical_id: str, name: str, props: Mapping[str, Any]) -> Table:
    definitions = resolver.resolve(props.get("AttributeDefinitions") or [])
    types = {str(d["AttributeName"]): str(d["AttributeType"]) for d in definitions}
    indexes = tuple(
        Index(
            str(gsi["IndexName"]),
            _key_elements(resolver, gsi.get("KeySchema"), types),
            dict(gsi.get("Projection") or {"ProjectionType": "ALL"}),
        )
        for gsi in resolver.resolve(props.get("GlobalSecondaryIndexes") or [])
    )
    ttl = resolver.resolve(props.get("TimeToLiveSpecification") or {})
    pitr = resolver.resolve(props.get("PointInTimeRecoverySpecification") or {})
    sse = resolver.resolve(props.get("SSESpecification") or {})
    stream = resolver.resolve(props.get("StreamSpecification") or {})
    kms_key = sse.get("KMSMasterKeyId") if _truthy(sse.get("SSEEnabled")) else None
    return Table(
        logical_id=logical_id,
        name=name,
        keys=_key_elements(resolver, props.get("KeySchema"), types),
        global_indexes=indexes,
        ttl_attribute=str(ttl["AttributeName"]) if _truthy(ttl.get("Enabled")) and ttl.get("AttributeName") else None,
        point_in_time_recovery=_truthy(pitr.get("PointInTimeRecoveryEnabled")),
        kms_key=str(kms_key) if kms_key else None,
        stream_view_type=stream.get("StreamViewType"),
    )


def _queue(
    resolver: Resolver, logical_id: str, ids: Physical, props: Mapping[str, Any], resources: Mapping[str, Any]
) -> Queue:
    redrive = None
    raw_redrive = props.get("RedrivePolicy")
    if raw_redrive:
        target = raw_redrive.get("deadLetterTargetArn")
        dlq_id = _logical_id_of(target)
        if dlq_id is None:
            arn = resolver.resolve_str(target)
            dlq_id = next((k for k, v in resources.items() if isinstance(v, dict) and v.get("Type") == "AWS::SQS::Queue" and resolver.get_att(k, "Arn") == arn), None)
        if dlq_id is None:
            raise Unresolvable(f"dead-letter queue of {logical_id} is not a queue of this template")
        redrive = Redrive(dlq_id, int(resolver.resolve(raw_redrive.get("maxReceiveCount", 10))))

    def optional_int(key: str) -> int | None:
        return int(resolver.resolve(props[key])) if key in props else None

    return Queue(
        logical_id=logical_id,
        name=ids.attributes["QueueName"],
        url=ids.ref,
        arn=ids.attributes["Arn"],
        visibility_timeout=optional_int("VisibilityTimeout"),
        message_retention=optional_int("MessageRetentionPeriod"),
        receive_wait=optional_int("ReceiveMessageWaitTimeSeconds"),
        fifo=_truthy(resolver.resolve(props.get("FifoQueue", False))),
        kms_key=_optional_str(resolver, props.get("KmsMasterKeyId")),
        redrive=redrive,
    )


def _logical_id_of(value: Any) -> str | None:
    """The logical id inside ``!GetAtt X.Arn`` / ``!Ref X`` (for wiring, without resolving)."""
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Fn::GetAtt":
            return arg.partition(".")[0] if isinstance(arg, str) else str(arg[0])
        if key == "Ref":
            return str(arg)
    return None


def _bucket(resolver: Resolver, logical_id: str, name: str, props: Mapping[str, Any]) -> Bucket:
    versioning = resolver.resolve(props.get("VersioningConfiguration") or {})
    encryption = resolver.resolve(props.get("BucketEncryption") or {})
    kms_key = None
    for rule in encryption.get("ServerSideEncryptionConfiguration") or []:
        default = rule.get("ServerSideEncryptionByDefault") or {}
        if str(default.get("SSEAlgorithm", "")).startswith("aws:kms"):
            kms_key = default.get("KMSMasterKeyID") or "aws/s3"
    public = resolver.resolve(props.get("PublicAccessBlockConfiguration") or {})
    lifecycle = resolver.resolve(props.get("LifecycleConfiguration") or {})
    return Bucket(
        logical_id=logical_id,
        name=name,
        versioning=str(versioning.get("Status", "")) == "Enabled",
        kms_key=str(kms_key) if kms_key else None,
        block_public_access=bool(public) and all(_truthy(v) for v in public.values()),
        lifecycle_rules=tuple(lifecycle.get("Rules") or ()),
    )


def _add_alias(model: StackModel, ids: Mapping[str, Physical], logical_id: str, props: Mapping[str, Any]) -> None:
    key_id = _logical_id_of(props.get("TargetKeyId"))
    if key_id not in model.keys:
        log.debug("ignoring alias %s: target is not a key of this template", logical_id)
        return
    alias = ids[logical_id].ref
    key = model.keys[key_id]
    model.keys[key_id] = KmsKey(key.logical_id, key.description, key.aliases + (alias,), key.rotation)


def _cors(resolver: Resolver, raw: Any) -> Cors | None:
    if raw is None:
        return None
    config = resolver.resolve(raw)
    if config is True or (isinstance(config, str) and config.lower() == "true"):
        return Cors(("*",), ("*",), ("*",), (), None, False)
    if not isinstance(config, dict):
        return None

    def strings(key: str) -> tuple[str, ...]:
        value = config.get(key) or []
        if isinstance(value, str):
            value = [value]
        return tuple(str(v) for v in value)

    max_age = config.get("MaxAge")
    return Cors(
        allow_origins=strings("AllowOrigins"),
        allow_methods=tuple(m.upper() for m in strings("AllowMethods")),
        allow_headers=tuple(h.lower() for h in strings("AllowHeaders")),
        expose_headers=tuple(h.lower() for h in strings("ExposeHeaders")),
        max_age=int(max_age) if max_age is not None else None,
        allow_credentials=_truthy(config.get("AllowCredentials", False)),
    )


def _openapi_cors(resolver: Resolver, body: Any) -> Cors | None:
    """CORS given as ``x-amazon-apigateway-cors`` in an HTTP API's OpenAPI DefinitionBody."""
    if not isinstance(body, dict) or "x-amazon-apigateway-cors" not in body:
        return None
    config = resolver.resolve(body["x-amazon-apigateway-cors"]) or {}
    renamed = {key[0].upper() + key[1:]: value for key, value in config.items()}
    return _cors(resolver, renamed)


def physical_from_json(data: Mapping[str, Any]) -> dict[str, Physical]:
    """Inverse of ``StackModel.to_json()['physical']``."""
    return {k: Physical(v["ref"], dict(v.get("attributes") or {})) for k, v in data.items()}

