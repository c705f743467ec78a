"""The gateway emulator over real sockets, with a fake cargo-lambda behind it."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

import gateway
import template as tpl
from conftest import serve_in_thread
from routing import Router

RECEIVED: list[dict[str, Any]] = []


class FakeLambda(BaseHTTPRequestHandler):
    """Answers like cargo-lambda: the function name picks the behaviour."""

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        name = self.path.split("/")[3]
        event = json.loads(self.rfile.read(int(self.headers["content-length"])))
        RECEIVED.append(event)
        status, payload = 200, None
        if name == "echo":
            payload = {
                "statusCode": 200,
                "headers": {"content-type": "application/json", "access-control-allow-origin": "*"},
                "cookies": ["sid=1; HttpOnly"],
                "body": json.dumps({"requestId": event["requestContext"]["requestId"]}),
            }
        elif name == "boom":
            status, payload = 500, {"errorType": "Panic", "errorMessage": "db password is hunter2"}
        elif name == "slow":
            time.sleep(3)
            payload = {"statusCode": 200, "body": "late"}
        elif name == "bad":
            payload = {"statusCode": "not-a-number"}
        elif name == "missing":
            status, payload = 404, {"title": "Missing function"}
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def route(method: str, path: str, binary: str) -> tpl.Route:
    return tpl.Route(method, path, binary, binary)


@pytest.fixture(scope="module")
def web_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    web = tmp_path_factory.mktemp("web")
    (web / "index.html").write_text("<h1>demo</h1>")
    (web / "app.js").write_text("console.log(1)")
    return web


@pytest.fixture(scope="module")
def base_url(web_dir: Path) -> Iterator[str]:
    fake = ThreadingHTTPServer(("127.0.0.1", 0), FakeLambda)
    fake.daemon_threads = True
    serve_in_thread(fake)
    routes = [
        route("GET", "/v1/echo", "echo"),
        route("POST", "/v1/echo", "echo"),
        route("GET", "/v1/items/{id}", "echo"),
        route("GET", "/v1/boom", "boom"),
        route("GET", "/v1/slow", "slow"),
        route("GET", "/v1/bad", "bad"),
        route("GET", "/v1/missing", "missing"),
    ]
    functions = {b: tpl.Function(b, b, b, 1, 128, {}) for b in {r.binary for r in routes}}
    cors = tpl.Cors(("http://localhost:3000",), ("GET", "POST"), ("content-type",), ("retry-after",), 600, True)
    config = gateway.GatewayConfig(
        router=Router(routes),
        functions=functions,
        cors=cors,
        lambda_url=f"http://127.0.0.1:{fake.server_address[1]}",
        port=3000,
        trust_forwarded_for=True,
        web_dir=web_dir,
        cold_start_grace=0.5,
        invoke_grace=0.5,
    )
    server = gateway.make_server(config, port=0)
    serve_in_thread(server)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    fake.shutdown()


def assert_error(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"] == code and body["message"]
    assert body["request_id"] == response.headers["apigw-requestid"]
    return body


def test_request_reaches_function_and_response_comes_back(base_url: str) -> None:
    RECEIVED.clear()
    response = requests.get(f"{base_url}/v1/echo?x=1", headers={"X-Forwarded-For": "198.51.100.9"}, timeout=5)
    assert response.status_code == 200
    assert response.json()["requestId"] == response.headers["apigw-requestid"]
    assert response.headers["set-cookie"] == "sid=1; HttpOnly"
    (event,) = RECEIVED
    assert event["routeKey"] == "GET /v1/echo"
    assert event["requestContext"]["http"]["sourceIp"] == "198.51.100.9"  # trusted in this config
    assert event["queryStringParameters"] == {"x": "1"}


def test_path_parameters(base_url: str) -> None:
    RECEIVED.clear()
    assert requests.get(f"{base_url}/v1/items/abc%2F1", timeout=5).status_code == 200
    assert RECEIVED[0]["pathParameters"] == {"id": "abc/1"}
    assert RECEIVED[0]["routeKey"] == "GET /v1/items/{id}"


def test_request_ids_differ(base_url: str) -> None:
    ids = {requests.get(f"{base_url}/v1/echo", timeout=5).headers["apigw-requestid"] for _ in range(5)}
    assert len(ids) == 5


def test_unknown_route_is_json_404(base_url: str) -> None:
    assert_error(requests.get(f"{base_url}/v1/nope", timeout=5), 404, "not_found")
    assert_error(requests.post(f"{base_url}/elsewhere", timeout=5), 404, "not_found")


def test_wrong_method_is_json_405(base_url: str) -> None:
    response = requests.delete(f"{base_url}/v1/echo", timeout=5)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET, POST"


def test_function_error_is_500_without_detail(base_url: str) -> None:
    body = assert_error(requests.get(f"{base_url}/v1/boom", timeout=5), 500, "internal_error")
    assert "hunter2" not in json.dumps(body)


def test_invalid_function_response_is_502(base_url: str) -> None:
    assert_error(requests.get(f"{base_url}/v1/bad", timeout=5), 502, "bad_gateway")
    assert_error(requests.get(f"{base_url}/v1/missing", timeout=5), 502, "bad_gateway")


def test_slow_function_is_504(base_url: str) -> None:
    started = time.monotonic()
    assert_error(requests.get(f"{base_url}/v1/slow", timeout=10), 504, "gateway_timeout")
    assert time.monotonic() - started < 2.9


def send_raw(base_url: str, raw: bytes) -> bytes:
    """Send bytes as they are; read until the gateway closes (b"" when it resets instead)."""
    chunks: list[bytes] = []
    with socket.create_connection(("127.0.0.1", int(base_url.rsplit(":", 1)[1])), timeout=5) as conn:
        conn.sendall(raw)
        conn.shutdown(socket.SHUT_WR)
        try:
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, TimeoutError):
            pass
    return b"".join(chunks)


def test_too_large_body_is_413(base_url: str) -> None:
    answer = send_raw(base_url, b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10485761\r\n\r\n").decode()
    assert answer.startswith("HTTP/1.1 413")
    assert '"error": "payload_too_large"' in answer


def test_chunked_body_is_read(base_url: str) -> None:
    RECEIVED.clear()

    def chunks() -> Iterator[bytes]:
        yield b'{"a":'
        yield b"1}"

    assert requests.post(f"{base_url}/v1/echo", data=chunks(), timeout=5).status_code == 200
    assert RECEIVED[0]["body"] == '{"a":1}'


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET /v1/echo HTTP/9.9\r\n\r\n",
        b"GET /v1/echo\r\n\r\n",
        b"POST /v1/echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        b"POST /v1/echo HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        b"POST /v1/echo HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        b"POST /v1/echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST /v1/echo HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"GET /v1/echo HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n",
        b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)),
        b"GET http://evil/x HTTP/1.1\r\n\r\n",
    ],
)
def test_malformed_requests_get_an_answer_and_do_not_hurt(base_url: str, raw: bytes) -> None:
    answer = send_raw(base_url, raw)
    if answer:
        assert answer.startswith(b"HTTP/1.1 4") or answer.startswith(b"HTTP/1.1 5"), answer[:80]
    assert requests.get(f"{base_url}/v1/echo", timeout=5).status_code == 200


def test_half_sent_request_does_not_block_others(base_url: str) -> None:
    port = int(base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"POST /v1/echo HTTP/1.1\r\nContent-Length: 100\r\n\r\nonly-part")
        assert requests.get(f"{base_url}/v1/echo", timeout=5).status_code == 200


def test_cors_preflight_and_actual_request(base_url: str) -> None:
    allowed = requests.options(
        f"{base_url}/v1/echo",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"},
        timeout=5,
    )
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert allowed.headers["access-control-allow-methods"] == "GET,POST"
    assert allowed.headers["access-control-max-age"] == "600"
    denied = requests.options(
        f"{base_url}/v1/echo",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        timeout=5,
    )
    assert denied.status_code == 204 and "access-control-allow-origin" not in denied.headers
    actual = requests.get(f"{base_url}/v1/echo", headers={"Origin": "http://localhost:3000"}, timeout=5)
    # The function's own "*" is replaced by API Gateway's configured answer.
    assert actual.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert actual.headers["access-control-expose-headers"] == "retry-after"
    other = requests.get(f"{base_url}/v1/echo", headers={"Origin": "https://evil.example"}, timeout=5)
    assert "access-control-allow-origin" not in other.headers


def test_static_files_outside_v1(base_url: str) -> None:
    index = requests.get(f"{base_url}/", timeout=5)
    assert index.status_code == 200 and index.text == "<h1>demo</h1>"
    assert index.headers["content-type"].startswith("text/html")
    assert requests.get(f"{base_url}/app.js", timeout=5).status_code == 200
    assert_error(requests.get(f"{base_url}/../../etc/passwd", timeout=5), 404, "not_found")
    assert_error(requests.get(f"{base_url}/%2e%2e/%2e%2e/etc/passwd", timeout=5), 404, "not_found")
    assert_error(requests.get(f"{base_url}/nothing.html", timeout=5), 404, "not_found")


def test_many_concurrent_requests(base_url: str) -> None:
    statuses: list[int] = []

    def hit() -> None:
        statuses.append(requests.get(f"{base_url}/v1/echo", timeout=10).status_code)

    threads = [threading.Thread(target=hit) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 30


def test_origin_patterns() -> None:
    cors = tpl.Cors(("https://*.example.com",), (), (), (), None, False)
    assert gateway.origin_allowed(cors, "https://app.example.com")
    assert not gateway.origin_allowed(cors, "https://example.org")
