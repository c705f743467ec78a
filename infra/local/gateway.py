"""API Gateway HTTP API emulator: HTTP on 127.0.0.1:3000 -> payload 2.0 events -> cargo-lambda.

SAM's own emulator (``sam local start-api``) needs Docker, which this project must not need.
This one reads the routes and CORS settings from template.yaml (through template.py), turns
each request into the event API Gateway would send (apigw_events.py), invokes the function's
real binary through cargo-lambda (lambda_client.py) and turns the result back into HTTP.

Errors the gateway itself produces use the API's error shape
``{"error", "message", "request_id"}`` and never carry internal detail. Every response has an
``apigw-requestid`` header, the same id the function sees as ``requestContext.requestId``.

Besides the API it serves the demo page (web/) under a Content-Security-Policy derived from the
iProov web SDK setting (iproov_settings.py) and, at /web-config.json, where that SDK is; the API
contract at /openapi.yaml; and at /docs an interactive console under a policy of its own
(docs_console.py).

Environment: API_PORT (default 3000), LAMBDA_PORT (9000), GATEWAY_TRUST_FORWARDED_FOR=1 to take
the client IP from X-Forwarded-For (tests simulate many clients with it), LOCAL_COLD_START_GRACE
(seconds added to a function's Timeout until it has answered once; default 180),
LOCAL_INVOKE_GRACE (seconds added after that; default 5), and the LOCAL_IPROOV_* settings.
"""

from __future__ import annotations

import argparse
import fnmatch
import ipaddress
import json
import urllib.error
import urllib.request
import mimetypes
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import apigw_events
import docs_console
import iam_authorizer
import jsonlog
import lambda_client
import template as tpl
from iproov_settings import IProovSettings, SettingsError
from routing import Match, NoMatch, Router
from settings import HOST, STACK_FILE, TEMPLATE_FILE, WEB_DIR, Ports

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit

# The demo page's policy without an iProov web SDK (web/README.md): it has no inline script or
# style, so the CSP can be strict. With an SDK configured, GatewayConfig.page_headers add exactly
# what the SDK needs (iproov_settings.py).
STRICT_CSP = IProovSettings().page_csp()


def security_headers(csp: str, permissions: str = "camera=(self), microphone=(), geolocation=()") -> list[tuple[str, str]]:
    """Headers of every page and file the gateway serves itself (web/, /docs, /openapi.yaml)."""
    return [
        ("content-security-policy", csp),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
        ("permissions-policy", permissions),
        ("cache-control", "no-store"),
    ]


STATIC_HEADERS = security_headers(STRICT_CSP)
DOCS_HEADERS = security_headers(docs_console.DOCS_CSP, docs_console.DOCS_PERMISSIONS)
MAX_HEADER_LINE = 65536


@dataclass
class GatewayConfig:
    """What one gateway instance serves; built from the template model."""

    router: Router
    functions: dict[str, tpl.Function]
    cors: tpl.Cors | None
    lambda_url: str
    port: int
    trust_forwarded_for: bool = False
    web_dir: Path | None = None
    sandbox_url: str | None = None
    openapi_file: Path | None = None
    # The demo page's CSP and what /web-config.json tells it (from the LOCAL_IPROOV_* settings).
    iproov: IProovSettings = field(default_factory=IProovSettings)
    console_dir: Path | None = None
    # The AWS_IAM authorizer (iam_authorizer.py); without one, IAM routes are refused.
    iam_authorizer: iam_authorizer.IamAuthorizer | None = None
    cold_start_grace: float = 180.0
    invoke_grace: float = 5.0
    warm: set[str] = field(default_factory=set)
    warm_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_model(cls, model: tpl.StackModel, ports: Ports, **kwargs: Any) -> "GatewayConfig":
        return cls(
            router=Router(model.routes),
            functions=dict(model.functions),
            cors=model.cors,
            lambda_url=ports.lambda_url,
            port=ports.api,
            **kwargs,
        )

    def invoke_timeout(self, function: tpl.Function) -> float:
        with self.warm_lock:
            warm = function.binary in self.warm
        return function.timeout + (self.invoke_grace if warm else self.cold_start_grace)

    def mark_warm(self, function: tpl.Function) -> None:
        with self.warm_lock:
            self.warm.add(function.binary)

    @property
    def page_headers(self) -> list[tuple[str, str]]:
        return security_headers(self.iproov.page_csp())


