"""A fault-injecting proxy between the functions and moto (127.0.0.1:4567 -> :4566).

moto answers every call it can; it has no way to throttle DynamoDB or to make Secrets Manager
unavailable. The functions of the local stack reach moto through this proxy instead
(``AWS_ENDPOINT_URL`` in .local/functions.env), so a test can make chosen AWS calls fail the way
AWS fails them and check what the API answers and what is left behind. With no rule registered
the proxy forwards every request unchanged, byte for byte, and only adds a loopback hop.

Control surface, on the proxy's own port under ``/_faults`` (no bucket or AWS path starts with
an underscore):

- ``POST /_faults`` ``{"service": "dynamodb", "operation"?: "PutItem", "status"?: 400,
  "code"?: "ProvisionedThroughputExceededException", "count"?: N, "mode"?: "error"|"reset"}``
  registers a rule: the next ``count`` matching calls (all of them while the rule exists, when
  ``count`` is absent) get an AWS-shaped error (``mode`` "error") or a closed connection
  (``mode`` "reset", what an unreachable endpoint looks like to the SDK). ``service`` is the
  SigV4 signing name (dynamodb, s3, sqs, secretsmanager, kms); ``operation`` matches the
  ``X-Amz-Target`` action of JSON protocols or, for S3, the HTTP method. Answers 201 with the rule.
- ``GET /_faults`` lists the rules with how often each fired; ``DELETE /_faults`` removes them.

It also enforces IAM (``iam_enforcer.py``): a call signed with a function's own access key is
checked against that function's role in template.yaml before anything else, and answered with
AccessDenied when the role would not allow it. ``GET /_iam`` reports denials and the grants
used; ``DELETE /_iam`` forgets them. Calls signed with other keys are not evaluated.

Environment: AWS_PORT (moto, default 4566), FAULT_PORT (this proxy, default 4567), LOCAL_IAM
(enforce, report or off). Logs: one JSON line per injected fault (service, operation, code) and
per IAM denial (function, action, resource); never a header or a body.
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jsonlog
from iam_enforcer import CONTROL_PATH as IAM_PATH
from iam_enforcer import IamEnforcer, access_denied, mode_from_env
from settings import HOST, STACK_FILE, TEMPLATE_FILE, Ports

CONTROL_PATH = "/_faults"
MAX_CONTROL_BODY = 64 * 1024
# Headers that describe one hop, not the message (RFC 9110 section 7.6.1).
HOP_HEADERS = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([a-z0-9-]+)/aws4_request")

# Default error per service: what AWS answers when it throttles or is unavailable.
DEFAULT_ERRORS: dict[str, tuple[int, str]] = {
    "dynamodb": (400, "ProvisionedThroughputExceededException"),
    "s3": (503, "SlowDown"),
    "sqs": (500, "InternalError"),
    "secretsmanager": (503, "ServiceUnavailable"),
    "kms": (500, "KMSInternalException"),
}
# The JSON protocols' error type namespace, so the SDKs recognise the code.
JSON_ERROR_NAMESPACE = {
    "dynamodb": "com.amazonaws.dynamodb.v20120810",
    "sqs": "com.amazonaws.sqs",
    "secretsmanager": "com.amazonaws.secretsmanager",
    "kms": "com.amazonaws.kms",
}


class RuleError(ValueError):
    """A control request that does not describe a valid rule."""


@dataclass
class Rule:
    service: str
    operation: str | None
    status: int
    code: str
    mode: str
    remaining: int | None  # None: until removed
    fired: int = 0

    @classmethod
    def parse(cls, body: Any) -> "Rule":
        if not isinstance(body, dict):
            raise RuleError("the body must be a JSON object")
        unknown = set(body) - {"service", "operation", "status", "code", "count", "mode"}
        if unknown:
            raise RuleError(f"unknown fields: {', '.join(sorted(unknown))}")
        service = body.get("service")
        if not isinstance(service, str) or service not in DEFAULT_ERRORS:
            raise RuleError(f"service must be one of {', '.join(sorted(DEFAULT_ERRORS))}")
        default_status, default_code = DEFAULT_ERRORS[service]
        operation = body.get("operation")
        if operation is not None and (not isinstance(operation, str) or not operation.isalnum()):
            raise RuleError("operation must be an action name such as PutItem (or an HTTP method for s3)")
        status = body.get("status", default_status)
        if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
            raise RuleError("status must be an integer from 400 to 599")
        code = body.get("code", default_code)
        if not isinstance(code, str) or not code.isalnum():
            raise RuleError("code must be an AWS error code such as ThrottlingException")
        count = body.get("count")
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
            raise RuleError("count must be a positive integer (or absent: until removed)")
        mode = body.get("mode", "error")
        if mode not in ("error", "reset"):
            raise RuleError("mode must be error or reset")
        return cls(service, operation, status, code, mode, count)

    def matches(self, service: str, operation: str) -> bool:
        return self.service == service and (self.operation is None or self.operation == operation)

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "operation": self.operation,
            "status": self.status,
            "code": self.code,
            "mode": self.mode,
            "remaining": self.remaining,
            "fired": self.fired,
        }


@dataclass
class Rules:
    """The registered rules, shared by the handler threads."""

    rules: list[Rule] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, rule: Rule) -> None:
        with self.lock:
            self.rules.append(rule)

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r.to_json() for r in self.rules]

    def take(self, service: str, operation: str) -> Rule | None:
        """The first rule matching this call, spending one of its count; None to forward it."""
        with self.lock:
            for rule in self.rules:
                if rule.matches(service, operation) and (rule.remaining is None or rule.remaining > 0):
                    rule.fired += 1
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return rule
        return None


def signing_service(headers: Any) -> str:
    """The SigV4 signing name from the Authorization header's credential scope ("" if unsigned)."""
    found = _SCOPE.search(headers.get("Authorization", "") or "")
    return found.group(1) if found else ""


