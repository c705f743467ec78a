"""A customer's webhook receiver, for the local stack (docs/webhooks.md).

The local stack points the ``WebhookEndpoints`` parameter at two endpoints of this server,
``/hooks/a`` and ``/hooks/b`` (template.py), so the real webhook dispatcher delivers here. It
checks every request the way a customer would, independently of our Rust code: with the
``standardwebhooks`` reference library, against the secrets in WebhookSigningSecret (read from
moto on every request, so a rotation shows at once). It records what it saw, and can be told to
fail the next deliveries, like the iProov sandbox's controls:

    POST   /hooks/<name>           a delivery: 204 when a signature verifies, 401 when none does
    POST   /_control/fail          {"count": N, "mode": "error"|"slow", "endpoint": "a"?,
                                    "delay_seconds": 7}: the next N deliveries (to that endpoint,
                                    or any) answer 500, or answer only after the delay
    GET    /_control/deliveries    what was received, oldest first (?id=<webhook-id> filters)
    DELETE /_control               forget deliveries and pending failures
    GET    /health

Environment: WEBHOOK_PORT (4650), AWS_PORT (moto, 4566). Log lines carry the endpoint, the
webhook id and the answer, never a body or a signature.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from standardwebhooks import Webhook, WebhookVerificationError

import jsonlog
from settings import AWS_ENV, HOST, REGION, STACK_FILE, Ports

MAX_BODY_BYTES = 1024 * 1024
SECRET_LOGICAL_ID = "WebhookSigningSecret"


@dataclass
class FailureRule:
    remaining: int
    mode: str  # "error" (500) or "slow" (answer after delay_seconds)
    endpoint: str | None = None
    delay_seconds: float = 7.0


@dataclass
class Receiver:
    """What a receiver does with one request, without HTTP: testable on its own."""

    secrets: Callable[[], dict[str, str]]
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    rules: list[FailureRule] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, count: int, mode: str = "error", endpoint: str | None = None,
                  delay_seconds: float = 7.0) -> None:
        if mode not in ("error", "slow") or count < 1:
            raise ValueError("count must be >= 1 and mode 'error' or 'slow'")
        with self.lock:
            self.rules.append(FailureRule(count, mode, endpoint, delay_seconds))

    def reset(self) -> None:
        with self.lock:
            self.deliveries.clear()
            self.rules.clear()

    def _take_failure(self, endpoint: str) -> FailureRule | None:
        with self.lock:
            for rule in self.rules:
                if rule.remaining > 0 and rule.endpoint in (None, endpoint):
                    rule.remaining -= 1
                    return rule
        return None

    def receive(self, endpoint: str, headers: dict[str, str], body: bytes) -> tuple[int, FailureRule | None]:
        """(status to answer, the failure rule that applies if any), and the delivery recorded."""
        headers = {k.lower(): v for k, v in headers.items()}
        record: dict[str, Any] = {
            "endpoint": endpoint,
            "id": headers.get("webhook-id"),
            "timestamp": headers.get("webhook-timestamp"),
            "signature": headers.get("webhook-signature"),
            "received_at": time.time(),
        }
        try:
            record["body"] = json.loads(body)
        except ValueError:
            record["body"] = None
        rule = self._take_failure(endpoint)
        if rule is not None:
            record.update(status=500 if rule.mode == "error" else 200, injected=rule.mode, verified_with=[])
            self._record(record)
            return record["status"], rule
        verified_with = []
        for name, secret in self.secrets().items():
            try:
                Webhook(secret).verify(body, headers, json_parse=False)
                verified_with.append(name)
            except (WebhookVerificationError, ValueError):
                continue
        with self.lock:
            duplicate = any(d["id"] == record["id"] and d["verified_with"] for d in self.deliveries
                            if d["endpoint"] == endpoint)
        record.update(verified_with=verified_with, duplicate=duplicate, status=204 if verified_with else 401)
        self._record(record)
        return record["status"], None

    def _record(self, record: dict[str, Any]) -> None:
        with self.lock:
            self.deliveries.append(record)

    def seen(self, webhook_id: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(d) for d in self.deliveries if webhook_id is None or d["id"] == webhook_id]


def moto_secrets(ports: Ports) -> Callable[[], dict[str, str]]:
    """The current (and previous) whsec_ secrets of WebhookSigningSecret, read from moto."""
    import boto3

    client = boto3.client(
        "secretsmanager", endpoint_url=ports.aws_endpoint, region_name=REGION,
        aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"], aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
    )

    def read() -> dict[str, str]:
        try:
            name = json.loads(STACK_FILE.read_text())["secrets"][SECRET_LOGICAL_ID]["name"]
            stored = json.loads(client.get_secret_value(SecretId=name)["SecretString"])
        except Exception as exc:  # noqa: BLE001 - a receiver without secrets refuses everything
            jsonlog.emit("webhooks", "secret_unavailable", level="warn", error=type(exc).__name__)
            return {}
        out = {}
        for slot in ("current", "previous"):
            value = str(stored.get(slot) or "").strip()
            if value:
                out[slot] = value if value.startswith("whsec_") else f"whsec_{value}"
        return out

    return read


def handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "webhook-receiver"
        sys_version = ""

        def log_message(self, *_args: Any) -> None:  # quiet: our own JSON lines instead
            pass

        def _answer(self, status: int, payload: Any = None) -> None:
            data = b"" if payload is None else json.dumps(payload).encode()
            try:
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the dispatcher gave up waiting (a "slow" failure)

        def _body(self) -> bytes | None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self._answer(413, {"error": "payload_too_large"})
                return None
            return self.rfile.read(length)

        def do_GET(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            if url.path == "/health":
                self._answer(200, {"status": "ok"})
            elif url.path == "/_control/deliveries":
                wanted = parse_qs(url.query).get("id", [None])[0]
                self._answer(200, {"deliveries": receiver.seen(wanted)})
            else:
                self._answer(404, {"error": "not_found"})

        def do_DELETE(self) -> None:  # noqa: N802
            if urlsplit(self.path).path == "/_control":
                receiver.reset()
                self._answer(204)
            else:
                self._answer(404, {"error": "not_found"})

        def do_POST(self) -> None:  # noqa: N802
            path = urlsplit(self.path).path
            body = self._body()
            if body is None:
                return
            if path == "/_control/fail":
                try:
                    rule = json.loads(body or b"{}")
                    receiver.fail_next(int(rule.get("count", 1)), str(rule.get("mode", "error")),
                                       rule.get("endpoint"), float(rule.get("delay_seconds", 7)))
                except (ValueError, TypeError, AttributeError) as exc:
                    self._answer(400, {"error": "bad_request", "message": str(exc)})
                    return
                self._answer(201, {"ok": True})
                return
            if not path.startswith("/hooks/") or not path[len("/hooks/"):]:
                self._answer(404, {"error": "not_found"})
                return
            endpoint = path[len("/hooks/"):]
            status, rule = receiver.receive(endpoint, dict(self.headers.items()), body)
            jsonlog.emit("webhooks", "delivery", endpoint=endpoint, webhook_id=self.headers.get("webhook-id"),
                         status=status, injected=rule.mode if rule else None)
            if rule is not None and rule.mode == "slow":
                time.sleep(rule.delay_seconds)
                self._answer(200)
            elif status == 401:
                self._answer(401, {"error": "invalid_signature"})
            else:
                self._answer(status)

    return Handler


def main() -> int:
    ports = Ports.from_env()
    receiver = Receiver(secrets=moto_secrets(ports))
    server = ThreadingHTTPServer((HOST, ports.webhooks), handler_for(receiver))
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    jsonlog.emit("webhooks", "listening", url=ports.webhook_receiver_url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