class BadRequest(Exception):
    """The request cannot be read (bad framing); answered with 400 and the connection closed."""


class TooLarge(Exception):
    """The body exceeds API Gateway's limit."""


def origin_allowed(cors: tpl.Cors, origin: str) -> bool:
    return any(
        allowed == "*" or allowed == origin or ("*" in allowed and fnmatch.fnmatchcase(origin, allowed))
        for allowed in cors.allow_origins
    )


def cors_headers(cors: tpl.Cors | None, origin: str | None) -> list[tuple[str, str]]:
    """Headers API Gateway adds to a (non-preflight) response for an allowed origin."""
    if cors is None or not origin or not origin_allowed(cors, origin):
        return []
    wildcard = "*" in cors.allow_origins and not cors.allow_credentials
    headers = [("access-control-allow-origin", "*" if wildcard else origin), ("vary", "origin")]
    if cors.allow_credentials:
        headers.append(("access-control-allow-credentials", "true"))
    if cors.expose_headers:
        headers.append(("access-control-expose-headers", ",".join(cors.expose_headers)))
    return headers


def preflight_headers(cors: tpl.Cors, origin: str, method: str, request_headers: str) -> list[tuple[str, str]]:
    """Headers of API Gateway's own answer to a CORS preflight (empty: not allowed)."""
    if not origin_allowed(cors, origin):
        return []
    methods = cors.allow_methods or ("*",)
    if "*" not in methods and method.upper() not in methods:
        return []
    asked = [h.strip().lower() for h in request_headers.split(",") if h.strip()]
    if asked and "*" not in cors.allow_headers and any(h not in cors.allow_headers for h in asked):
        return []
    headers = cors_headers(cors, origin)
    headers.append(("access-control-allow-methods", ",".join(methods)))
    if cors.allow_headers:
        headers.append(("access-control-allow-headers", ",".join(cors.allow_headers)))
    if cors.max_age is not None:
        headers.append(("access-control-max-age", str(cors.max_age)))
    return headers