def operation_of(headers: Any, method: str) -> str:
    """``DynamoDB_20120810.PutItem`` -> ``PutItem``; the HTTP method for REST protocols (S3)."""
    target = headers.get("X-Amz-Target", "") or ""
    return target.rsplit(".", 1)[-1] if target else method


# DynamoDB makes each conditional write atomic: the condition is evaluated and the write applied
# as one step, so of two racing writes under the same condition exactly one wins. moto evaluates
# the condition and applies the write in separate Python steps on its request threads, so two
# racing writes can both pass (the chaos soak saw two deliveries both win begin-validation). The
# proxy therefore lets one DynamoDB write through at a time; reads stay concurrent.
DYNAMODB_WRITES = threading.Lock()
DYNAMODB_WRITE_OPERATIONS = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
)


def serialised(service: str, operation: str) -> bool:
    """Whether a call must pass moto alone (a DynamoDB write: see DYNAMODB_WRITES)."""
    return service == "dynamodb" and operation in DYNAMODB_WRITE_OPERATIONS


def error_response(rule: Rule) -> tuple[int, dict[str, str], bytes]:
    """The status, headers and body AWS would send for this error, in the service's protocol."""
    message = f"injected by the local fault proxy ({rule.code})"
    if rule.service == "s3":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{rule.code}</Code><Message>{message}</Message></Error>"
        ).encode()
        return rule.status, {"Content-Type": "application/xml"}, body
    namespace = JSON_ERROR_NAMESPACE[rule.service]
    body = json.dumps({"__type": f"{namespace}#{rule.code}", "message": message}).encode()
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-ErrorType": rule.code}
    if rule.service == "sqs":
        headers["x-amzn-query-error"] = f"{rule.code};Receiver"
    return rule.status, headers, body


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "local-aws-faults"
    sys_version = ""
    timeout = 120
    rules: Rules  # set on a subclass by make_server
    enforcer: IamEnforcer | None
    upstream: tuple[str, int]

    def log_message(self, *_args: Any) -> None:  # the default writes every request to stderr
        pass

    def _dispatch(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == CONTROL_PATH or path.startswith(CONTROL_PATH + "/"):
            self._control()
            return
        if path == IAM_PATH:
            self._iam_control()
            return
        body = self._read_body()
        if body is None:
            return
        service = signing_service(self.headers)
        operation = operation_of(self.headers, self.command)
        if self.enforcer is not None:
            denial = self.enforcer.authorise(service, self.command, self.path, self.headers, body)
            if denial is not None:
                identity = self.enforcer.stack().function_named(denial.function)  # type: ignore[union-attr]
                role_arn = identity.role_arn if identity else f"arn:aws:iam::0:role/{denial.function}"
                status, headers, payload = access_denied(service, role_arn, denial.function, denial,
                                                         json_protocol=bool(self.headers.get("X-Amz-Target")))
                self._send(status, headers, payload, head=self.command == "HEAD")
                return
        rule = self.rules.take(service, operation)
        if rule is not None:
            jsonlog.emit("aws-faults", "fault", service=service, operation=operation, code=rule.code, mode=rule.mode)
            if rule.mode == "reset":
                self.close_connection = True
                return
            self._send(*error_response(rule))
            return
        if serialised(service, operation):
            with DYNAMODB_WRITES:
                self._forward(body)
        else:
            self._forward(body)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _dispatch

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline(1024)
                try:
                    size = int(size_line.split(b";", 1)[0].strip() or b"x", 16)
                except ValueError:
                    self._send(400, {"Content-Type": "text/plain"}, b"bad chunked body")
                    return None
                if size == 0:
                    while self.rfile.readline(1024).strip():  # trailer section
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _forward(self, body: bytes) -> None:
        connection = self.server.upstream_connection()  # type: ignore[attr-defined]
        # Expect: 100-continue was answered here already; moto gets the whole body at once.
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS | {"expect"}}
        if body or self.command in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(body))
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            self.server.drop_upstream_connection()  # type: ignore[attr-defined]
            self._send(502, {"Content-Type": "text/plain"}, b"moto unreachable")
            return
        out = {k: v for k, v in response.getheaders() if k.lower() not in HOP_HEADERS | {"content-length"}}
        self._send(response.status, out, payload, head=self.command == "HEAD",
                   length=response.getheader("Content-Length"))

    def _send(self, status: int, headers: dict[str, str], body: bytes, head: bool = False,
              length: str | None = None) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", length if head and length is not None else str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _control(self) -> None:
        if self.command == "GET":
            self._json(200, {"rules": self.rules.snapshot()})
        elif self.command == "DELETE":
            self._read_body()
            self.rules.clear()
            self._json(200, {"rules": []})
        elif self.command == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_CONTROL_BODY:
                self.close_connection = True
                self._json(413, {"error": "payload_too_large"})
                return
            try:
                rule = Rule.parse(json.loads(self.rfile.read(length) or b"null"))
            except (ValueError, RuleError) as exc:
                message = str(exc) if isinstance(exc, RuleError) else "the body is not valid JSON"
                self._json(400, {"error": "invalid_request", "message": message})
                return
            self.rules.add(rule)
            jsonlog.emit("aws-faults", "rule_added", **{k: v for k, v in rule.to_json().items() if k != "fired"})
            self._json(201, rule.to_json())
        else:
            self._read_body()
            self._json(405, {"error": "method_not_allowed"})

    def _iam_control(self) -> None:
        self._read_body()
        if self.enforcer is None:
            self._json(404, {"error": "not_found", "message": "IAM enforcement is not configured"})
        elif self.command == "GET":
            self._json(200, self.enforcer.snapshot())
        elif self.command == "DELETE":
            self.enforcer.reset()
            self._json(200, {"reset": True})
        else:
            self._json(405, {"error": "method_not_allowed"})

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, {"Content-Type": "application/json"}, json.dumps(payload).encode())


class ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type, upstream: tuple[str, int]) -> None:
        super().__init__(address, handler)
        self.upstream = upstream
        self._local = threading.local()

    def upstream_connection(self) -> http.client.HTTPConnection:
        """One keep-alive connection to moto per handler thread."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(*self.upstream, timeout=120)
            self._local.connection = connection
        return connection

    def drop_upstream_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None


def make_server(port: int, upstream_port: int, rules: Rules | None = None,
                enforcer: IamEnforcer | None = None) -> ProxyServer:
    handler = type("Handler", (ProxyHandler,), {"rules": rules or Rules(), "enforcer": enforcer})
    return ProxyServer((HOST, port), handler, (HOST, upstream_port))


def main() -> int:
    ports = Ports.from_env()
    mode = mode_from_env()
    enforcer = IamEnforcer(TEMPLATE_FILE, STACK_FILE, mode) if mode != "off" else None
    server = make_server(ports.faults, ports.aws, enforcer=enforcer)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    jsonlog.emit("aws-faults", "listening", port=server.server_address[1], upstream=ports.aws, iam=mode)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
