"""The demo page on a real iProov tenant, as far as this machine can play one: a second gateway
of the running stack, started with the LOCAL_IPROOV_* settings, the sandbox as the "tenant" and a
file served on loopback as the "CDN" of iProov's web SDK (no iProov tenant or CDN is reachable
from here; docs/real-tenant.md says what is and is not exercised).

GIVEN the stack and a gateway started with LOCAL_IPROOV_BASE_URL, LOCAL_IPROOV_SDK_URL and
      LOCAL_IPROOV_SDK_INTEGRITY
THEN  the page's CSP names the SDK's release and the platform exactly, /web-config.json hands the
      page the pinned URL and its integrity, which is the hash of what the "CDN" serves (with
      CORS, as SRI on a cross-origin script needs), the API works through it, and a gateway
      with an unpinned SDK URL does not start.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from conftest import PORTS, REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "infra" / "local"))
from iproov_settings import sri  # noqa: E402

FAKE_SDK = REPO_ROOT / "tests" / "browser" / "fixtures" / "fake-iproov-me.js"
SDK_PATH = "/iproov/web-sdk@5.3.0/iProovMe.js"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeCdn(BaseHTTPRequestHandler):
    """Serves the stand-in SDK at one pinned path, with CORS like a CDN."""

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        if self.path != SDK_PATH:
            self.send_response(404)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        body = FAKE_SDK.read_bytes()
        self.send_response(200)
        self.send_header("content-type", "text/javascript; charset=utf-8")
        self.send_header("access-control-allow-origin", "*")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def cdn() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeCdn)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def gateway_env(port: int, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCAL_IPROOV_")}
    env.update(
        API_PORT=str(port), AWS_PORT=str(PORTS.aws), SANDBOX_PORT=str(PORTS.sandbox),
        LAMBDA_PORT=str(PORTS.lambda_), FAULT_PORT=str(PORTS.faults), **settings,
    )
    return env


@pytest.fixture(scope="module")
def tenant_gateway(cdn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A second gateway of the running stack (same functions), started with the settings."""
    port = free_port()
    settings = {
        "LOCAL_IPROOV_BASE_URL": PORTS.iproov_base_url,  # the sandbox plays the tenant
        "LOCAL_IPROOV_SDK_URL": cdn + SDK_PATH,
        "LOCAL_IPROOV_SDK_INTEGRITY": sri(FAKE_SDK.read_bytes()),
    }
    log = tmp_path_factory.mktemp("gateway") / "gateway.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own script
            [sys.executable, str(REPO_ROOT / "infra" / "local" / "gateway.py")],
            cwd=REPO_ROOT, env=gateway_env(port, **settings), stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{url}/web-config.json", timeout=2)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the second gateway did not start:\n{log.read_text()[-2000:]}")
                time.sleep(0.2)
        yield {"url": url, **settings}
    finally:
        process.terminate()
        process.wait(timeout=10)


def directives(csp: str) -> dict[str, list[str]]:
    return {name: sources for name, *sources in (part.split() for part in csp.split(";"))}


def test_the_page_gets_a_csp_naming_exactly_the_sdk_and_the_platform(tenant_gateway: dict[str, str], cdn: str) -> None:
    page = requests.get(f"{tenant_gateway['url']}/", timeout=10)
    assert page.status_code == 200 and "<title>Face sign-in demo</title>" in page.text
    csp = directives(page.headers["content-security-policy"])
    assert csp["script-src"] == ["'self'", f"{cdn}/iproov/web-sdk@5.3.0/", "'wasm-unsafe-eval'"]
    sandbox = PORTS.sandbox_url
    assert csp["connect-src"] == ["'self'", sandbox, sandbox.replace("http://", "ws://"), "https://cdn.iproov.app"]
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    # the page's files share its policy; the contract keeps the strict one
    assert requests.get(f"{tenant_gateway['url']}/app.js", timeout=10).headers["content-security-policy"] == \
        page.headers["content-security-policy"]
    strict = requests.get(f"{PORTS.api_url}/", timeout=10).headers["content-security-policy"]
    assert requests.get(f"{tenant_gateway['url']}/openapi.yaml", timeout=10).headers["content-security-policy"] == strict


def test_the_page_is_told_the_pinned_sdk_and_its_integrity_matches_what_is_served(tenant_gateway: dict[str, str]) -> None:
    config = requests.get(f"{tenant_gateway['url']}/web-config.json", timeout=10).json()
    assert config == {
        "iproov": {
            "platform": "tenant",
            "sdk": {"src": tenant_gateway["LOCAL_IPROOV_SDK_URL"], "integrity": tenant_gateway["LOCAL_IPROOV_SDK_INTEGRITY"]},
        }
    }
    served = requests.get(config["iproov"]["sdk"]["src"], headers={"Origin": tenant_gateway["url"]}, timeout=10)
    assert sri(served.content) == config["iproov"]["sdk"]["integrity"]
    assert served.headers["access-control-allow-origin"] == "*"  # crossorigin=anonymous + SRI need CORS


def test_the_api_answers_through_the_configured_gateway(tenant_gateway: dict[str, str]) -> None:
    assert requests.get(f"{tenant_gateway['url']}/v1/health", timeout=60).json() == {"status": "ok"}


def test_the_stack_s_own_gateway_is_unchanged_without_settings() -> None:
    assert requests.get(f"{PORTS.api_url}/web-config.json", timeout=10).json() == {
        "iproov": {"platform": "sandbox", "sdk": None}
    }
    csp = directives(requests.get(f"{PORTS.api_url}/", timeout=10).headers["content-security-policy"])
    assert csp["script-src"] == ["'self'"] and csp["connect-src"] == ["'self'"]


def test_a_gateway_with_an_unpinned_sdk_does_not_start(tmp_path: Path) -> None:
    env = gateway_env(
        free_port(),
        LOCAL_IPROOV_SDK_URL="https://cdn.jsdelivr.net/npm/@iproov/web-sdk@latest/iProovMe.js",
        LOCAL_IPROOV_SDK_INTEGRITY=sri(b"anything"),
    )
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "infra" / "local" / "gateway.py")],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 1
    assert "not version-pinned" in done.stderr