class GatewayHandler(BaseHTTPRequestHandler):
    """One connection; each request is answered by ``_serve`` (any method)."""

    protocol_version = "HTTP/1.1"
    server_version = "local-apigw"
    sys_version = ""
    timeout = 60  # seconds a client may stay silent before its connection is dropped
    config: GatewayConfig  # set on a subclass by make_server

    # ----- request loop (stdlib's, minus the per-method dispatch and its HTML errors) ---------
    def handle_one_request(self) -> None:
        self._request_id = apigw_events.new_request_id()
        self._started = time.monotonic()
        self._responded = False
        self._route_key: str | None = None
        self._function: str | None = None
        try:
            self.raw_requestline = self.rfile.readline(MAX_HEADER_LINE + 1)
            if len(self.raw_requestline) > MAX_HEADER_LINE:
                self.requestline = self.request_version = self.command = ""
                self.send_error(414)
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return  # parse_request already answered (through send_error)
            if self.request_version == "HTTP/0.9":
                self.send_error(400)
                return
            self._serve()
            self.wfile.flush()
        except (TimeoutError, ConnectionError):
            self.close_connection = True
        except Exception as exc:  # a bug here must cost one request, not the gateway
            jsonlog.emit("gateway", "internal_error", level="error", request_id=self._request_id,
                         error=exc.__class__.__name__)
            self.close_connection = True
            if not self._responded:
                try:
                    self._send_json_error(500, "internal_error", "The gateway could not handle the request.")
                except OSError:
                    pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Called by the stdlib parser on malformed requests: answer in the API's error shape."""
        codes = {400: "bad_request", 414: "uri_too_long", 431: "request_header_fields_too_large",
                 505: "http_version_not_supported", 501: "not_implemented"}
        self.close_connection = True
        if getattr(self, "request_version", "HTTP/0.9") in {"HTTP/0.9", "", None}:
            self.request_version = "HTTP/1.1"  # answer with a status line and headers
        self._send_json_error(code, codes.get(code, "bad_request"), "The request could not be read.")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silence the stdlib's access log; ``_log_request`` writes a JSON line instead."""

    # ----- serving --------------------------------------------------------------------
    def _serve(self) -> None:
        target = urlsplit(self.path)
        raw_path = target.path or "/"
        if not raw_path.startswith("/") or any(ch in raw_path for ch in "\x00\r\n"):
            self.close_connection = True
            self._send_json_error(400, "bad_request", "The request could not be read.")
            return
        try:
            body = self._read_body()
        except TooLarge:
            self.close_connection = True
            self._send_json_error(413, "payload_too_large", "The request body is larger than 10 MB.")
            return
        except BadRequest:
            self.close_connection = True
            self._send_json_error(400, "bad_request", "The request body could not be read.")
            return

        origin = self.headers.get("origin")
        cors = self.config.cors
        if (
            self.command == "OPTIONS"
            and cors is not None
            and origin
            and self.headers.get("access-control-request-method")
        ):
            headers = preflight_headers(
                cors, origin, self.headers["access-control-request-method"],
                self.headers.get("access-control-request-headers", ""),
            )
            self._route_key = "OPTIONS (preflight)"
            self._send(204, headers, b"")
            return

        found = self.config.router.match(self.command, raw_path)
        if isinstance(found, Match):
            self._invoke(found, raw_path, target.query, body)
            return
        assert isinstance(found, NoMatch)
        if found.allowed:
            self._send_json_error(
                405, "method_not_allowed", f"{self.command} is not allowed here.",
                extra_headers=[("allow", ", ".join(found.allowed))],
            )
            return
        if raw_path.startswith("/sandbox/") and self.config.sandbox_url:
            self._proxy_sandbox(raw_path, target.query, body)
            return
        if self.command in {"GET", "HEAD"} and not (raw_path == "/v1" or raw_path.startswith("/v1/")):
            if raw_path == "/openapi.yaml" and self._serve_file(self.config.openapi_file, "application/yaml"):
                return
            if raw_path == "/web-config.json":
                self._serve_web_config()
                return
            if raw_path == "/docs" or raw_path.startswith("/docs/"):
                if self._serve_docs(raw_path):
                    return
            elif self._serve_static(raw_path):
                return
        self._send_json_error(404, "not_found", "No route matches this request.")

    def _read_body(self) -> bytes:
        transfer_encoding = self.headers.get_all("transfer-encoding") or []
        lengths = self.headers.get_all("content-length") or []
        if transfer_encoding:
            if lengths or [t.strip().lower() for t in ",".join(transfer_encoding).split(",")] != ["chunked"]:
                raise BadRequest()
            return self._read_chunked()
        if not lengths:
            return b""
        values = {v.strip() for v in lengths}
        if len(values) != 1:
            raise BadRequest()
        (raw,) = values
        if not raw.isdigit():
            raise BadRequest()
        length = int(raw)
        if length > MAX_BODY_BYTES:
            raise TooLarge()
        body = self.rfile.read(length)
        if len(body) != length:
            raise BadRequest()
        return body

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(MAX_HEADER_LINE + 1)
            if not line.endswith(b"\n") or len(line) > MAX_HEADER_LINE:
                raise BadRequest()
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError as exc:
                raise BadRequest() from exc
            if size < 0:
                raise BadRequest()
            if size == 0:
                while True:  # trailers, up to the empty line
                    trailer = self.rfile.readline(MAX_HEADER_LINE + 1)
                    if trailer in (b"\r\n", b"\n", b""):
                        break
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise TooLarge()
            chunk = self.rfile.read(size)
            if len(chunk) != size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise BadRequest()
            chunks.append(chunk)

    def _source_ip(self) -> str:
        peer = self.client_address[0]
        if self.config.trust_forwarded_for:
            forwarded = self.headers.get("x-forwarded-for", "")
            first = forwarded.split(",", 1)[0].strip()
            try:
                return str(ipaddress.ip_address(first))
            except ValueError:
                pass
        return peer

    def _invoke(self, match: Match, raw_path: str, raw_query: str, body: bytes) -> None:
        route = match.route
        self._route_key = route.route_key
        self._function = route.binary
        function = self.config.functions[route.function]
        authorizer = None
        if route.authorizer is not None:
            decision = self._authorize(route, raw_path, raw_query, body)
            if isinstance(decision, iam_authorizer.Refused):
                return
            authorizer = {"iam": decision.iam}
        request = apigw_events.IncomingRequest(
            method=self.command,
            raw_path=raw_path,
            raw_query=raw_query,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self._source_ip(),
            protocol=self.request_version,
            port=self.config.port,
        )
        event = apigw_events.build_event(
            request, route_key=route.route_key, path_parameters=match.path_parameters, request_id=self._request_id,
            authorizer=authorizer,
        )
        try:
            result = lambda_client.invoke(
                self.config.lambda_url, route.binary, event, self.config.invoke_timeout(function)
            )
            self.config.mark_warm(function)
            response = apigw_events.convert_response(result)
        except lambda_client.InvokeTimeout:
            self._log_failure("timeout")
            self._send_json_error(504, "gateway_timeout", "The service did not answer in time.")
            return
        except lambda_client.FunctionError as exc:
            self.config.mark_warm(function)
            self._log_failure(f"function_error:{exc.error_type}")
            self._send_json_error(500, "internal_error", "The service could not complete the request.")
            return
        except lambda_client.Unavailable as exc:
            self._log_failure(f"unavailable:{exc.__class__.__name__}")
            self._send_json_error(502, "bad_gateway", "The service is not available.")
            return
        except apigw_events.InvalidResponse:
            self._log_failure("invalid_response")
            self._send_json_error(502, "bad_gateway", "The service gave an invalid answer.")
            return

        headers = response.headers
        if self.config.cors is not None:
            headers = [(n, v) for n, v in headers if not n.lower().startswith("access-control-")]
            headers += cors_headers(self.config.cors, self.headers.get("origin"))
        self._send(response.status, headers, response.body)

    def _authorize(
        self, route: Any, raw_path: str, raw_query: str, body: bytes
    ) -> iam_authorizer.Allowed | iam_authorizer.Refused:
        """API Gateway's route authorizer: a refusal is answered here (403 ``{"message"}``, as
        API Gateway words it) and the function is never invoked."""
        if route.authorizer == "AWS_IAM" and self.config.iam_authorizer is not None:
            decision = self.config.iam_authorizer.authorize(iam_authorizer.SignedRequest(
                self.command, raw_path, raw_query, list(self.headers.items()), body))
        else:
            decision = iam_authorizer.Refused("Forbidden", f"unsupported_authorizer:{route.authorizer}")
        if isinstance(decision, iam_authorizer.Refused):
            self._function = None  # never invoked
            jsonlog.emit("gateway", "unauthorized", request_id=self._request_id, route_key=route.route_key,
                         reason=decision.reason)
            body_out = json.dumps({"message": decision.message}).encode()
            self._send(403, [("content-type", "application/json"), ("x-amzn-errortype", "ForbiddenException")],
                       body_out)
        return decision

    def _serve_static(self, raw_path: str) -> bool:
        web_dir = self.config.web_dir
        if web_dir is None or not web_dir.is_dir():
            return False
        root = web_dir.resolve()
        relative = unquote(raw_path).lstrip("/")
        candidate = (root / relative).resolve()
        if candidate != root and root not in candidate.parents:
            return False
        if candidate.is_dir():
            candidate = candidate / "index.html"
        if not candidate.is_file():
            return False
        content_type = mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type in {"application/javascript", "application/json"}:
            content_type += "; charset=utf-8"
        self._route_key = "static"
        self._send(200, [("content-type", content_type), *self.config.page_headers], candidate.read_bytes())
        return True

    def _serve_file(self, path: Path | None, content_type: str) -> bool:
        if path is None or not path.is_file():
            return False
        self._route_key = "static"
        self._send(200, [("content-type", content_type), *STATIC_HEADERS], path.read_bytes())
        return True

    def _serve_web_config(self) -> None:
        """What the demo page needs to know about iProov: sandbox or tenant, and where the web
        SDK is (URL and integrity), from the LOCAL_IPROOV_* settings (web/README.md)."""
        self._route_key = "web-config"
        body = json.dumps(self.config.iproov.web_config()).encode()
        self._send(200, [("content-type", "application/json"), *STATIC_HEADERS], body)

    def _serve_docs(self, raw_path: str) -> bool:
        """/docs: the console (docs_console.py) and its allow-listed files, the document as JSON
        for it, and the plain reference rendered from docs/openapi.yaml on each request."""
        path = self.config.openapi_file
        if path is None or not path.is_file():
            return False
        import api_docs  # local module; only the docs pages need it

        self._route_key = "docs"
        html_type = ("content-type", "text/html; charset=utf-8")
        console_dir = self.config.console_dir
        name = raw_path[len("/docs"):].strip("/")
        if name == "":
            console = docs_console.page(console_dir) if console_dir else None
            if console is not None:
                self._send(200, [html_type, *DOCS_HEADERS], console)
            else:
                self._send(200, [html_type, *DOCS_HEADERS], api_docs.render(path, notice=docs_console.NOT_INSTALLED))
            return True
        if name == "reference":
            self._send(200, [html_type, *DOCS_HEADERS], api_docs.render(path))
            return True
        if name == "openapi.json":
            self._send(200, [("content-type", "application/json"), *DOCS_HEADERS], docs_console.spec_json(path))
            return True
        found = docs_console.asset(name, console_dir) if console_dir else None
        if found is None:
            return False
        content, content_type = found
        self._send(200, [("content-type", content_type), *DOCS_HEADERS], content)
        return True

    def _proxy_sandbox(self, raw_path: str, raw_query: str, body: bytes) -> None:
        """Local stack only: the demo page drives the iProov sandbox's control surface on the
        API's own origin, so it needs no CORS and the page's CSP can stay `connect-src 'self'`."""
        self._route_key = "sandbox proxy"
        url = f"{self.config.sandbox_url}{raw_path}" + (f"?{raw_query}" if raw_query else "")
        request = urllib.request.Request(url, data=body or None, method=self.command)
        if self.headers.get("content-type"):
            request.add_header("content-type", self.headers["content-type"])
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, payload, ctype = response.status, response.read(), response.headers.get("content-type")
        except urllib.error.HTTPError as err:
            status, payload, ctype = err.code, err.read(), err.headers.get("content-type")
        except (urllib.error.URLError, OSError):
            self._send_json_error(502, "sandbox_unavailable", "The iProov sandbox is not reachable.")
            return
        self._send(status, [("content-type", ctype or "application/json"), ("cache-control", "no-store")], payload)

    # ----- responses --------------------------------------------------------------------
    def _send_json_error(
        self, status: int, code: str, message: str, extra_headers: list[tuple[str, str]] | None = None
    ) -> None:
        body = json.dumps({"error": code, "message": message, "request_id": self._request_id}).encode()
        headers = [("content-type", "application/json")] + (extra_headers or [])
        if getattr(self, "headers", None) is not None and self.config.cors is not None:
            headers += cors_headers(self.config.cors, self.headers.get("origin"))
        self._send(status, headers, body)

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self._responded = True
        self.send_response_only(status)
        self.send_header("date", self.date_time_string())
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.send_header("apigw-requestid", self._request_id)
        if self.close_connection:
            self.send_header("connection", "close")
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self._log_request(status)

    def _log_request(self, status: int) -> None:
        jsonlog.emit(
            "gateway",
            "request",
            method=self.command or None,
            route_key=self._route_key,
            function=self._function,
            status=status,
            ms=round((time.monotonic() - self._started) * 1000, 1),
            request_id=self._request_id,
        )

    def _log_failure(self, reason: str) -> None:
        jsonlog.emit("gateway", "invoke_failed", level="error", request_id=self._request_id,
                     function=self._function, reason=reason)


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log the failure as JSON (the stdlib prints a traceback to stderr)."""
        error = sys.exc_info()[0]
        jsonlog.emit("gateway", "connection_error", level="error", error=error.__name__ if error else "unknown")


def make_server(config: GatewayConfig, host: str = HOST, port: int | None = None) -> GatewayServer:
    handler = type("ConfiguredGatewayHandler", (GatewayHandler,), {"config": config})
    return GatewayServer((host, config.port if port is None else port), handler)


def load_config(template_path: Path, ports: Ports) -> GatewayConfig:
    """The model, resolved against the physical ids the provisioner recorded (if any)."""
    physical = None
    if STACK_FILE.is_file():
        physical = tpl.physical_from_json(json.loads(STACK_FILE.read_text())["physical"])
    overrides = tpl.parse_overrides(os.environ.get("LOCAL_PARAMETER_OVERRIDES", ""))
    model = tpl.load_model(template_path, ports=ports, overrides=overrides, physical=physical)
    iproov = IProovSettings.from_env()  # never the credentials: the gateway has no use for them
    return GatewayConfig.from_model(
        model,
        ports,
        iam_authorizer=iam_authorizer.load(template_path, model, apigw_events.API_ID),
        trust_forwarded_for=os.environ.get("GATEWAY_TRUST_FORWARDED_FOR") == "1",
        web_dir=WEB_DIR,
        sandbox_url=ports.sandbox_url,
        openapi_file=WEB_DIR.parent / "docs" / "openapi.yaml",
        iproov=iproov,
        console_dir=docs_console.CONSOLE_DIR,
        cold_start_grace=float(os.environ.get("LOCAL_COLD_START_GRACE", "180")),
        invoke_grace=float(os.environ.get("LOCAL_INVOKE_GRACE", "5")),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="API Gateway HTTP API emulator")
    parser.add_argument("--template", type=Path, default=TEMPLATE_FILE)
    args = parser.parse_args(argv)
    ports = Ports.from_env()
    try:
        config = load_config(args.template, ports)
    except SettingsError as exc:
        jsonlog.emit("gateway", "bad_settings", level="error", message=str(exc))
        print(f"gateway: {exc}", file=sys.stderr)
        return 1
    server = make_server(config)

    def stop(signum: int, _frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    jsonlog.emit(
        "gateway", "listening", url=ports.api_url, routes=config.router.route_keys(),
        trust_forwarded_for=config.trust_forwarded_for,
        iproov_platform="tenant" if config.iproov.tenant else "sandbox",
        iproov_sdk=config.iproov.sdk.url if config.iproov.sdk else None,
        docs_console=bool(config.console_dir and docs_console.installed(config.console_dir)),
    )
    server.serve_forever(poll_interval=0.5)
    server.server_close()
    jsonlog.emit("gateway", "stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
